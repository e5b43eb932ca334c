/*
 * mvc fsck: walk every version reachable from any ref and check what it
 * stores.  Shared objects are visited once (sets of commits, root trees,
 * file trees and tensor trees seen); with `full` the distinct chunks
 * (blob id and expected digest) are decoded on all cores through the
 * ordered pool, so problems come out in the same order whatever the
 * thread count.
 *
 * fsck exists for damaged stores, and libgit2 1.5.1 loops forever when it
 * inflates a truncated loose object (libgit2 issue 7342, fixed in later
 * releases).  So every loose object is inflated here, with zlib, before
 * libgit2 is asked to read it: the commit walk, tree reads and chunk
 * decoding only ever see objects that inflate whole.  Packed objects are
 * read by libgit2 as they are.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include "scan.h"
#include "pool.h"
#include "upkeep.h"

/* ---- a set of (object id, digest) keys ---- */

#define KEY_SIZE (20 + MVC_DIGEST_SIZE)

typedef struct idset {
	size_t cap, count;
	unsigned char *keys;     /* cap * KEY_SIZE; all zeros: empty */
} idset;

static void make_key(unsigned char k[KEY_SIZE], const git_oid *id, const unsigned char *digest)
{
	memcpy(k, id->id, 20);
	if (digest)
		memcpy(k + 20, digest, MVC_DIGEST_SIZE);
	else
		memset(k + 20, 0xff, MVC_DIGEST_SIZE);
}

static int idset_insert(idset *s, const unsigned char k[KEY_SIZE]);

static int idset_grow(idset *s)
{
	idset n = { s->cap ? s->cap * 2 : 1024, 0, NULL };

	if (!(n.keys = mvc__calloc(n.cap, KEY_SIZE)))
		return MVC_ENOMEM;
	for (size_t i = 0; i < s->cap; i++) {
		static const unsigned char zero[KEY_SIZE];

		if (memcmp(s->keys + i * KEY_SIZE, zero, KEY_SIZE))
			idset_insert(&n, s->keys + i * KEY_SIZE);
	}
	free(s->keys);
	*s = n;
	return 0;
}

/* 1 if the key was new (and is now in the set), 0 if it was there. */
static int idset_insert(idset *s, const unsigned char k[KEY_SIZE])
{
	static const unsigned char zero[KEY_SIZE];
	uint64_t h;
	size_t i;
	int error;

	if ((s->count + 1) * 2 > s->cap && (error = idset_grow(s)) < 0)
		return error;
	memcpy(&h, k, sizeof(h));
	for (i = h & (s->cap - 1); memcmp(s->keys + i * KEY_SIZE, zero, KEY_SIZE);
	     i = (i + 1) & (s->cap - 1))
		if (!memcmp(s->keys + i * KEY_SIZE, k, KEY_SIZE))
			return 0;
	memcpy(s->keys + i * KEY_SIZE, k, KEY_SIZE);
	s->count++;
	return 1;
}

static int seen_before(idset *s, const git_oid *id, const unsigned char *digest)
{
	unsigned char k[KEY_SIZE];
	int rc;

	make_key(k, id, digest);
	rc = idset_insert(s, k);
	return rc < 0 ? rc : !rc;
}

/* ---- the walk ---- */

/* A file tree visited, kept for the names in messages and the digests. */
typedef struct vfile {
	char version[MVC_OID_HEXSZ + 1];
	char *path;
	mvc_manifest *m;
} vfile;

/* A chunk to decode (full). */
typedef struct cjob {
	git_oid oid;
	size_t file;
	size_t tensor;
	uint64_t chunk;
	size_t len;
} cjob;

typedef struct fctx {
	git_repository *git;
	git_odb *odb;
	const mvc_fsck_options *opts;
	mvc_fsck_report *r;
	size_t pcap;
	idset commits, roots, ftrees, ttrees, blobs;
	char *objdirs[2];        /* where loose objects may be */
	size_t nobjdirs;
	vfile *files;
	size_t nfiles, fcap;
	cjob *jobs;
	size_t njobs, jcap;
	uint64_t maxchunk, total, done;
	/* full: per thread and per window slot */
	mvc_codec **codecs;
	unsigned char **bufs;
	int *results;
	char **messages;
	size_t window;
	mvc_promised *promised;  /* blobs mvc prune dropped, or NULL */
} fctx;

static mvc_fsck_problem *problem(fctx *c, const char *version, const char *path,
                                 const char *tensor, int64_t chunk, const git_oid *object,
                                 const char *fmt, ...) __attribute__((format(printf, 7, 8)));

static mvc_fsck_problem *problem(fctx *c, const char *version, const char *path,
                                 const char *tensor, int64_t chunk, const git_oid *object,
                                 const char *fmt, ...)
{
	mvc_fsck_report *r = c->r;
	mvc_fsck_problem *p;
	char msg[1024];
	va_list ap;

	if (r->count == c->pcap) {
		size_t nc = c->pcap ? c->pcap * 2 : 16;
		mvc_fsck_problem *np = realloc(r->problems, nc * sizeof(*np));

		if (!np) {
			mvc__err(MVC_ENOMEM, "out of memory");
			return NULL;
		}
		r->problems = np;
		c->pcap = nc;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p = &r->problems[r->count];
	memset(p, 0, sizeof(*p));
	p->chunk = chunk;
	snprintf(p->version, sizeof(p->version), "%s", version ? version : "");
	if (object)
		git_oid_tostr(p->object, sizeof(p->object), object);
	if ((path && !(p->path = mvc__strdup(path))) || (tensor && !(p->tensor = mvc__strdup(tensor))) ||
	    !(p->message = mvc__strdup(msg))) {
		free(p->path);
		free(p->tensor);
		return NULL;
	}
	r->count++;
	return p;
}

#define PROBLEM(...) do { if (!problem(__VA_ARGS__)) return MVC_ENOMEM; } while (0)

/*
 * Inflate the loose object `id`, if it is loose, and check that it is a
 * whole object of the size its header gives.  NULL when it is (or is not
 * loose), else what is wrong.
 */
static const char *loose_damage(const fctx *c, const git_oid *id)
{
	unsigned char in[1 << 14], out[1 << 14];
	char hex[GIT_OID_HEXSZ + 1], path[4096], hdr[64];
	const char *bad = NULL;

	git_oid_tostr(hex, sizeof(hex), id);
	for (size_t d = 0; d < c->nobjdirs; d++) {
		z_stream zs;
		uint64_t total = 0, want = 0;
		size_t hl = 0, hdrlen = 0;
		int fd, rc = Z_OK;

		snprintf(path, sizeof(path), "%s/%.2s/%s", c->objdirs[d], hex, hex + 2);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		memset(&zs, 0, sizeof(zs));
		if (inflateInit(&zs) != Z_OK) {
			close(fd);
			return "cannot be inflated (zlib failed)";
		}
		while (!bad && rc != Z_STREAM_END) {
			size_t produced;

			if (zs.avail_in == 0) {
				ssize_t n = read(fd, in, sizeof(in));

				if (n < 0 && errno == EINTR)
					continue;
				if (n <= 0) {
					bad = "the loose object is truncated";
					break;
				}
				zs.next_in = in;
				zs.avail_in = (uInt)n;
			}
			zs.next_out = out;
			zs.avail_out = sizeof(out);
			rc = inflate(&zs, Z_NO_FLUSH);
			produced = sizeof(out) - zs.avail_out;
			if (rc != Z_OK && rc != Z_STREAM_END && !(rc == Z_BUF_ERROR && produced)) {
				bad = "the loose object is not a valid zlib stream";
				break;
			}
			/* "<type> <size>\0" first */
			for (size_t i = 0; i < produced && !hdrlen; i++) {
				if (hl < sizeof(hdr) - 1)
					hdr[hl++] = (char)out[i];
				if (!out[i]) {
					const char *sp = memchr(hdr, ' ', hl);

					hdrlen = (size_t)total + i + 1;
					want = sp ? strtoull(sp + 1, NULL, 10) : UINT64_MAX;
				}
			}
			if (!hdrlen && total + produced >= sizeof(hdr))
				bad = "the loose object has no header";
			total += produced;
		}
		inflateEnd(&zs);
		close(fd);
		if (!bad && (!hdrlen || total - hdrlen != want))
			bad = "the loose object's size does not match its header";
		return bad;
	}
	return NULL;
}

/* 1 (and a problem) when `id` must not be read, 0 when it may; <0 on error. */
static int damaged(fctx *c, const char *version, const char *path, const char *tensor,
                   int64_t chunk, const git_oid *id, const char *what)
{
	const char *why = loose_damage(c, id);

	if (!why)
		return 0;
	return problem(c, version, path, tensor, chunk, id, "%s: %s", what, why) ? 1 : MVC_ENOMEM;
}

/* Was the missing blob `id` dropped by mvc prune?  Then it is no problem. */
static bool pruned(fctx *c, const git_oid *id)
{
	if (!c->promised || !mvc__oidmap_get(&c->promised->blobs, id))
		return false;
	c->r->chunks_pruned++;
	return true;
}

/* The chunks of one tensor: present, with the delta bases its tree names. */
static int check_tensor(fctx *c, size_t fi, size_t ti, const git_tree *t)
{
	const vfile *vf = &c->files[fi];
	const mvc_manifest_tensor *mt = &vf->m->tensors[ti];
	const git_tree_entry *e;
	git_tree *tt = NULL;
	char name[40];
	int rc, error = 0;

	mvc__index_name(name, ti);
	if (!t || !(e = git_tree_entry_byname(t, name)) || git_tree_entry_type(e) != GIT_OBJECT_TREE) {
		PROBLEM(c, vf->version, vf->path, mt->t.name, -1, NULL, "its chunk tree is missing");
		return 0;
	}
	if ((rc = seen_before(&c->ttrees, git_tree_entry_id(e), mt->digest)) != 0)
		return rc < 0 ? rc : 0;
	c->r->tensors++;
	if ((rc = damaged(c, vf->version, vf->path, mt->t.name, -1, git_tree_entry_id(e),
	         "its chunk tree is damaged")) != 0)
		return rc < 0 ? rc : 0;
	if (git_tree_lookup(&tt, c->git, git_tree_entry_id(e)) < 0) {
		PROBLEM(c, vf->version, vf->path, mt->t.name, -1, git_tree_entry_id(e),
		    "its chunk tree cannot be read (a missing or damaged object)");
		return 0;
	}
	for (uint64_t k = 0; k < mt->nchunks && !error; k++) {
		const unsigned char *digest = mt->chunk_digests + k * MVC_DIGEST_SIZE;
		const git_oid *id;
		int unreadable = 0;

		mvc__index_name(name, k);
		if (!(e = git_tree_entry_byname(tt, name)) || git_tree_entry_type(e) != GIT_OBJECT_BLOB) {
			if (!problem(c, vf->version, vf->path, mt->t.name, (int64_t)k, NULL,
			        "the chunk is missing from its tensor's tree"))
				error = MVC_ENOMEM;
			continue;
		}
		id = git_tree_entry_id(e);
		if ((rc = seen_before(&c->blobs, id, digest)) < 0) {
			error = rc;
			break;
		}
		if (rc)
			continue;
		c->r->chunks++;
		if (!git_odb_exists(c->odb, id) && pruned(c, id))
			continue;
		if (!git_odb_exists(c->odb, id)) {
			if (!problem(c, vf->version, vf->path, mt->t.name, (int64_t)k, id,
			        "the chunk's object is missing"))
				error = MVC_ENOMEM;
			continue;
		}
		/* decoding reads the chunk and its bases: each must be readable */
		if (c->opts->full && (rc = damaged(c, vf->version, vf->path, mt->t.name, (int64_t)k, id,
		                          "the chunk is damaged")) != 0) {
			error = rc < 0 ? rc : 0;
			unreadable = 1;
		}
		for (unsigned d = 1; d <= MVC_DELTA_MAX_DEPTH && !error; d++) {
			const git_tree_entry *be;
			char bname[48], what[64];

			snprintf(bname, sizeof(bname), "%s-%u", name, d);
			if (!(be = git_tree_entry_byname(tt, bname)))
				break;
			if (!git_odb_exists(c->odb, git_tree_entry_id(be))) {
				unreadable = 1;
				if (pruned(c, git_tree_entry_id(be)))
					continue;
				if (!problem(c, vf->version, vf->path, mt->t.name, (int64_t)k,
				        git_tree_entry_id(be), "delta base %u of the chunk is missing", d))
					error = MVC_ENOMEM;
				continue;
			}
			snprintf(what, sizeof(what), "delta base %u of the chunk is damaged", d);
			if (c->opts->full && (rc = damaged(c, vf->version, vf->path, mt->t.name, (int64_t)k,
			                          git_tree_entry_id(be), what)) != 0) {
				error = rc < 0 ? rc : 0;
				unreadable = 1;
			}
		}
		if (c->opts->full && !unreadable && !error) {
			cjob *j;
			uint64_t len = mvc_manifest_chunk_len(mt, k);
			if (c->njobs == c->jcap) {
				size_t nc = c->jcap ? c->jcap * 2 : 256;
				cjob *nj = realloc(c->jobs, nc * sizeof(*nj));

				if (!nj) {
					error = mvc__err(MVC_ENOMEM, "out of memory");
					break;
				}
				c->jobs = nj;
				c->jcap = nc;
			}
			j = &c->jobs[c->njobs++];
			j->oid = *id;
			j->file = fi;
			j->tensor = ti;
			j->chunk = k;
			j->len = (size_t)len;
			c->total += len;
			if (len > c->maxchunk)
				c->maxchunk = len;
		}
	}
	git_tree_free(tt);
	return error;
}

/* One file tree: its manifest, header and tensors. */
static int check_file(fctx *c, const char *version, const char *path, const git_tree *root)
{
	git_tree_entry *fe = NULL;
	git_tree *ft = NULL, *t = NULL;
	git_blob *hb = NULL;
	const git_tree_entry *e;
	mvc_manifest *m = NULL;
	vfile *vf;
	unsigned char d[MVC_DIGEST_SIZE];
	size_t fi;
	int rc, error = 0;

	if (git_tree_entry_bypath(&fe, root, path) < 0)
		return mvc__err_git(MVC_ECORRUPT, "cannot find '%s' again", path);
	if ((rc = seen_before(&c->ftrees, git_tree_entry_id(fe), NULL)) != 0) {
		git_tree_entry_free(fe);
		return rc < 0 ? rc : 0;
	}
	c->r->files++;
	if ((rc = damaged(c, version, path, NULL, -1, git_tree_entry_id(fe),
	         "the file's tree is damaged")) != 0) {
		error = rc < 0 ? rc : 0;
		goto done;
	}
	if (git_tree_lookup(&ft, c->git, git_tree_entry_id(fe)) < 0) {
		if (!problem(c, version, path, NULL, -1, git_tree_entry_id(fe),
		        "the file's tree cannot be read"))
			error = MVC_ENOMEM;
		goto done;
	}
	if ((e = git_tree_entry_byname(ft, "MANIFEST")) &&
	    (rc = damaged(c, version, path, NULL, -1, git_tree_entry_id(e),
	         "the MANIFEST is damaged")) != 0) {
		error = rc < 0 ? rc : 0;
		goto done;
	}
	if ((error = mvc__tree_manifest(&m, c->git, ft, path)) < 0) {
		char why[1024];

		if (error == MVC_ENOMEM)
			goto done;
		snprintf(why, sizeof(why), "%s", mvc_error_last());
		mvc_error_clear();
		e = git_tree_entry_byname(ft, "MANIFEST");
		error = problem(c, version, path, NULL, -1, e ? git_tree_entry_id(e) : NULL, "%s", why)
		    ? 0 : MVC_ENOMEM;
		goto done;
	}
	/* keep the manifest: messages and digests of the chunks to decode */
	if (c->nfiles == c->fcap) {
		size_t nc = c->fcap ? c->fcap * 2 : 16;
		vfile *nf = realloc(c->files, nc * sizeof(*nf));

		if (!nf) {
			error = mvc__err(MVC_ENOMEM, "out of memory");
			goto done;
		}
		c->files = nf;
		c->fcap = nc;
	}
	fi = c->nfiles;
	vf = &c->files[fi];
	snprintf(vf->version, sizeof(vf->version), "%s", version);
	if (!(vf->path = mvc__strdup(path))) {
		error = MVC_ENOMEM;
		goto done;
	}
	vf->m = m;
	m = NULL;
	c->nfiles++;
	if ((e = git_tree_entry_byname(ft, "header")) &&
	    (rc = damaged(c, version, path, NULL, -1, git_tree_entry_id(e),
	         "the non-tensor bytes (header) are damaged")) != 0) {
		if (rc < 0)
			error = rc;
	} else if (!e || git_blob_lookup(&hb, c->git, git_tree_entry_id(e)) < 0) {
		if (!problem(c, version, path, NULL, -1, e ? git_tree_entry_id(e) : NULL,
		        "the non-tensor bytes (header) are missing"))
			error = MVC_ENOMEM;
	} else {
		mvc_blake2b(d, git_blob_rawcontent(hb), (size_t)git_blob_rawsize(hb));
		if ((uint64_t)git_blob_rawsize(hb) != vf->m->header_size ||
		    memcmp(d, vf->m->header_digest, MVC_DIGEST_SIZE)) {
			if (!problem(c, version, path, NULL, -1, git_tree_entry_id(e),
			        "the non-tensor bytes (header) fail their size or BLAKE2b digest"))
				error = MVC_ENOMEM;
		}
	}
	if (!error && (e = git_tree_entry_byname(ft, "t"))) {
		if ((rc = damaged(c, version, path, NULL, -1, git_tree_entry_id(e),
		         "the tensor table is damaged")) != 0)
			error = rc < 0 ? rc : 0;
		else if (git_tree_lookup(&t, c->git, git_tree_entry_id(e)) < 0 &&
		         !problem(c, version, path, NULL, -1, git_tree_entry_id(e),
		             "the tensor table cannot be read (a missing or damaged object)"))
			error = MVC_ENOMEM;
	}
	for (size_t i = 0; !error && i < vf->m->ntensors; i++)
		if (c->files[fi].m->tensors[i].nchunks)
			error = check_tensor(c, fi, i, t);
done:
	mvc_manifest_free(m);
	git_blob_free(hb);
	git_tree_free(t);
	git_tree_free(ft);
	git_tree_entry_free(fe);
	return error;
}

/*
 * The tracked files below `tree` (as mvc__tree_files() finds them: trees
 * that hold a MANIFEST blob), reading only trees that inflate whole.
 */
static int find_files(fctx *c, char ***paths, size_t *n, size_t *cap, const char *version,
                      const git_tree *tree, const char *prefix)
{
	int error = 0, rc;

	for (size_t i = 0; i < git_tree_entrycount(tree) && !error; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i), *m;
		git_tree *sub = NULL;
		mvc_buf p = MVC_BUF_INIT;

		if (git_tree_entry_type(e) != GIT_OBJECT_TREE)
			continue;
		if ((error = mvc_buf_printf(&p, "%s%s", prefix, git_tree_entry_name(e))) < 0)
			break;
		if ((rc = damaged(c, version, p.ptr, NULL, -1, git_tree_entry_id(e),
		         "the directory's tree is damaged")) != 0) {
			error = rc < 0 ? rc : 0;
		} else if (git_tree_lookup(&sub, c->git, git_tree_entry_id(e)) < 0) {
			if (!problem(c, version, p.ptr, NULL, -1, git_tree_entry_id(e),
			        "the tree cannot be read (a missing or damaged object)"))
				error = MVC_ENOMEM;
		} else if ((m = git_tree_entry_byname(sub, "MANIFEST")) &&
		           git_tree_entry_type(m) == GIT_OBJECT_BLOB) {
			if (*n == *cap) {
				size_t nc = *cap ? *cap * 2 : 8;
				char **np = realloc(*paths, nc * sizeof(char *));

				if (!np)
					error = mvc__err(MVC_ENOMEM, "out of memory");
				else {
					*paths = np;
					*cap = nc;
				}
			}
			if (!error)
				(*paths)[(*n)++] = mvc_buf_detach(&p);
		} else if ((error = mvc_buf_puts(&p, "/")) == 0) {
			error = find_files(c, paths, n, cap, version, sub, p.ptr);
		}
		git_tree_free(sub);
		mvc_buf_free(&p);
	}
	return error;
}

/* One commit: its files, then its parents onto the queue. */
static int check_version(fctx *c, const git_oid *id, git_oid **queue, size_t *qn, size_t *qcap)
{
	git_commit *commit = NULL;
	git_tree *root = NULL;
	char hex[MVC_OID_HEXSZ + 1], **paths = NULL;
	size_t npaths = 0, cap = 0;
	int rc, error = 0;

	git_oid_tostr(hex, sizeof(hex), id);
	c->r->versions++;
	if ((rc = damaged(c, hex, NULL, NULL, -1, id, "the version's commit is damaged")) != 0)
		return rc < 0 ? rc : 0;
	if (git_commit_lookup(&commit, c->git, id) < 0) {
		if (!problem(c, hex, NULL, NULL, -1, id, "the version's commit cannot be read"))
			error = MVC_ENOMEM;
		goto done;
	}
	/* the history first: parents are checked even if this tree is not */
	for (unsigned i = 0; i < git_commit_parentcount(commit) && !error; i++) {
		const git_oid *p = git_commit_parent_id(commit, i);

		if ((rc = seen_before(&c->commits, p, NULL)) < 0) {
			error = rc;
		} else if (!rc) {
			if (*qn == *qcap) {
				size_t nc = *qcap ? *qcap * 2 : 64;
				git_oid *nq = realloc(*queue, nc * sizeof(*nq));

				if (!nq) {
					error = mvc__err(MVC_ENOMEM, "out of memory");
					break;
				}
				*queue = nq;
				*qcap = nc;
			}
			(*queue)[(*qn)++] = *p;
		}
	}
	if (error)
		goto done;
	if ((rc = seen_before(&c->roots, git_commit_tree_id(commit), NULL)) != 0) {
		error = rc < 0 ? rc : 0;
		goto done;
	}
	if ((rc = damaged(c, hex, NULL, NULL, -1, git_commit_tree_id(commit),
	         "the version's tree is damaged")) != 0) {
		error = rc < 0 ? rc : 0;
		goto done;
	}
	if (git_commit_tree(&root, commit) < 0) {
		if (!problem(c, hex, NULL, NULL, -1, git_commit_tree_id(commit),
		        "the version's tree cannot be read"))
			error = MVC_ENOMEM;
		goto done;
	}
	if ((error = find_files(c, &paths, &npaths, &cap, hex, root, "")) < 0)
		goto done;
	for (size_t i = 0; i < npaths && !error; i++)
		error = check_file(c, hex, paths[i], root);
done:
	mvc_strings_free(paths, npaths);
	git_tree_free(root);
	git_commit_free(commit);
	return error;
}

/* Queue `id` (a ref's target) once. */
static int enqueue(fctx *c, const git_oid *id, git_oid **queue, size_t *qn, size_t *qcap)
{
	int rc = seen_before(&c->commits, id, NULL);

	if (rc != 0)
		return rc < 0 ? rc : 0;
	if (*qn == *qcap) {
		size_t nc = *qcap ? *qcap * 2 : 64;
		git_oid *nq = realloc(*queue, nc * sizeof(*nq));

		if (!nq)
			return mvc__err(MVC_ENOMEM, "out of memory");
		*queue = nq;
		*qcap = nc;
	}
	(*queue)[(*qn)++] = *id;
	return 0;
}

/* The commits the refs name (through annotated tags); a ref that names
 * nothing readable is damage.  Refs to blobs or trees are not versions. */
static int ref_commits(fctx *c, git_oid **queue, size_t *qn, size_t *qcap)
{
	git_reference_iterator *it = NULL;
	git_reference *ref = NULL;
	int rc, error = 0;

	if (git_reference_iterator_new(&it, c->git) < 0)
		return mvc__err_git(MVC_ERROR, "cannot list refs");
	while (!error && (rc = git_reference_next(&ref, it)) == 0) {
		git_reference *res = NULL;
		git_object *obj = NULL;
		const git_oid *target = NULL;
		unsigned depth = 0;

		c->r->refs++;
		if (git_reference_resolve(&res, ref) == 0)
			target = git_reference_target(res);
		/* peel tags one by one, each object checked before it is read */
		while (target && depth++ < 16) {
			git_object_t type;

			git_object_free(obj);
			obj = NULL;
			if (loose_damage(c, target) || git_object_lookup(&obj, c->git, target,
			        GIT_OBJECT_ANY) < 0) {
				mvc_fsck_problem *p = problem(c, NULL, NULL, NULL, -1, target,
				    "the ref names a missing or damaged object");

				if (!p || !(p->ref = mvc__strdup(git_reference_name(ref))))
					error = MVC_ENOMEM;
				break;
			}
			type = git_object_type(obj);
			if (type == GIT_OBJECT_COMMIT) {
				error = enqueue(c, target, queue, qn, qcap);
				break;
			}
			target = type == GIT_OBJECT_TAG ? git_tag_target_id((git_tag *)obj) : NULL;
		}
		git_error_clear();
		git_object_free(obj);
		git_reference_free(res);
		git_reference_free(ref);
		ref = NULL;
	}
	git_reference_iterator_free(it);
	if (!error && git_repository_head_detached(c->git) == 1) {
		git_oid head;

		if (git_reference_name_to_id(&head, c->git, "HEAD") == 0)
			error = enqueue(c, &head, queue, qn, qcap);
	}
	git_error_clear();
	return error;
}

/* ---- full: decode every distinct chunk ---- */

static int decode_work(void *p, size_t item, unsigned thread)
{
	fctx *c = p;
	const cjob *j = &c->jobs[item];
	const mvc_manifest_tensor *mt = &c->files[j->file].m->tensors[j->tensor];
	size_t slot = item % c->window;
	unsigned char d[MVC_DIGEST_SIZE];
	int error;

	c->results[slot] = 0;
	free(c->messages[slot]);
	c->messages[slot] = NULL;
	if ((error = mvc__chunk_load(c->odb, c->codecs[thread], &j->oid, c->bufs[slot], j->len, NULL,
	         NULL, NULL)) < 0) {
		if (error == MVC_ENOMEM)
			return error;
		c->results[slot] = 1;
		c->messages[slot] = mvc__strdup(*mvc_error_last() ? mvc_error_last()
		                                                   : "the chunk cannot be decoded");
		mvc_error_clear();
		return 0;
	}
	mvc_blake2b(d, c->bufs[slot], j->len);
	if (memcmp(d, mt->chunk_digests + j->chunk * MVC_DIGEST_SIZE, MVC_DIGEST_SIZE))
		c->results[slot] = 2;
	return 0;
}

static int decode_done(void *p, size_t item)
{
	fctx *c = p;
	const cjob *j = &c->jobs[item];
	const vfile *vf = &c->files[j->file];
	const char *tname = vf->m->tensors[j->tensor].t.name;
	size_t slot = item % c->window;

	c->r->chunks_decoded++;
	c->r->bytes_decoded += j->len;
	c->done += j->len;
	if (c->opts->progress)
		c->opts->progress(c->done, c->total, c->opts->progress_payload);
	if (c->results[slot] == 1 && !problem(c, vf->version, vf->path, tname, (int64_t)j->chunk,
	                                 &j->oid, "the chunk cannot be decoded: %s",
	                                 c->messages[slot] ? c->messages[slot] : "out of memory"))
		return MVC_ENOMEM;
	if (c->results[slot] == 2 && !problem(c, vf->version, vf->path, tname, (int64_t)j->chunk,
	                                 &j->oid, "the chunk fails its BLAKE2b digest"))
		return MVC_ENOMEM;
	return 0;
}

static int decode_all(fctx *c)
{
	unsigned nthreads = c->opts->threads ? c->opts->threads : mvc__pool_threads();
	int error = 0;

	if (!c->njobs)
		return 0;
	if (nthreads > c->njobs)
		nthreads = (unsigned)c->njobs;
	c->window = 2 * (size_t)nthreads + 2;
	if (!(c->codecs = mvc__calloc(nthreads, sizeof(*c->codecs))) ||
	    !(c->bufs = mvc__calloc(c->window, sizeof(*c->bufs))) ||
	    !(c->results = mvc__calloc(c->window, sizeof(*c->results))) ||
	    !(c->messages = mvc__calloc(c->window, sizeof(*c->messages)))) {
		error = MVC_ENOMEM;
		goto done;
	}
	for (unsigned i = 0; i < nthreads; i++)
		if ((error = mvc_codec_new(&c->codecs[i])) < 0)
			goto done;
	for (size_t i = 0; i < c->window; i++)
		if (!(c->bufs[i] = mvc__malloc((size_t)c->maxchunk))) {
			error = MVC_ENOMEM;
			goto done;
		}
	error = mvc__pool_run(c->njobs, nthreads, c->window, decode_work, decode_done, c);
done:
	for (unsigned i = 0; c->codecs && i < nthreads; i++)
		mvc_codec_free(c->codecs[i]);
	for (size_t i = 0; c->bufs && i < c->window; i++) {
		free(c->bufs[i]);
		free(c->messages[i]);
	}
	free(c->codecs);
	free(c->bufs);
	free(c->results);
	free(c->messages);
	return error;
}

void mvc_fsck_report_free(mvc_fsck_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->count; i++) {
		free(r->problems[i].ref);
		free(r->problems[i].path);
		free(r->problems[i].tensor);
		free(r->problems[i].message);
	}
	free(r->problems);
	free(r);
}

int mvc_fsck(mvc_fsck_report **out, mvc_repo *repo, const mvc_fsck_options *opts)
{
	const char *qdir = getenv("GIT_OBJECT_DIRECTORY");
	git_oid *queue = NULL;
	size_t qn = 0, qcap = 0, head = 0;
	mvc_buf objects = MVC_BUF_INIT;
	fctx c;
	int error;

	*out = NULL;
	if (!opts || opts->version != MVC_FSCK_OPTIONS_VERSION)
		return mvc__err(MVC_EINVALID, "bad fsck options version");
	memset(&c, 0, sizeof(c));
	c.git = mvc__repo_git(repo);
	c.opts = opts;
	if (!(c.r = mvc__calloc(1, sizeof(*c.r))))
		return MVC_ENOMEM;
	if ((error = mvc_buf_printf(&objects, "%s/objects", mvc_repo_path(repo))) < 0)
		goto done;
	c.objdirs[c.nobjdirs++] = objects.ptr;
	/* inside pre-receive: the quarantine too (lib/repo.c opened it) */
	if (qdir && *qdir && getenv("GIT_DIR"))
		c.objdirs[c.nobjdirs++] = (char *)qdir;
	if (git_repository_odb(&c.odb, c.git) < 0) {
		error = mvc__err_git(MVC_ERROR, "cannot open the object database");
		goto done;
	}
	if ((error = mvc__promised_load(&c.promised, c.git, mvc_repo_path(repo))) < 0)
		goto done;
	/* breadth first from the refs: a version before its ancestors */
	if ((error = ref_commits(&c, &queue, &qn, &qcap)) < 0)
		goto done;
	while (head < qn) {
		git_oid id = queue[head++];

		if ((error = check_version(&c, &id, &queue, &qn, &qcap)) < 0)
			goto done;
	}
	if (opts->full && (error = decode_all(&c)) < 0)
		goto done;
	error = 0;
done:
	for (size_t i = 0; i < c.nfiles; i++) {
		free(c.files[i].path);
		mvc_manifest_free(c.files[i].m);
	}
	free(c.files);
	free(c.jobs);
	free(queue);
	free(c.commits.keys);
	free(c.roots.keys);
	free(c.ftrees.keys);
	free(c.ttrees.keys);
	free(c.blobs.keys);
	git_odb_free(c.odb);
	mvc__promised_free(c.promised);
	mvc_buf_free(&objects);
	if (error < 0) {
		mvc_fsck_report_free(c.r);
		return error;
	}
	*out = c.r;
	return 0;
}
