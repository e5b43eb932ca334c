/*
 * mvc du: what each version costs in the store.  The versions are walked
 * oldest first with one map of the objects met so far; a tree met before
 * is not read again, and counts as shared with the bytes ("footprint")
 * and the raw model size remembered for it, so an unchanged tensor or
 * file costs one lookup.  Sizes come from the pack indexes (packidx.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "upkeep.h"

typedef struct du_ctx {
	git_repository *git;
	git_odb *odb;
	mvc_odbfiles *files;
	mvc_oidmap seen;          /* blob: {stored size, 0}; tree: {footprint, raw} */
	mvc_promised *promised;   /* what mvc prune dropped, or NULL */
	mvc_du_version *v;        /* the version being measured */
} du_ctx;

double mvc_du_compression(const mvc_du_version *v)
{
	return v->raw_added ? (double)v->data_added / (double)v->raw_added : -1;
}

double mvc_du_dedup(const mvc_du_version *v)
{
	return v->raw ? (double)v->raw_added / (double)v->raw : -1;
}

/* An object's size as stored; a missing object counts 0 and is flagged. */
static uint64_t stored_size(du_ctx *c, const git_oid *id, int *missing)
{
	uint64_t size;
	size_t pack, len;
	git_object_t type;

	*missing = 0;
	if (mvc__odbfiles_find(&size, &pack, c->files, id))
		return size;
	/* an alternate object store, or a pack newer than our listing: its
	 * uncompressed size is the best figure libgit2 gives */
	if (git_odb_read_header(&len, &type, c->odb, id) == 0)
		return len;
	git_error_clear();
	*missing = 1;
	return 0;
}

/*
 * A blob in a tree: added if new, else shared.  `chunk_len` is its raw
 * size when it is model data, a chunk or a header (0 for other blobs).
 * Adds to *fp its size.
 */
static int visit_blob(du_ctx *c, const git_oid *id, uint64_t chunk_len, uint64_t *fp)
{
	mvc_oidval *known = mvc__oidmap_get(&c->seen, id);
	mvc_oidval v = { 0, 0 };
	int missing, rc;

	if (known) {
		c->v->shared += known->a;
		*fp += known->a;
		return 0;
	}
	v.a = stored_size(c, id, &missing);
	if ((rc = mvc__oidmap_put(&c->seen, id, v)) < 0)
		return rc;
	c->v->added += v.a;
	c->v->objects_added++;
	if (chunk_len) {
		if (missing)
			c->v->missing++;
		else {
			c->v->data_added += v.a;
			c->v->raw_added += chunk_len;
		}
	}
	*fp += v.a;
	return 0;
}

/* "000012" or "000012-3": the index, or -1 for another name. */
static int64_t index_of(const char *name)
{
	char *end;
	unsigned long long n;

	if (*name < '0' || *name > '9')
		return -1;
	errno = 0;
	n = strtoull(name, &end, 10);
	if (errno || (*end && *end != '-') || n > INT64_MAX)
		return -1;
	return (int64_t)n;
}

enum kind { DIR, FILETREE, TTREE, TENSOR };

typedef struct tctx {
	const mvc_manifest *m;       /* FILETREE, TTREE, TENSOR: the file's manifest */
	const mvc_manifest_tensor *t; /* TENSOR */
} tctx;

static int visit_tree(du_ctx *c, const git_oid *id, enum kind kind, const tctx *x,
                      const char *path, uint64_t *fp, uint64_t *raw);

static int visit_entries(du_ctx *c, const git_tree *tree, enum kind kind, const tctx *x,
                         const char *path, uint64_t *fp, uint64_t *raw)
{
	size_t n = git_tree_entrycount(tree);
	int error = 0;

	for (size_t i = 0; i < n && !error; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);
		const char *name = git_tree_entry_name(e);
		const git_oid *eid = git_tree_entry_id(e);
		uint64_t chunk_len = 0, sub_fp = 0, sub_raw = 0;
		tctx sub = *x;
		int64_t k;

		if (git_tree_entry_type(e) == GIT_OBJECT_BLOB) {
			if (kind == TENSOR && x->t && (k = index_of(name)) >= 0 &&
			    (uint64_t)k < x->t->nchunks) {
				/* fixed-size or content-defined: the manifest knows */
				chunk_len = mvc_manifest_chunk_len(x->t, (uint64_t)k);
			} else if (kind == FILETREE && x->m && !strcmp(name, "header")) {
				/* the file's non-tensor bytes are model data too */
				chunk_len = x->m->header_size;
			}
			error = visit_blob(c, eid, chunk_len, fp);
			continue;
		}
		if (git_tree_entry_type(e) != GIT_OBJECT_TREE)
			continue;
		if (kind == FILETREE && !strcmp(name, "t")) {
			error = visit_tree(c, eid, TTREE, &sub, path, &sub_fp, &sub_raw);
		} else if (kind == TTREE) {
			k = index_of(name);
			sub.t = x->m && k >= 0 && (uint64_t)k < x->m->ntensors ? &x->m->tensors[k] : NULL;
			error = visit_tree(c, eid, TENSOR, &sub, path, &sub_fp, &sub_raw);
		} else if (kind == DIR) {
			mvc_buf p = MVC_BUF_INIT;

			if ((error = mvc_buf_printf(&p, "%s%s%s", path, *path ? "/" : "", name)) == 0)
				error = visit_tree(c, eid, DIR, &sub, p.ptr, &sub_fp, &sub_raw);
			mvc_buf_free(&p);
		} else {
			/* nothing mvc writes: counted as a plain directory */
			error = visit_tree(c, eid, DIR, &sub, path, &sub_fp, &sub_raw);
		}
		*fp += sub_fp;
		*raw += sub_raw;
	}
	return error;
}

static int visit_tree(du_ctx *c, const git_oid *id, enum kind kind, const tctx *x,
                      const char *path, uint64_t *fp, uint64_t *raw)
{
	mvc_oidval *known = mvc__oidmap_get(&c->seen, id);
	mvc_oidval v = { 0, 0 };
	git_tree *tree = NULL;
	mvc_manifest *m = NULL;
	const git_tree_entry *me;
	tctx sub = *x;
	int missing, error;

	if (known) {
		c->v->shared += known->a;
		*fp += known->a;
		*raw += known->b;
		return 0;
	}
	v.a = stored_size(c, id, &missing);
	c->v->added += v.a;
	c->v->objects_added++;
	if (missing || git_tree_lookup(&tree, c->git, id) < 0) {
		/* an unreadable tree: what it holds cannot be counted */
		git_error_clear();
		error = mvc__oidmap_put(&c->seen, id, v);
		*fp += v.a;
		return error < 0 ? error : 0;
	}
	if (kind == DIR && (me = git_tree_entry_byname(tree, "MANIFEST")) &&
	    git_tree_entry_type(me) == GIT_OBJECT_BLOB) {
		kind = FILETREE;
		if (mvc__tree_manifest(&m, c->git, tree, path) == 0) {
			v.b = m->file_size;
			sub.m = m;
		}
		mvc_error_clear();
	}
	error = visit_entries(c, tree, kind, &sub, path, &v.a, &v.b);
	if (!error && (error = mvc__oidmap_put(&c->seen, id, v)) > 0)
		error = 0;
	*fp += v.a;
	*raw += v.b;
	mvc_manifest_free(m);
	git_tree_free(tree);
	return error;
}

static int measure(du_ctx *c, const git_commit *commit, mvc_du_version *v)
{
	uint64_t fp = 0, raw = 0;
	int missing, error;

	memset(v, 0, sizeof(*v));
	mvc__oid_from_git(&v->id, git_commit_id(commit));
	c->v = v;
	v->added = stored_size(c, git_commit_id(commit), &missing);
	v->objects_added = 1;
	if ((error = visit_tree(c, git_commit_tree_id(commit), DIR, &(tctx){ NULL, NULL }, "", &fp,
	         &raw)) < 0)
		return error;
	v->raw = raw;
	if (c->promised) {
		mvc_oidval *p = mvc__oidmap_get(&c->promised->versions, git_commit_id(commit));

		v->pruned = p ? (int64_t)p->a : 0;
	}
	return 0;
}

static void add_to(mvc_du_version *t, const mvc_du_version *v)
{
	t->raw += v->raw;
	t->added += v->added;
	t->shared += v->shared;
	t->data_added += v->data_added;
	t->raw_added += v->raw_added;
	t->objects_added += v->objects_added;
	t->missing += v->missing;
}

void mvc_du_report_free(mvc_du_report *r)
{
	if (!r)
		return;
	free(r->versions);
	free(r);
}

int mvc_du(mvc_du_report **out, mvc_repo *repo, const char *const *revs, size_t nrevs)
{
	git_repository *git = mvc__repo_git(repo);
	mvc_du_report *r = NULL;
	git_revwalk *walk = NULL;
	mvc_oidmap listed = { 0 };
	mvc_buf objdir = MVC_BUF_INIT;
	size_t cap = 0;
	du_ctx c;
	git_oid id;
	int rc, error;

	*out = NULL;
	memset(&c, 0, sizeof(c));
	c.git = git;
	if (!(r = mvc__calloc(1, sizeof(*r))))
		return MVC_ENOMEM;
	if ((error = mvc_store_stats_get(&r->store, repo)) < 0 ||
	    (error = mvc_buf_printf(&objdir, "%s/objects", mvc_repo_path(repo))) < 0 ||
	    (error = mvc__odbfiles_open(&c.files, objdir.ptr)) < 0 ||
	    (error = mvc__promised_load(&c.promised, git, mvc_repo_path(repo))) < 0)
		goto done;
	if (git_repository_odb(&c.odb, git) < 0 || git_revwalk_new(&walk, git) < 0 ||
	    git_revwalk_sorting(walk, GIT_SORT_TOPOLOGICAL | GIT_SORT_TIME | GIT_SORT_REVERSE) < 0) {
		error = mvc__err_git(MVC_ERROR, "cannot walk history");
		goto done;
	}
	if (nrevs == 0 && git_repository_head_unborn(git) == 1)
		goto done; /* no version yet */
	for (size_t i = 0; i < (nrevs ? nrevs : 1); i++) {
		git_commit *commit = NULL;

		if ((error = mvc__resolve(&commit, git, nrevs ? revs[i] : "HEAD")) < 0)
			goto done;
		rc = git_revwalk_push(walk, git_commit_id(commit));
		if (rc == 0 && nrevs)
			rc = mvc__oidmap_put(&listed, git_commit_id(commit), (mvc_oidval){ 0, 0 });
		git_commit_free(commit);
		if (rc < 0) {
			error = rc == MVC_ENOMEM ? rc : mvc__err_git(MVC_ERROR, "cannot walk history");
			goto done;
		}
	}
	while ((rc = git_revwalk_next(&id, walk)) == 0) {
		git_commit *commit = NULL;
		mvc_du_version v;

		if (git_commit_lookup(&commit, git, &id) < 0) {
			error = mvc__err_git(MVC_ECORRUPT, "cannot read history");
			goto done;
		}
		error = measure(&c, commit, &v);
		git_commit_free(commit);
		if (error < 0)
			goto done;
		if (nrevs && !mvc__oidmap_get(&listed, &id))
			continue;
		if (r->count == cap) {
			size_t nc = cap ? cap * 2 : 64;
			mvc_du_version *nv = realloc(r->versions, nc * sizeof(*nv));

			if (!nv) {
				error = mvc__err(MVC_ENOMEM, "out of memory");
				goto done;
			}
			r->versions = nv;
			cap = nc;
		}
		r->versions[r->count++] = v;
		add_to(&r->total, &v);
	}
	if (rc != GIT_ITEROVER) {
		error = mvc__err_git(MVC_ECORRUPT, "cannot read history");
		goto done;
	}
	error = 0;
done:
	mvc__oidmap_free(&c.seen);
	mvc__oidmap_free(&listed);
	mvc__promised_free(c.promised);
	mvc__odbfiles_free(c.files);
	git_revwalk_free(walk);
	git_odb_free(c.odb);
	mvc_buf_free(&objdir);
	if (error < 0) {
		mvc_du_report_free(r);
		return error;
	}
	*out = r;
	return 0;
}
