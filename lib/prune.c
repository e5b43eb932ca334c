/*
 * mvc prune: a retention policy.  The chunk blobs that no kept version
 * needs are dropped from the local store; every commit, tree, manifest
 * and header stays, so history, show and diff --stat keep working, and
 * nothing that remotes, channels or signatures point at is rewritten.
 *
 * What a kept version needs is everything its tree reaches, delta bases
 * included (the tree names them).  The dropped blobs are listed in a
 * "promise": a tree of them and a commit recording the pruned versions,
 * written into a pack marked .promisor, in a store turned into a git
 * partial clone (extensions.partialClone=mvc-pruned).  Git then treats
 * the dropped blobs as promised objects: git fsck and git gc accept their
 * absence.  The trees of the pruned versions stay in ordinary packs, so
 * a blob that comes back (fetched again, or committed again) is an
 * ordinary reachable object that gc keeps.
 *
 * Packs holding dropped blobs are rewritten without them (their other
 * entries copied byte for byte), and loose copies deleted, only after a
 * last check that no ref moved since the walk began.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "upkeep.h"
#include "pack.h"

#define PROMISE_SUBJECT "mvc prune: "
#define TRAILER_VERSION "Pruned-Version: "

typedef struct pctx {
	git_repository *git;
	git_odb *odb;
	const char *store;
	mvc_odbfiles *files;
	mvc_oidmap kept;          /* kept versions */
	mvc_oidmap keep;          /* objects reached by kept versions */
	mvc_oidmap scanned;       /* trees walked: {holds a dropped blob, 0} */
	mvc_oidmap drop;          /* blobs to drop: {stored size, 0} */
	mvc_prune_report *r;
	size_t kcap, pcap;
} pctx;

/* ---- what is kept ---- */

static int add_oid(mvc_oid **list, size_t *n, size_t *cap, const git_oid *id)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 32;
		mvc_oid *nl = realloc(*list, nc * sizeof(*nl));

		if (!nl)
			return mvc__err(MVC_ENOMEM, "out of memory");
		*list = nl;
		*cap = nc;
	}
	mvc__oid_from_git(&(*list)[(*n)++], id);
	return 0;
}

static int keep_version(pctx *c, const git_oid *id)
{
	int rc = mvc__oidmap_put(&c->kept, id, (mvc_oidval){ 0, 0 });

	if (rc <= 0)
		return rc;
	return add_oid(&c->r->kept, &c->r->kept_count, &c->kcap, id);
}

/* The `n` newest versions of the history of `tip`, as mvc log lists them. */
static int keep_newest(pctx *c, const git_oid *tip, size_t n)
{
	git_revwalk *w = NULL;
	git_oid id;
	size_t k = 0;
	int rc, error = 0;

	if (git_revwalk_new(&w, c->git) < 0 ||
	    git_revwalk_sorting(w, GIT_SORT_TIME | GIT_SORT_TOPOLOGICAL) < 0 ||
	    git_revwalk_push(w, tip) < 0) {
		git_revwalk_free(w);
		return mvc__err_git(MVC_ERROR, "cannot walk history");
	}
	while (!error && k < n && (rc = git_revwalk_next(&id, w)) == 0) {
		error = keep_version(c, &id);
		k++;
	}
	git_revwalk_free(w);
	return error;
}

/* Every target of channel ref `ref`: the newest only, or its history. */
static int keep_channel(pctx *c, git_reference *ref, int history)
{
	git_object *obj = NULL;
	git_commit *move = NULL;
	int error = 0;

	if (git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT) < 0)
		return mvc__err_git(MVC_ECORRUPT, "cannot read '%s'", git_reference_name(ref));
	move = (git_commit *)obj;
	while (move && !error) {
		unsigned np = git_commit_parentcount(move);
		git_commit *prev = NULL;

		if (np < 1 || np > 2) {
			error = mvc__err(MVC_ECORRUPT, "'%s' holds a commit that is not a channel move",
			    git_reference_name(ref));
			break;
		}
		error = keep_version(c, git_commit_parent_id(move, np - 1));
		if (!error && history && np == 2 && git_commit_parent(&prev, move, 0) < 0)
			error = mvc__err_git(MVC_ECORRUPT, "cannot read the moves of '%s'",
			    git_reference_name(ref));
		git_commit_free(move);
		move = prev;
	}
	git_commit_free(move);
	return error < 0 ? error : 0;
}

static int keep_refs(pctx *c, const char *glob, int kind, const mvc_prune_options *o)
{
	git_reference_iterator *it = NULL;
	git_reference *ref = NULL;
	int rc, error = 0;

	if (git_reference_iterator_glob_new(&it, c->git, glob) < 0)
		return mvc__err_git(MVC_ERROR, "cannot list refs");
	while (!error && (rc = git_reference_next(&ref, it)) == 0) {
		git_object *obj = NULL;

		if (kind == 'c') {
			error = keep_channel(c, ref, o->keep_channels);
		} else if (git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT) == 0) {
			error = kind == 'b' ? keep_newest(c, git_object_id(obj), o->keep_last)
			                    : keep_version(c, git_object_id(obj));
		}
		git_error_clear();
		git_object_free(obj);
		git_reference_free(ref);
	}
	git_reference_iterator_free(it);
	return error < 0 ? error : 0;
}

/* Mark everything tree `id` reaches as needed. */
static int mark_keep(pctx *c, const git_oid *id)
{
	git_tree *t = NULL;
	int rc, error = 0;

	if ((rc = mvc__oidmap_put(&c->keep, id, (mvc_oidval){ 0, 0 })) <= 0)
		return rc;
	if (git_tree_lookup(&t, c->git, id) < 0) {
		git_error_clear(); /* missing already: nothing under it to keep */
		return 0;
	}
	for (size_t i = 0; i < git_tree_entrycount(t) && !error; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(t, i);

		if (git_tree_entry_type(e) == GIT_OBJECT_TREE)
			error = mark_keep(c, git_tree_entry_id(e));
		else if ((rc = mvc__oidmap_put(&c->keep, git_tree_entry_id(e), (mvc_oidval){ 0, 0 })) < 0)
			error = rc;
	}
	git_tree_free(t);
	return error;
}

/* ---- what may go ---- */

static bool in_keep_pack(const mvc_odbfiles *f, const git_oid *id)
{
	uint32_t i;

	for (size_t k = 0; k < f->npacks; k++)
		if (f->packs[k].keep && mvc__packidx_find(&i, &f->packs[k], id))
			return true;
	return false;
}

enum kind { DIR, FILETREE, TTREE, TENSOR };

/*
 * Walk tree `id` of a version for chunk blobs that no kept version needs
 * and that the store has: they join c->drop.  *holds: whether the tree
 * reaches one of them.
 */
static int scan(pctx *c, const git_oid *id, enum kind kind, int *holds)
{
	mvc_oidval *known;
	git_tree *t = NULL;
	const git_tree_entry *me;
	int rc, error = 0, h = 0;

	*holds = 0;
	if (mvc__oidmap_get(&c->keep, id))
		return 0;
	if ((known = mvc__oidmap_get(&c->scanned, id))) {
		*holds = (int)known->a;
		return 0;
	}
	if (git_tree_lookup(&t, c->git, id) < 0) {
		git_error_clear();
		return mvc__oidmap_put(&c->scanned, id, (mvc_oidval){ 0, 0 }) < 0 ? MVC_ENOMEM : 0;
	}
	if (kind == DIR && (me = git_tree_entry_byname(t, "MANIFEST")) &&
	    git_tree_entry_type(me) == GIT_OBJECT_BLOB)
		kind = FILETREE;
	for (size_t i = 0; i < git_tree_entrycount(t) && !error; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(t, i);
		const git_oid *eid = git_tree_entry_id(e);
		int sub = 0;

		if (git_tree_entry_type(e) == GIT_OBJECT_TREE) {
			if (kind == DIR)
				error = scan(c, eid, DIR, &sub);
			else if (kind == FILETREE && !strcmp(git_tree_entry_name(e), "t"))
				error = scan(c, eid, TTREE, &sub);
			else if (kind == TTREE)
				error = scan(c, eid, TENSOR, &sub);
			h |= sub;
			continue;
		}
		/* only chunk blobs (and their delta bases) are ever dropped */
		if (kind != TENSOR || git_tree_entry_type(e) != GIT_OBJECT_BLOB ||
		    mvc__oidmap_get(&c->keep, eid))
			continue;
		if (mvc__oidmap_get(&c->drop, eid)) {
			h = 1;
			continue;
		}
		{
			uint64_t size;
			size_t pack;

			if (!mvc__odbfiles_find(&size, &pack, c->files, eid) || in_keep_pack(c->files, eid))
				continue; /* gone already, or kept by a .keep pack */
			if ((rc = mvc__oidmap_put(&c->drop, eid, (mvc_oidval){ size, 0 })) < 0)
				error = rc;
			c->r->chunks++;
			c->r->bytes += size;
			h = 1;
		}
	}
	git_tree_free(t);
	if (!error && (rc = mvc__oidmap_put(&c->scanned, id, (mvc_oidval){ (uint64_t)h, 0 })) < 0)
		error = rc;
	*holds = h;
	return error;
}

static bool is_channel_move(const git_commit *commit)
{
	const char *m = git_commit_message(commit);

	return m && (strstr(m, "\nChannel: ") != NULL);
}

/* Every commit any ref reaches; the versions among them that hold a
 * blob to drop are the pruned ones. */
static int scan_history(pctx *c)
{
	git_revwalk *w = NULL;
	git_oid id;
	int rc, error = 0;

	if (git_revwalk_new(&w, c->git) < 0 ||
	    git_revwalk_sorting(w, GIT_SORT_TIME | GIT_SORT_TOPOLOGICAL) < 0 ||
	    git_revwalk_push_glob(w, "refs/*") < 0) {
		git_revwalk_free(w);
		return mvc__err_git(MVC_ERROR, "cannot walk history");
	}
	if (git_repository_head_unborn(c->git) != 1)
		git_revwalk_push_head(w);
	git_error_clear();
	while (!error && (rc = git_revwalk_next(&id, w)) == 0) {
		git_commit *commit = NULL;
		int holds = 0;

		if (git_commit_lookup(&commit, c->git, &id) < 0) {
			error = mvc__err_git(MVC_ECORRUPT, "cannot read history");
			break;
		}
		error = scan(c, git_commit_tree_id(commit), DIR, &holds);
		if (!error && holds && !is_channel_move(commit) && !mvc__oidmap_get(&c->kept, &id))
			error = add_oid(&c->r->pruned, &c->r->pruned_count, &c->pcap, &id);
		git_commit_free(commit);
	}
	git_revwalk_free(w);
	return error;
}

/* ---- the refs, to see that none moved ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A digest of every ref's name and target, HEAD's included. */
static int refs_digest(unsigned char out[MVC_DIGEST_SIZE], git_repository *git)
{
	git_reference_iterator *it = NULL;
	git_reference *ref = NULL;
	char **lines = NULL;
	size_t n = 0, cap = 0;
	mvc_buf all = MVC_BUF_INIT;
	int rc, error = 0;

	if (git_reference_iterator_new(&it, git) < 0)
		return mvc__err_git(MVC_ERROR, "cannot list refs");
	while (!error && (rc = git_reference_next(&ref, it)) == 0) {
		mvc_buf l = MVC_BUF_INIT;
		char hex[GIT_OID_HEXSZ + 1] = "";
		const char *target = hex;

		if (git_reference_type(ref) == GIT_REFERENCE_DIRECT)
			git_oid_tostr(hex, sizeof(hex), git_reference_target(ref));
		else
			target = git_reference_symbolic_target(ref);
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			char **nl = realloc(lines, nc * sizeof(*nl));

			if (!nl) {
				error = mvc__err(MVC_ENOMEM, "out of memory");
				git_reference_free(ref);
				break;
			}
			lines = nl;
			cap = nc;
		}
		if ((error = mvc_buf_printf(&l, "%s %s\n", git_reference_name(ref), target)) == 0)
			lines[n++] = mvc_buf_detach(&l);
		git_reference_free(ref);
	}
	git_reference_iterator_free(it);
	if (!error) {
		git_oid head;

		if (n > 1)
			qsort(lines, n, sizeof(*lines), cmp_str);
		for (size_t i = 0; i < n && !error; i++)
			error = mvc_buf_puts(&all, lines[i]);
		if (!error && git_reference_name_to_id(&head, git, "HEAD") == 0)
			error = mvc_buf_put(&all, head.id, 20);
		git_error_clear();
		if (!error)
			mvc_blake2b(out, all.ptr ? all.ptr : "", all.len);
	}
	mvc_strings_free(lines, n);
	mvc_buf_free(&all);
	return error;
}

/* ---- the promise ---- */

static int cmp_oid(const void *a, const void *b)
{
	return git_oid_cmp(a, b);
}

/* The tree listing the dropped blobs (named by their ids) and the commit
 * recording the run, into a new pack marked .promisor. */
static int write_promise(pctx *c, const mvc_prune_options *o, char **pack_out)
{
	git_signature *sig = NULL;
	mvc_pack_entry e;
	mvc_pack *p = NULL;
	mvc_buf tree = MVC_BUF_INIT, msg = MVC_BUF_INIT, path = MVC_BUF_INIT;
	git_oid *ids = NULL, tid;
	size_t n = 0;
	char hex[GIT_OID_HEXSZ + 1];
	int fd, error = 0;

	memset(&e, 0, sizeof(e));
	*pack_out = NULL;
	if (!(ids = mvc__calloc(c->drop.count + 1, sizeof(*ids))))
		return MVC_ENOMEM;
	for (size_t i = 0; i < c->drop.cap; i++)
		if (c->drop.used[i])
			ids[n++] = c->drop.keys[i];
	/* entry names are the hex ids, so id order is git's name order */
	qsort(ids, n, sizeof(*ids), cmp_oid);
	for (size_t i = 0; i < n && !error; i++) {
		git_oid_tostr(hex, sizeof(hex), &ids[i]);
		if ((error = mvc_buf_printf(&tree, "100644 %s", hex)) == 0 &&
		    (error = mvc_buf_put(&tree, "", 1)) == 0)
			error = mvc_buf_put(&tree, ids[i].id, 20);
	}
	if (error || (error = mvc__pack_open(&p, c->store)) < 0 ||
	    (error = mvc__pack_entry_make(&e, GIT_OBJECT_TREE, tree.ptr, tree.len, 1)) < 0 ||
	    (error = mvc__pack_append(p, &e)) < 0)
		goto done;
	tid = e.oid;
	if (mvc__signature(&sig, c->git) < 0) {
		error = mvc__err_git(MVC_ERROR, "cannot tell who prunes (user.name, user.email)");
		goto done;
	}
	sig->when.time = c->r->time;
	git_oid_tostr(hex, sizeof(hex), &tid);
	{
		int off = sig->when.offset, a = off < 0 ? -off : off;

		error = mvc_buf_printf(&msg, "tree %s\nauthor %s <%s> %lld %c%02d%02d\n"
		    "committer %s <%s> %lld %c%02d%02d\n\n", hex, sig->name, sig->email,
		    (long long)c->r->time, off < 0 ? '-' : '+', a / 60, a % 60, sig->name, sig->email,
		    (long long)c->r->time, off < 0 ? '-' : '+', a / 60, a % 60);
	}
	if (!error)
		error = mvc_buf_printf(&msg, PROMISE_SUBJECT "the data of %zu version%s dropped\n\n"
		    "%llu chunk objects (%llu bytes as stored) that no kept version needs were\n"
		    "dropped from this store; the tree lists them.  The versions keep their\n"
		    "commits, trees and manifests.\n\nPruned-Keep-Last: %zu\n%s%s",
		    c->r->pruned_count, c->r->pruned_count == 1 ? "'s" : "s",
		    (unsigned long long)c->r->chunks, (unsigned long long)c->r->bytes, o->keep_last,
		    o->keep_channels ? "Pruned-Keep-Channels: all moves\n" : "",
		    o->keep_tagged ? "Pruned-Keep-Tagged: yes\n" : "");
	for (size_t i = 0; i < c->r->pruned_count && !error; i++) {
		mvc_oid_fmt(hex, &c->r->pruned[i]);
		error = mvc_buf_printf(&msg, TRAILER_VERSION "%s\n", hex);
	}
	if (error)
		goto done;
	mvc__pack_entry_free(&e);
	if ((error = mvc__pack_entry_make(&e, GIT_OBJECT_COMMIT, msg.ptr, msg.len, 1)) < 0 ||
	    (error = mvc__pack_append(p, &e)) < 0)
		goto done;
	mvc__oid_from_git(&c->r->promise, &e.oid);
	c->r->has_promise = 1;
	if ((error = mvc__pack_finish(p, c->odb)) < 0 ||
	    (error = mvc_buf_printf(&path, "%s.promisor", mvc__pack_path(p))) < 0)
		goto done;
	if ((fd = open(path.ptr, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0444)) < 0) {
		error = mvc__err_sys("cannot create '%s'", path.ptr);
		goto done;
	}
	close(fd);
	*pack_out = mvc__strdup(mvc__pack_path(p));
done:
	git_signature_free(sig);
	mvc__pack_entry_free(&e);
	mvc__pack_free(p);
	mvc_buf_free(&tree);
	mvc_buf_free(&msg);
	mvc_buf_free(&path);
	free(ids);
	return error;
}

/* Make the store a partial clone promising from MVC_PRUNE_REMOTE. */
static int partial_clone_config(git_repository *git)
{
	git_config *cfg = NULL;
	git_buf v = { 0 };
	int error = 0;

	if (git_repository_config(&cfg, git) < 0)
		return mvc__err_git(MVC_ERROR, "cannot read the store's config");
	if (git_config_get_string_buf(&v, cfg, "extensions.partialClone") < 0 &&
	    (git_config_set_int32(cfg, "core.repositoryformatversion", 1) < 0 ||
	     git_config_set_string(cfg, "extensions.partialClone", MVC_PRUNE_REMOTE) < 0))
		error = mvc__err_git(MVC_ERROR, "cannot configure the store as a partial clone");
	/* a bitmap needs every reachable object: git gc would fail writing one */
	if (!error && git_config_set_bool(cfg, "repack.writeBitmaps", 0) < 0)
		error = mvc__err_git(MVC_ERROR, "cannot configure the store");
	git_error_clear();
	git_buf_dispose(&v);
	git_config_free(cfg);
	return error;
}

/* ---- rewriting packs ---- */

typedef struct ent_ref {
	uint64_t offset;
	uint32_t index;
} ent_ref;

static int cmp_ent_ref(const void *a, const void *b)
{
	uint64_t x = ((const ent_ref *)a)->offset, y = ((const ent_ref *)b)->offset;

	return x < y ? -1 : x > y;
}

static bool holds_drop(const pctx *c, const mvc_packidx *pk)
{
	git_oid id;

	if (pk->keep || pk->promisor)
		return false;
	for (uint32_t i = 0; i < pk->count; i++) {
		mvc__packidx_oid(&id, pk, i);
		if (mvc__oidmap_get(&c->drop, &id))
			return true;
	}
	return false;
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Pack `pk` without the dropped blobs, into *out (NULL when nothing is
 * left): entries copied as they are, git deltas written whole. */
static int rewrite_pack(pctx *c, const mvc_packidx *pk, char **out)
{
	mvc_buf path = MVC_BUF_INIT;
	ent_ref *order = NULL;
	mvc_pack *p = NULL;
	mvc_pack_entry e;
	int fd = -1, error = 0;

	memset(&e, 0, sizeof(e));
	*out = NULL;
	if ((error = mvc_buf_printf(&path, "%s.pack", pk->base)) < 0)
		return error;
	if ((fd = open(path.ptr, O_RDONLY | O_CLOEXEC)) < 0) {
		error = mvc__err_sys("cannot open '%s'", path.ptr);
		goto done;
	}
	if (!(order = mvc__calloc((size_t)pk->count + 1, sizeof(*order)))) {
		error = MVC_ENOMEM;
		goto done;
	}
	for (uint32_t i = 0; i < pk->count; i++) {
		order[i].offset = mvc__packidx_offset(pk, i);
		order[i].index = i;
	}
	qsort(order, pk->count, sizeof(*order), cmp_ent_ref);
	for (uint32_t k = 0; k < pk->count && !error; k++) {
		uint64_t size = mvc__packidx_entry_size(pk, order[k].offset);
		unsigned type;

		mvc__packidx_oid(&e.oid, pk, order[k].index);
		if (mvc__oidmap_get(&c->drop, &e.oid))
			continue;
		if (size > SIZE_MAX - 1 || (size > e.cap && !(e.buf = realloc(e.buf, e.cap = (size_t)size)))) {
			error = mvc__err(MVC_ENOMEM, "out of memory");
			break;
		}
		if ((error = mvc_read_at(fd, e.buf, (size_t)size, order[k].offset, path.ptr)) < 0)
			break;
		e.len = (size_t)size;
		e.crc = mvc__crc32(0, e.buf, e.len);
		if (e.crc != get32(pk->crcs + 4 * (size_t)order[k].index)) {
			char hex[GIT_OID_HEXSZ + 1];

			git_oid_tostr(hex, sizeof(hex), &e.oid);
			error = mvc__err(MVC_ECORRUPT, "'%s' is damaged at object %s; nothing was dropped",
			    path.ptr, hex);
			break;
		}
		type = (e.buf[0] >> 4) & 7;
		if (type == 6 || type == 7) {
			/* a git delta: its base may be an offset in this very pack */
			git_odb_object *obj = NULL;
			git_oid id = e.oid;

			if (git_odb_read(&obj, c->odb, &id) < 0) {
				error = mvc__err_git(MVC_ECORRUPT, "cannot read object in '%s'", path.ptr);
				break;
			}
			error = mvc__pack_entry_make(&e, git_odb_object_type(obj),
			    git_odb_object_data(obj), git_odb_object_size(obj), 1);
			git_odb_object_free(obj);
			if (error < 0)
				break;
		}
		if (!p && (error = mvc__pack_open(&p, c->store)) < 0)
			break;
		error = mvc__pack_append(p, &e);
	}
	if (!error && p && (error = mvc__pack_finish(p, NULL)) == 0 &&
	    !(*out = mvc__strdup(mvc__pack_path(p))))
		error = MVC_ENOMEM;
done:
	if (fd >= 0)
		close(fd);
	mvc__pack_entry_free(&e);
	mvc__pack_free(p);
	free(order);
	mvc_buf_free(&path);
	return error;
}

/* Remove a pack: the index first, which makes it invisible. */
static void remove_pack(const char *base)
{
	static const char *const exts[] = { ".idx", ".pack", ".rev", ".bitmap", ".mtimes",
	                                    ".promisor", NULL };
	char path[4096];

	for (size_t i = 0; exts[i]; i++) {
		if (snprintf(path, sizeof(path), "%s%s", base, exts[i]) < (int)sizeof(path))
			unlink(path);
	}
}

static int drop_objects(pctx *c, const unsigned char refs_before[MVC_DIGEST_SIZE],
                        char *promise_pack)
{
	char **made = NULL;
	size_t nmade = 0, *old = NULL, nold = 0;
	unsigned char refs_now[MVC_DIGEST_SIZE];
	mvc_buf loose = MVC_BUF_INIT;
	int error = 0;

	if (!(made = mvc__calloc(c->files->npacks + 1, sizeof(*made))) ||
	    !(old = mvc__calloc(c->files->npacks + 1, sizeof(*old)))) {
		error = MVC_ENOMEM;
		goto done;
	}
	for (size_t k = 0; k < c->files->npacks && !error; k++) {
		if (!holds_drop(c, &c->files->packs[k]))
			continue;
		old[nold++] = k;
		if ((error = rewrite_pack(c, &c->files->packs[k], &made[nmade])) == 0 && made[nmade])
			nmade++;
	}
	/* the last moment: a ref that moved may name a blob about to go */
	if (!error && (error = refs_digest(refs_now, c->git)) == 0 &&
	    memcmp(refs_now, refs_before, MVC_DIGEST_SIZE))
		error = mvc__err(MVC_ECONFLICT,
		    "refs moved while pruning (a commit or a channel move?); nothing was dropped: "
		    "run mvc prune again");
	if (error) {
		for (size_t i = 0; i < nmade; i++)
			remove_pack(made[i]);
		if (promise_pack)
			remove_pack(promise_pack);
		c->r->has_promise = 0;
		goto done;
	}
	for (size_t i = 0; i < nold; i++)
		remove_pack(c->files->packs[old[i]].base);
	c->r->packs_rewritten = nold;
	for (size_t i = 0; i < c->drop.cap && !error; i++) {
		if (!c->drop.used[i])
			continue;
		if ((error = mvc__loose_path(&loose, c->files->objdir, &c->drop.keys[i])) == 0)
			unlink(loose.ptr);
	}
done:
	for (size_t i = 0; made && i < nmade; i++)
		free(made[i]);
	free(made);
	free(old);
	mvc_buf_free(&loose);
	return error;
}

static bool is_hexdigit(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* ---- the entry point ---- */

void mvc_prune_report_free(mvc_prune_report *r)
{
	if (!r)
		return;
	free(r->kept);
	free(r->pruned);
	free(r);
}

int mvc_prune(mvc_prune_report **out, mvc_repo *repo, const mvc_prune_options *opts)
{
	git_repository *git = mvc__repo_git(repo);
	unsigned char refs_before[MVC_DIGEST_SIZE];
	mvc_buf objdir = MVC_BUF_INIT;
	char *promise_pack = NULL;
	pctx c;
	int lock = -1, error;

	*out = NULL;
	if (!opts || opts->version != MVC_PRUNE_OPTIONS_VERSION)
		return mvc__err(MVC_EINVALID, "bad prune options version");
	if (opts->keep_last < 1)
		return mvc__err(MVC_EINVALID, "prune keeps at least the newest version of each branch");
	memset(&c, 0, sizeof(c));
	c.git = git;
	c.store = mvc_repo_path(repo);
	if (!(c.r = mvc__calloc(1, sizeof(*c.r))))
		return MVC_ENOMEM;
	c.r->time = (int64_t)time(NULL);
	if (!opts->dry_run && (error = mvc__maintenance_lock(&lock, repo)) < 0)
		goto done;
	if ((error = refs_digest(refs_before, git)) < 0 ||
	    (error = mvc_buf_printf(&objdir, "%s/objects", c.store)) < 0 ||
	    (error = mvc__odbfiles_open(&c.files, objdir.ptr)) < 0)
		goto done;
	if (git_repository_odb(&c.odb, git) < 0) {
		error = mvc__err_git(MVC_ERROR, "cannot open the object database");
		goto done;
	}
	/* the kept versions, then everything their trees reach */
	if ((error = keep_refs(&c, "refs/heads/*", 'b', opts)) < 0 ||
	    (error = keep_refs(&c, MVC_CHANNEL_REF_PREFIX "*", 'c', opts)) < 0 ||
	    (opts->keep_tagged && (error = keep_refs(&c, "refs/tags/*", 't', opts)) < 0))
		goto done;
	{
		git_oid head;

		if (git_reference_name_to_id(&head, git, "HEAD") == 0 &&
		    (error = keep_version(&c, &head)) < 0)
			goto done;
		git_error_clear();
	}
	for (size_t i = 0; i < c.r->kept_count; i++) {
		git_commit *commit = NULL;
		git_oid id;

		mvc__oid_to_git(&id, &c.r->kept[i]);
		if (git_commit_lookup(&commit, git, &id) < 0) {
			error = mvc__err_git(MVC_ECORRUPT, "cannot read a kept version");
			goto done;
		}
		error = mark_keep(&c, git_commit_tree_id(commit));
		git_commit_free(commit);
		if (error < 0)
			goto done;
	}
	if ((error = scan_history(&c)) < 0)
		goto done;
	if (opts->dry_run || c.drop.count == 0)
		goto done;
	if ((error = partial_clone_config(git)) < 0 ||
	    (error = write_promise(&c, opts, &promise_pack)) < 0)
		goto done;
	error = drop_objects(&c, refs_before, promise_pack);
	/* whatever happened, packs may have gone: see the store as it is now */
	mvc__odb_reset(repo);
done:
	mvc__maintenance_unlock(lock);
	mvc__oidmap_free(&c.kept);
	mvc__oidmap_free(&c.keep);
	mvc__oidmap_free(&c.scanned);
	mvc__oidmap_free(&c.drop);
	mvc__odbfiles_free(c.files);
	git_odb_free(c.odb);
	mvc_buf_free(&objdir);
	free(promise_pack);
	if (error < 0) {
		mvc_prune_report_free(c.r);
		return error;
	}
	*out = c.r;
	return 0;
}

/* ---- reading promises back ---- */

void mvc__promised_free(mvc_promised *p)
{
	if (!p)
		return;
	mvc__oidmap_free(&p->blobs);
	mvc__oidmap_free(&p->versions);
	free(p);
}

static int read_promise(mvc_promised *p, git_repository *git, const git_oid *id)
{
	git_commit *commit = NULL;
	git_tree *tree = NULL;
	const char *m, *line;
	int64_t when;
	int rc, error = 0;

	if (git_commit_lookup(&commit, git, id) < 0) {
		git_error_clear();
		return 0;
	}
	m = git_commit_message(commit);
	if (!m || strncmp(m, PROMISE_SUBJECT, strlen(PROMISE_SUBJECT)))
		goto done;
	when = git_commit_time(commit);
	for (line = m; line && !error; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		git_oid v;
		mvc_oidval *old;

		if (strncmp(line, TRAILER_VERSION, strlen(TRAILER_VERSION)) ||
		    git_oid_fromstrn(&v, line + strlen(TRAILER_VERSION), GIT_OID_HEXSZ) < 0)
			continue;
		/* pruned again after a refetch: the latest date */
		if ((old = mvc__oidmap_get(&p->versions, &v)))
			old->a = (uint64_t)when > old->a ? (uint64_t)when : old->a;
		else if ((rc = mvc__oidmap_put(&p->versions, &v, (mvc_oidval){ (uint64_t)when, 0 })) < 0)
			error = rc;
	}
	if (!error && git_commit_tree(&tree, commit) == 0) {
		for (size_t i = 0; i < git_tree_entrycount(tree) && !error; i++)
			if ((rc = mvc__oidmap_put(&p->blobs, git_tree_entry_id(git_tree_entry_byindex(tree, i)),
			         (mvc_oidval){ 0, 0 })) < 0)
				error = rc;
	}
	git_error_clear();
done:
	git_tree_free(tree);
	git_commit_free(commit);
	return error;
}

int mvc__promised_load(mvc_promised **out, git_repository *git, const char *store)
{
	mvc_promised *p = NULL;
	mvc_odbfiles *f = NULL;
	mvc_buf objdir = MVC_BUF_INIT;
	git_odb *odb = NULL;
	int error = 0;

	*out = NULL;
	if ((error = mvc_buf_printf(&objdir, "%s/objects", store)) < 0 ||
	    (error = mvc__odbfiles_open(&f, objdir.ptr)) < 0)
		goto done;
	for (size_t k = 0; k < f->npacks && !error; k++) {
		const mvc_packidx *pk = &f->packs[k];

		if (!pk->promisor)
			continue;
		if (!p && !(p = mvc__calloc(1, sizeof(*p)))) {
			error = MVC_ENOMEM;
			break;
		}
		if (!odb && git_repository_odb(&odb, git) < 0) {
			error = mvc__err_git(MVC_ERROR, "cannot open the object database");
			break;
		}
		for (uint32_t i = 0; i < pk->count && !error; i++) {
			git_oid id;
			size_t len;
			git_object_t type;

			mvc__packidx_oid(&id, pk, i);
			if (git_odb_read_header(&len, &type, odb, &id) == 0 && type == GIT_OBJECT_COMMIT)
				error = read_promise(p, git, &id);
			git_error_clear();
		}
	}
done:
	git_odb_free(odb);
	mvc__odbfiles_free(f);
	mvc_buf_free(&objdir);
	if (error < 0) {
		mvc__promised_free(p);
		return error;
	}
	*out = p;
	return 0;
}

int mvc_prune_lookup(int64_t *when, mvc_repo *repo, const mvc_oid *id)
{
	mvc_promised *p = NULL;
	mvc_oidval *v;
	git_oid gid;
	int error;

	*when = 0;
	if ((error = mvc__promised_load(&p, mvc__repo_git(repo), mvc_repo_path(repo))) < 0)
		return error;
	mvc__oid_to_git(&gid, id);
	if (p && (v = mvc__oidmap_get(&p->versions, &gid)))
		*when = (int64_t)v->a;
	mvc__promised_free(p);
	return *when != 0;
}

/* Does the message name (in 40 hex digits) an object a promise lists? */
static bool names_promised(const char *msg, const mvc_promised *p)
{
	for (const char *q = msg; *q; q++) {
		git_oid id;
		size_t n = 0;

		while (n < GIT_OID_HEXSZ && is_hexdigit(q[n]))
			n++;
		if (n == GIT_OID_HEXSZ && !is_hexdigit(q[n]) && (q == msg || !is_hexdigit(q[-1])) &&
		    git_oid_fromstrn(&id, q, GIT_OID_HEXSZ) == 0 && mvc__oidmap_get(&p->blobs, &id))
			return true;
		if (n)
			q += n - 1;
	}
	return false;
}

int mvc__prune_explain(int error, git_repository *git, const char *store, const git_oid *version)
{
	mvc_promised *p = NULL;
	mvc_oidval *v;
	char hex[GIT_OID_HEXSZ + 1], date[32], *why;
	time_t when;
	struct tm tm;

	if (error != MVC_ECORRUPT || !(why = mvc__strdup(mvc_error_last())))
		return error;
	/* only when the version was pruned and the missing object is one the
	 * prune dropped; keep the reader's message if promises cannot be read */
	if (mvc__promised_load(&p, git, store) < 0 || !p ||
	    !(v = mvc__oidmap_get(&p->versions, version)) || !names_promised(why, p)) {
		mvc__promised_free(p);
		mvc__err(error, "%s", why);
		free(why);
		return error;
	}
	free(why);
	when = (time_t)v->a;
	mvc__promised_free(p);
	gmtime_r(&when, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d", &tm);
	git_oid_tostr(hex, sizeof(hex), version);
	return mvc__err(MVC_ENOTFOUND,
	    "version %.12s's data was pruned on %s (mvc prune): fetch it again from a remote that "
	    "has it (git --git-dir=%s fetch --refetch <remote>), or it is gone", hex, date, store);
}

int mvc__prune_explain_rev(int error, mvc_repo *repo, const char *rev)
{
	git_commit *c = NULL;
	char *why;

	if (error != MVC_ECORRUPT || !(why = mvc__strdup(mvc_error_last())))
		return error;
	if (mvc__resolve(&c, mvc__repo_git(repo), rev) == 0)
		error = mvc__prune_explain(error, mvc__repo_git(repo), mvc_repo_path(repo),
		    git_commit_id(c));
	if (error == MVC_ECORRUPT)
		mvc__err(error, "%s", why);
	free(why);
	git_commit_free(c);
	return error;
}
