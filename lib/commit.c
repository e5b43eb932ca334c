/*
 * mvc commit.  Each tracked file becomes a tree of MANIFEST, header and
 * t/<tensor>/<chunk> blobs, written in one pass over the chunks on all
 * cores.  A worker reads a chunk and hashes it (BLAKE2b); if it equals
 * the parent version's chunk at the same place (same tensor name and
 * index) the parent's blob is reused, else it is encoded: XORed with the
 * parent's chunk (a delta) when that is smaller than the chunk alone,
 * byte-grouped, zstd-compressed and framed as a pack entry.  One thread
 * takes the results in chunk order, drops chunks already stored by this
 * commit, and appends the rest to one pack, so the output does not depend
 * on the thread count.
 *
 * Delta chains are bounded (MVC_DELTA_MAX_DEPTH); past the bound a chunk
 * is coded against its chain's full chunk instead.  Every base of a delta
 * is named in the tensor's tree ("<chunk>-<k>"), so whatever keeps a
 * version keeps what it needs to be read: gc, shallow clones and pushes
 * of one branch never strand a delta.  Trees, manifests and headers go
 * into a second, small pack.
 */
#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "scan.h"
#include "pack.h"
#include "pool.h"

/* A delta no smaller than this share of the raw chunk is compared with
 * the chunk encoded alone. */
#define DELTA_CHECK_SHARE 0.6

enum { CHUNK_NEW, CHUNK_REUSE, CHUNK_DUP, CHUNK_ALT };

/* A chunk of another version (an extra parent) at the same place. */
typedef struct cand {
	const unsigned char *digest;
	git_oid oid;
	uint32_t alt;
} cand;

typedef struct job {
	uint32_t file;
	mvc_chunk_ref ref;
	uint8_t kind;
	uint8_t has_parent;     /* a parent chunk to delta against */
	uint8_t nchain;
	size_t dup_of;          /* CHUNK_DUP: the job holding the blob */
	git_oid oid;            /* the chunk's blob */
	git_oid parent;         /* the parent's blob at this place */
	const unsigned char *parent_digest; /* its digest, when it may be reused */
	git_oid *chain;         /* delta bases to name in the tree */
	cand *cands;            /* the extra parents' chunks at this place */
	uint32_t ncands;
	uint64_t pchunk;        /* the parent's chunk reused (content-defined
	                           chunks: anywhere in the parent's tensor) */
} job;

/* An extra parent's side of a file (aggregate's inputs). */
typedef struct alt {
	mvc_manifest *m;
	git_tree *ft, *t;
	git_tree **tens;        /* per tensor of the new file: the same-name subtree */
	long *idx;              /* index in m, or -1 */
} alt;

/* A content-defined chunk of the parent version, found by its digest. */
typedef struct cdc_ent {
	const unsigned char *digest;
	size_t tensor;          /* the tensor of the new file it may stand for */
	uint64_t chunk;         /* its index in the parent's tensor */
	git_oid oid;
} cdc_ent;

typedef struct cfile {
	const char *path;
	char *fspath;
	int fd;
	int unchanged;          /* stat cache: same as the parent, not read */
	int sourced;            /* read from elsewhere than the working directory */
	mvc_layout *layout;
	mvc_manifest *m;
	mvc_manifest *pm;       /* the parent version's manifest */
	git_tree *pft;          /* the parent's file tree, its "t" tree */
	git_tree *pt;
	git_tree **ptensor;     /* per tensor of m: the parent's same-name subtree */
	long *pidx;             /* per tensor of m: index in pm, or -1 */
	alt *alts;              /* the same file in each extra parent */
	size_t nalts;
	cdc_ent *cdc;           /* the parent's content-defined chunks, by digest */
	size_t ncdc;
	mvc_buf header;
	size_t first_job;
	git_oid tree;
} cfile;

typedef struct slot {
	int reused;             /* equal to the parent's chunk: nothing encoded */
	mvc_pack_entry entry;
	size_t stored;          /* encoded bytes */
	git_oid chain[MVC_DELTA_MAX_DEPTH];
	unsigned nchain;
} slot;

typedef struct tctx {       /* per worker thread */
	mvc_codec *codec;
	unsigned char *raw, *base, *key;
} tctx;

/* Digest -> job, for chunks met earlier in this commit. */
typedef struct seen_map {
	size_t cap, count;
	struct seen { const unsigned char *digest; size_t job; } *slots;
} seen_map;

typedef struct commit_ctx {
	git_repository *git;
	git_odb *odb;
	cfile *files;
	size_t nfiles;
	job *jobs;
	size_t njobs;
	slot *slots;
	size_t window;
	tctx *threads;
	unsigned nthreads;
	mvc_pack *pack;
	const char *store;
	seen_map seen;
	mvc_commit_stats *stats;
	const mvc_commit_options *opts;
	uint64_t done_bytes, total_bytes;
} commit_ctx;

static int validate(mvc_repo *repo, const char *path, const char *source, mvc_format forced,
                    mvc_format stored)
{
	mvc_buf fs = MVC_BUF_INIT;
	mvc_layout *l = NULL;
	struct stat st;
	int fd = -1, error;

	if ((error = source ? mvc_buf_puts(&fs, source)
	                    : mvc_buf_printf(&fs, "%s/%s", mvc_repo_workdir(repo), path)) < 0)
		return error;
	if ((fd = open(fs.ptr, O_RDONLY | O_CLOEXEC)) < 0)
		error = mvc__err_sys("cannot open '%s'", path);
	else if (fstat(fd, &st) < 0)
		error = mvc__err_sys("cannot stat '%s'", path);
	else if (!S_ISREG(st.st_mode))
		error = mvc__err(MVC_EINVALID, "'%s' is not a regular file", path);
	else
		error = mvc__layout_read_for(&l, fd, (uint64_t)st.st_size, path, forced, stored);
	if (fd >= 0)
		close(fd);
	mvc_layout_free(l);
	mvc_buf_free(&fs);
	return error;
}

/* The format `path` was stored as in the current version, if any. */
static mvc_format stored_format(git_repository *git, const git_tree *root, const char *path)
{
	git_tree *ft = NULL;
	mvc_manifest *m = NULL;
	mvc_format f = MVC_FORMAT_UNKNOWN;

	if (root && mvc__file_tree(&ft, git, root, path) == 0 &&
	    mvc__tree_manifest(&m, git, ft, path) == 0)
		f = m->format;
	mvc_error_clear();
	mvc_manifest_free(m);
	git_tree_free(ft);
	return f;
}

static int check_meta(const char *kv)
{
	const char *eq = strchr(kv, '=');

	if (!eq || eq == kv)
		return mvc__err(MVC_EINVALID, "metadata '%s' is not key=value", kv);
	for (const char *p = kv; p < eq; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
			return mvc__err(MVC_EINVALID,
			    "metadata key in '%s' may hold only letters, digits, '-', '_' and '.'", kv);
	if (!isalnum((unsigned char)kv[0]))
		return mvc__err(MVC_EINVALID, "metadata key in '%s' must start with a letter or digit",
		    kv);
	for (const char *p = eq + 1; *p; p++)
		if (*p == '\n' || *p == '\r')
			return mvc__err(MVC_EINVALID, "metadata value in '%s' has a line break", kv);
	return 0;
}

static int build_message(mvc_buf *msg, const mvc_commit_options *o)
{
	const char *m = o->message;
	size_t len;
	int error;

	if (!m)
		return mvc__err(MVC_EINVALID, "a version needs a message (-m)");
	while (*m == '\n' || *m == ' ' || *m == '\t')
		m++;
	len = strlen(m);
	while (len && (m[len - 1] == '\n' || m[len - 1] == ' ' || m[len - 1] == '\t'))
		len--;
	if (!len)
		return mvc__err(MVC_EINVALID, "a version needs a non-empty message (-m)");
	if ((error = mvc_buf_put(msg, m, len)) < 0 || (error = mvc_buf_puts(msg, "\n")) < 0)
		return error;
	for (size_t i = 0; i < o->nmeta; i++) {
		const char *eq = strchr(o->meta[i], '=');

		if ((error = mvc_buf_printf(msg, "%s%.*s: %s\n", i ? "" : "\n",
		         (int)(eq - o->meta[i]), o->meta[i], eq + 1)) < 0)
			return error;
	}
	return 0;
}

static int seen_insert(seen_map *m, const unsigned char *d, size_t jobi);

static int seen_grow(seen_map *m)
{
	seen_map n = { m->cap ? m->cap * 2 : 1024, 0, NULL };

	if (!(n.slots = calloc(n.cap, sizeof(*n.slots))))
		return mvc__err(MVC_ENOMEM, "out of memory");
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].digest)
			seen_insert(&n, m->slots[i].digest, m->slots[i].job);
	free(m->slots);
	*m = n;
	return 0;
}

/* Insert unless present; returns the job already holding the digest, or
 * SIZE_MAX when it was inserted. */
static size_t seen_find_or_add(seen_map *m, const unsigned char *d, size_t jobi, int *error)
{
	size_t i;
	uint64_t h;

	*error = 0;
	if ((m->count + 1) * 2 > m->cap && (*error = seen_grow(m)) < 0)
		return SIZE_MAX;
	memcpy(&h, d, sizeof(h));
	for (i = h & (m->cap - 1); m->slots[i].digest; i = (i + 1) & (m->cap - 1))
		if (!memcmp(m->slots[i].digest, d, MVC_DIGEST_SIZE))
			return m->slots[i].job;
	m->slots[i].digest = d;
	m->slots[i].job = jobi;
	m->count++;
	return SIZE_MAX;
}

static int seen_insert(seen_map *m, const unsigned char *d, size_t jobi)
{
	int error;

	seen_find_or_add(m, d, jobi, &error);
	return error;
}

static void free_file(cfile *f)
{
	if (f->fd >= 0)
		close(f->fd);
	for (size_t i = 0; f->ptensor && f->m && i < f->m->ntensors; i++)
		git_tree_free(f->ptensor[i]);
	free(f->ptensor);
	free(f->pidx);
	for (size_t a = 0; a < f->nalts; a++) {
		for (size_t i = 0; f->alts[a].tens && f->m && i < f->m->ntensors; i++)
			git_tree_free(f->alts[a].tens[i]);
		free(f->alts[a].tens);
		free(f->alts[a].idx);
		git_tree_free(f->alts[a].t);
		git_tree_free(f->alts[a].ft);
		mvc_manifest_free(f->alts[a].m);
	}
	free(f->alts);
	free(f->cdc);
	git_tree_free(f->pt);
	git_tree_free(f->pft);
	mvc_manifest_free(f->m);
	mvc_manifest_free(f->pm);
	mvc_layout_free(f->layout);
	mvc_buf_free(&f->header);
	free(f->fspath);
}

/* Entry `name` of a chunk tree, or NULL. */
static const git_oid *entry_id(const git_tree *t, const char *name)
{
	const git_tree_entry *e = t ? git_tree_entry_byname(t, name) : NULL;

	return e && git_tree_entry_type(e) == GIT_OBJECT_BLOB ? git_tree_entry_id(e) : NULL;
}

/* Read the parent's side of a file: its manifest and trees. */
static int open_parent(cfile *f, git_repository *git, const git_tree *root)
{
	const git_tree_entry *e;

	if (!root || mvc__file_tree(&f->pft, git, root, f->path) < 0) {
		mvc_error_clear();
		return 0; /* a new file */
	}
	if (mvc__tree_manifest(&f->pm, git, f->pft, f->path) < 0) {
		/* an unreadable parent is no reason to refuse a commit: store afresh */
		mvc_error_clear();
		return 0;
	}
	if ((e = git_tree_entry_byname(f->pft, "t")) &&
	    git_tree_lookup(&f->pt, git, git_tree_entry_id(e)) < 0)
		mvc_error_clear();
	return 0;
}

/* The same file in each extra parent, and its tensors that share our
 * chunk plan: a chunk equal to theirs at the same place is reused. */
static int open_alts(cfile *f, git_repository *git, git_commit *const *extra, size_t nextra)
{
	if (!nextra)
		return 0;
	if (!(f->alts = mvc__calloc(nextra, sizeof(*f->alts))))
		return MVC_ENOMEM;
	for (size_t a = 0; a < nextra; a++) {
		alt *x = &f->alts[f->nalts];
		git_tree *root = NULL;
		const git_tree_entry *e;

		if (git_commit_tree(&root, extra[a]) == 0 &&
		    mvc__file_tree(&x->ft, git, root, f->path) == 0 &&
		    mvc__tree_manifest(&x->m, git, x->ft, f->path) == 0 &&
		    (e = git_tree_entry_byname(x->ft, "t")) &&
		    git_tree_lookup(&x->t, git, git_tree_entry_id(e)) == 0) {
			f->nalts++;
		} else {
			git_tree_free(x->ft);
			mvc_manifest_free(x->m);
			memset(x, 0, sizeof(*x));
		}
		git_tree_free(root);
		mvc_error_clear(); /* an input without this file offers nothing to reuse */
	}
	return 0;
}

static int map_alts(cfile *f, git_repository *git)
{
	for (size_t a = 0; a < f->nalts; a++) {
		alt *x = &f->alts[a];

		if (!(x->tens = mvc__calloc(f->m->ntensors + 1, sizeof(*x->tens))) ||
		    !(x->idx = mvc__calloc(f->m->ntensors + 1, sizeof(*x->idx))))
			return MVC_ENOMEM;
		for (size_t i = 0; i < f->m->ntensors; i++) {
			long k = mvc_manifest_find(x->m, f->m->tensors[i].t.name);
			const git_tree_entry *e;
			char name[24];

			x->idx[i] = -1;
			if (k < 0 || x->m->tensors[k].chunk_size != f->m->tensors[i].chunk_size ||
			    x->m->tensors[k].t.size != f->m->tensors[i].t.size)
				continue;
			mvc__index_name(name, (uint64_t)k);
			if ((e = git_tree_entry_byname(x->t, name)) &&
			    git_tree_lookup(&x->tens[i], git, git_tree_entry_id(e)) == 0)
				x->idx[i] = k;
			mvc_error_clear();
		}
	}
	return 0;
}

/* Pass 1 for one file: parse, plan, hash. */
static int scan_file(cfile *f, mvc_state *st, git_repository *git, uint64_t chunk_size,
                     int rehash, mvc_format forced)
{
	mvc_state_entry *se = mvc__state_get(st, f->path);
	struct stat sb;
	int error;

	if (!rehash && !f->sourced && f->pm && mvc__state_fresh(se, f->fspath) &&
	    (forced == MVC_FORMAT_UNKNOWN || forced == f->pm->format) &&
	    !memcmp(se->digest, f->pm->digest, MVC_DIGEST_SIZE)) {
		f->unchanged = 1;
		f->tree = *git_tree_id(f->pft);
		return 0;
	}
	if ((f->fd = open(f->fspath, O_RDONLY | O_CLOEXEC)) < 0)
		return mvc__err_sys("cannot open '%s'", f->path);
	if (fstat(f->fd, &sb) < 0)
		return mvc__err_sys("cannot stat '%s'", f->path);
	if ((error = mvc__layout_read_for(&f->layout, f->fd, (uint64_t)sb.st_size, f->path, forced,
	         f->pm ? f->pm->format : MVC_FORMAT_UNKNOWN)) < 0 ||
	    (error = mvc__scan_plan(&f->m, f->layout, f->pm, chunk_size, f->fd, f->path)) < 0 ||
	    (error = mvc__scan_gaps(f->m, f->fd, f->path, &f->header)) < 0)
		return error;
	if (!(f->ptensor = mvc__calloc(f->m->ntensors + 1, sizeof(*f->ptensor))) ||
	    !(f->pidx = mvc__calloc(f->m->ntensors + 1, sizeof(*f->pidx))))
		return MVC_ENOMEM;
	for (size_t i = 0; i < f->m->ntensors; i++) {
		long pi = f->pm ? mvc_manifest_find(f->pm, f->m->tensors[i].t.name) : -1;
		char name[24];

		f->pidx[i] = -1;
		if (pi < 0 || !f->pt || f->pm->tensors[pi].chunk_size != f->m->tensors[i].chunk_size ||
		    !f->pm->tensors[pi].chunk_offsets != !f->m->tensors[i].chunk_offsets)
			continue;
		mvc__index_name(name, (uint64_t)pi);
		{
			const git_tree_entry *e = git_tree_entry_byname(f->pt, name);

			if (e && git_tree_lookup(&f->ptensor[i], git, git_tree_entry_id(e)) == 0)
				f->pidx[i] = pi;
			mvc_error_clear();
		}
	}
	return map_alts(f, git);
}

/* The parent's chain entries "<chunk>-<k>" of a reused chunk. */
static int copy_chain(job *j, const git_tree *pt, const char *cname)
{
	git_oid chain[MVC_DELTA_MAX_DEPTH];
	unsigned n = 0;

	for (unsigned k = 1; k <= MVC_DELTA_MAX_DEPTH; k++) {
		char name[40];
		const git_oid *id;

		snprintf(name, sizeof(name), "%s-%u", cname, k);
		if (!(id = entry_id(pt, name)))
			break;
		chain[n++] = *id;
	}
	if (!n)
		return 0;
	if (!(j->chain = mvc__calloc(n, sizeof(git_oid))))
		return MVC_ENOMEM;
	memcpy(j->chain, chain, n * sizeof(git_oid));
	j->nchain = (uint8_t)n;
	return 0;
}

static int cmp_cdc(const void *a, const void *b)
{
	const cdc_ent *x = a, *y = b;
	int r = memcmp(x->digest, y->digest, MVC_DIGEST_SIZE);

	return r ? r : x->tensor < y->tensor ? -1 : x->tensor > y->tensor;
}

/* The parent's content-defined chunks of f, sorted by digest: a chunk
 * of the new version equal to any of them (not only the one at the same
 * index) reuses its blob, which is how an insertion shares the rest. */
static int index_cdc(cfile *f)
{
	size_t n = 0;

	for (size_t i = 0; i < f->m->ntensors; i++)
		if (f->m->tensors[i].chunk_offsets && f->pidx[i] >= 0)
			n += (size_t)f->pm->tensors[f->pidx[i]].nchunks;
	if (!n)
		return 0;
	if (!(f->cdc = mvc__calloc(n, sizeof(*f->cdc))))
		return MVC_ENOMEM;
	for (size_t i = 0; i < f->m->ntensors; i++) {
		const mvc_manifest_tensor *pt;

		if (!f->m->tensors[i].chunk_offsets || f->pidx[i] < 0)
			continue;
		pt = &f->pm->tensors[f->pidx[i]];
		for (uint64_t k = 0; k < pt->nchunks; k++) {
			char cname[24];
			const git_oid *id;

			mvc__index_name(cname, k);
			if (!(id = entry_id(f->ptensor[i], cname)))
				continue;
			f->cdc[f->ncdc].digest = pt->chunk_digests + k * MVC_DIGEST_SIZE;
			f->cdc[f->ncdc].tensor = i;
			f->cdc[f->ncdc].chunk = k;
			f->cdc[f->ncdc++].oid = *id;
		}
	}
	qsort(f->cdc, f->ncdc, sizeof(*f->cdc), cmp_cdc);
	return 0;
}

/* On a worker, once a content-defined chunk is hashed: the parent's
 * chunk with its digest, if any, becomes the one to reuse. */
static void find_cdc(const cfile *f, job *j, const unsigned char *digest)
{
	cdc_ent key, *e;

	key.digest = digest;
	key.tensor = j->ref.tensor;
	if (!f->ncdc || !(e = bsearch(&key, f->cdc, f->ncdc, sizeof(*f->cdc), cmp_cdc)))
		return;
	j->has_parent = 1;
	j->parent = e->oid;
	j->parent_digest = e->digest;
	j->pchunk = e->chunk;
}

/* Set up one job per chunk, with the parent's chunk at the same place. */
static int plan_jobs(commit_ctx *c)
{
	size_t n = 0;
	int error = 0;

	for (size_t fi = 0; fi < c->nfiles; fi++) {
		cfile *f = &c->files[fi];
		mvc_chunk_ref *refs = NULL;
		size_t nrefs = 0;

		f->first_job = n;
		if (f->unchanged)
			continue;
		if ((error = index_cdc(f)) < 0 || (error = mvc__chunk_list(&refs, &nrefs, f->m)) < 0)
			return error;
		for (size_t k = 0; k < nrefs; k++, n++) {
			job *j = &c->jobs[n];
			const mvc_manifest_tensor *mt = &f->m->tensors[refs[k].tensor];
			long pi = f->pidx[refs[k].tensor];
			const mvc_manifest_tensor *pt = pi >= 0 ? &f->pm->tensors[pi] : NULL;
			const git_oid *pid;
			char cname[24];

			j->file = (uint32_t)fi;
			j->ref = refs[k];
			j->pchunk = refs[k].chunk;
			mvc__index_name(cname, refs[k].chunk);
			for (size_t a = 0; a < f->nalts; a++) {
				const alt *x = &f->alts[a];
				long xi = x->idx ? x->idx[refs[k].tensor] : -1;
				const git_oid *xid;

				/* same tensor size and chunk size: chunk k covers the same bytes */
				if (xi < 0 || !(xid = entry_id(x->tens[refs[k].tensor], cname)))
					continue;
				if (!j->cands && !(j->cands = mvc__calloc(f->nalts, sizeof(*j->cands))))
					return MVC_ENOMEM;
				j->cands[j->ncands].digest = x->m->tensors[xi].chunk_digests +
				    refs[k].chunk * MVC_DIGEST_SIZE;
				j->cands[j->ncands].oid = *xid;
				j->cands[j->ncands++].alt = (uint32_t)a;
			}
			if (mt->chunk_offsets)
				continue;  /* matched by digest once hashed (find_cdc) */
			if (!pt || refs[k].chunk >= pt->nchunks ||
			    !(pid = entry_id(f->ptensor[refs[k].tensor], cname)))
				continue;
			/* the same rows: same index, and the same length */
			if (pt->t.size - refs[k].chunk * pt->chunk_size <
			        (uint64_t)refs[k].len ||
			    (refs[k].chunk + 1 == pt->nchunks) != (refs[k].chunk + 1 == mt->nchunks))
				continue;
			j->has_parent = 1;
			j->parent = *pid;
			j->parent_digest = pt->chunk_digests + refs[k].chunk * MVC_DIGEST_SIZE;
		}
		free(refs);
	}
	return 0;
}

static unsigned chunk_flags(mvc_dtype dt)
{
	switch (dt) {
	case MVC_DTYPE_F16: case MVC_DTYPE_BF16: case MVC_DTYPE_F32: case MVC_DTYPE_F64:
	case MVC_DTYPE_C64:
		return MVC_CHUNK_ROTATE;
	default:
		return 0;
	}
}

/* Encode a changed chunk against the parent's, if that reads back. */
static int encode_delta(commit_ctx *c, job *j, tctx *t, slot *s, const unsigned char **enc,
                        size_t *enclen, unsigned w, unsigned flags)
{
	git_oid chain[MVC_DELTA_MAX_DEPTH];
	unsigned nchain = 0, depth;
	unsigned char pd[MVC_DIGEST_SIZE];
	const unsigned char *base = t->base;
	const git_oid *base_id = &j->parent;
	size_t dl;
	int error;

	if (mvc__chunk_load(c->odb, t->codec, &j->parent, t->base, j->ref.len, chain, &nchain,
	        t->key) < 0) {
		mvc_error_clear(); /* the parent does not read back: store this chunk whole */
		return 0;
	}
	mvc_blake2b(pd, t->base, j->ref.len);
	if (memcmp(pd, j->parent_digest, MVC_DIGEST_SIZE))
		return 0;
	depth = nchain + 1;
	if (depth > MVC_DELTA_MAX_DEPTH) {
		/* too deep: code against the chain's full chunk */
		base = t->key;
		base_id = &chain[nchain - 1];
		depth = 1;
		s->chain[0] = *base_id;
	} else {
		s->chain[0] = j->parent;
		memcpy(s->chain + 1, chain, nchain * sizeof(git_oid));
	}
	s->nchain = depth;
	if ((error = mvc_codec_encode_delta(t->codec, enc, enclen, t->raw, base, j->ref.len, w,
	         flags, base_id->id, depth)) < 0)
		return error;
	if ((double)*enclen < DELTA_CHECK_SHARE * (double)j->ref.len)
		return 0;
	/* a poor delta: keep it only if the chunk alone is no smaller */
	dl = *enclen;
	if ((error = mvc_codec_encode(t->codec, enc, enclen, t->raw, j->ref.len, w, flags)) < 0)
		return error;
	if (*enclen <= dl) {
		s->nchain = 0;
		return 0;
	}
	return mvc_codec_encode_delta(t->codec, enc, enclen, t->raw, base, j->ref.len, w, flags,
	    base_id->id, depth);
}

/* On a worker: hash one chunk; unless the parent has it, encode it. */
static int chunk_work(void *p, size_t item, unsigned thread)
{
	commit_ctx *c = p;
	job *j = &c->jobs[item];
	cfile *f = &c->files[j->file];
	tctx *t = &c->threads[thread];
	slot *s = &c->slots[item % c->window];
	const mvc_manifest_tensor *mt = &f->m->tensors[j->ref.tensor];
	unsigned char *digest = mt->chunk_digests + j->ref.chunk * MVC_DIGEST_SIZE;
	unsigned w = mvc_dtype_plane_width(mt->t.dtype), flags = chunk_flags(mt->t.dtype);
	const unsigned char *enc = NULL;
	size_t enclen = 0;
	int error;

	s->nchain = 0;
	s->reused = 0;
	s->entry.len = 0;
	if ((error = mvc_read_at(f->fd, t->raw, j->ref.len, j->ref.offset, f->path)) < 0)
		return error;
	mvc_blake2b(digest, t->raw, j->ref.len);
	if (mt->chunk_offsets)
		find_cdc(f, j, digest);
	if (j->has_parent && !memcmp(digest, j->parent_digest, MVC_DIGEST_SIZE)) {
		s->reused = 1;
		return 0;
	}
	for (uint32_t k = 0; k < j->ncands; k++)
		if (!memcmp(digest, j->cands[k].digest, MVC_DIGEST_SIZE)) {
			s->reused = 2 + (int)k;
			return 0;
		}
	if (j->has_parent && (error = encode_delta(c, j, t, s, &enc, &enclen, w, flags)) < 0)
		return error;
	if (!enc && (error = mvc_codec_encode(t->codec, &enc, &enclen, t->raw, j->ref.len, w,
	                 flags)) < 0)
		return error;
	s->stored = enclen;
	return mvc__pack_entry_make(&s->entry, GIT_OBJECT_BLOB, enc, enclen, 0);
}

/* In chunk order: reuse, deduplicate, or append to the pack. */
static int chunk_done(void *p, size_t item)
{
	commit_ctx *c = p;
	job *j = &c->jobs[item];
	cfile *f = &c->files[j->file];
	slot *s = &c->slots[item % c->window];
	const unsigned char *digest =
	    f->m->tensors[j->ref.tensor].chunk_digests + j->ref.chunk * MVC_DIGEST_SIZE;
	size_t dup;
	int error;

	c->done_bytes += j->ref.len;
	if (c->opts->progress)
		c->opts->progress(c->done_bytes, c->total_bytes, c->opts->progress_payload);
	if (s->reused) {
		char cname[24];
		const git_tree *from = f->ptensor[j->ref.tensor];

		j->kind = CHUNK_REUSE;
		j->oid = j->parent;
		if (s->reused >= 2) {
			/* an extra parent's chunk: reused, but not the parent's subtree */
			const cand *k = &j->cands[s->reused - 2];

			j->kind = CHUNK_ALT;
			j->oid = k->oid;
			from = f->alts[k->alt].tens[j->ref.tensor];
		}
		mvc__index_name(cname, s->reused >= 2 ? j->ref.chunk : j->pchunk);
		if ((error = copy_chain(j, from, cname)) < 0)
			return error;
		return seen_insert(&c->seen, digest, item);
	}
	if ((dup = seen_find_or_add(&c->seen, digest, item, &error)) != SIZE_MAX) {
		/* stored by this commit already (identical chunks anywhere) */
		j->kind = CHUNK_DUP;
		j->dup_of = dup;
		return 0;
	}
	if (error < 0)
		return error;
	j->kind = CHUNK_NEW;
	j->oid = s->entry.oid;
	/* already stored (a retried commit, a version seen before): not again.
	 * It stays CHUNK_NEW for the tree: it is not the parent's chunk. */
	if (!git_odb_exists_ext(c->odb, &s->entry.oid, GIT_ODB_LOOKUP_NO_REFRESH)) {
		if (!c->pack && (error = mvc__pack_open(&c->pack, c->store)) < 0)
			return error;
		if ((error = mvc__pack_append(c->pack, &s->entry)) < 0)
			return error;
		c->stats->chunks_written++;
		c->stats->bytes_stored += s->stored;
	}
	if (s->nchain) {
		if (!(j->chain = mvc__calloc(s->nchain, sizeof(git_oid))))
			return MVC_ENOMEM;
		memcpy(j->chain, s->chain, s->nchain * sizeof(git_oid));
		j->nchain = (uint8_t)s->nchain;
	}
	return 0;
}

static int store_chunks(commit_ctx *c)
{
	uint64_t maxchunk = 1;
	int error;

	if (c->njobs == 0)
		return 0;
	for (size_t i = 0; i < c->njobs; i++) {
		if (c->jobs[i].ref.len > maxchunk)
			maxchunk = c->jobs[i].ref.len;
		c->total_bytes += c->jobs[i].ref.len;
	}
	c->nthreads = mvc__pool_threads();
	if (c->nthreads > c->njobs)
		c->nthreads = (unsigned)c->njobs;
	c->window = 2 * (size_t)c->nthreads + 2;
	if (!(c->threads = mvc__calloc(c->nthreads, sizeof(*c->threads))) ||
	    !(c->slots = mvc__calloc(c->window, sizeof(*c->slots))))
		return MVC_ENOMEM;
	for (unsigned t = 0; t < c->nthreads; t++) {
		tctx *x = &c->threads[t];

		if ((error = mvc_codec_new(&x->codec)) < 0)
			return error;
		if (!(x->raw = mvc__malloc((size_t)maxchunk)) ||
		    !(x->base = mvc__malloc((size_t)maxchunk)) ||
		    !(x->key = mvc__malloc((size_t)maxchunk)))
			return MVC_ENOMEM;
	}
	if ((error = mvc__pool_run(c->njobs, c->nthreads, c->window, chunk_work, chunk_done, c)) < 0)
		return error;
	for (size_t i = 0; i < c->nfiles; i++)
		if (!c->files[i].unchanged)
			mvc_manifest_seal(c->files[i].m);
	return c->pack ? mvc__pack_finish(c->pack, c->odb) : 0;
}

/* Build and collect the trees of every changed file. */
static int build_trees(commit_ctx *c, mvc_objset *set)
{
	mvc_tree_ent *ents = NULL;
	size_t cap = 0;
	mvc_buf b = MVC_BUF_INIT;
	int error = 0;

	for (size_t fi = 0; fi < c->nfiles && !error; fi++) {
		cfile *f = &c->files[fi];
		mvc_tree_ent *tents = NULL, fents[3];
		size_t nt = 0, jn = f->first_job;
		char *text = NULL;
		size_t textlen;

		if (f->unchanged)
			continue;
		if (!(tents = mvc__calloc(f->m->ntensors + 1, sizeof(*tents)))) {
			error = MVC_ENOMEM;
			break;
		}
		for (size_t i = 0; i < f->m->ntensors && !error; i++) {
			const mvc_manifest_tensor *mt = &f->m->tensors[i];
			size_t n = 0;
			bool all_reused = f->ptensor[i] != NULL &&
			    f->pm->tensors[f->pidx[i]].nchunks == mt->nchunks;

			if (!mt->nchunks)
				continue;
			for (uint64_t k = 0; k < mt->nchunks; k++) {
				job *j = &c->jobs[jn + k];
				size_t need = n + 1 + MVC_DELTA_MAX_DEPTH;

				if (j->kind == CHUNK_DUP) {
					job *o = &c->jobs[j->dup_of];

					j->oid = o->oid;
					if (o->nchain && !j->chain) {
						if (!(j->chain = mvc__calloc(o->nchain, sizeof(git_oid)))) {
							error = MVC_ENOMEM;
							break;
						}
						memcpy(j->chain, o->chain, o->nchain * sizeof(git_oid));
						j->nchain = o->nchain;
					}
				}
				all_reused &= j->kind == CHUNK_REUSE && j->pchunk == k;
				if (need > cap) {
					mvc_tree_ent *ne = realloc(ents, (cap = need * 2) * sizeof(*ents));

					if (!ne) {
						error = mvc__err(MVC_ENOMEM, "out of memory");
						break;
					}
					ents = ne;
				}
				mvc__index_name(ents[n].name, k);
				ents[n].mode = 0100644;
				ents[n++].oid = j->oid;
				for (unsigned q = 0; q < j->nchain; q++) {
					snprintf(ents[n].name, sizeof(ents[n].name), "%06llu-%u",
					    (unsigned long long)k, q + 1);
					ents[n].mode = 0100644;
					ents[n++].oid = j->chain[q];
				}
			}
			jn += (size_t)mt->nchunks;
			if (error)
				break;
			mvc__index_name(tents[nt].name, i);
			tents[nt].mode = 040000;
			if (all_reused) {
				tents[nt++].oid = *git_tree_id(f->ptensor[i]);
				c->stats->tensors_reused++;
				continue;
			}
			b.len = 0;
			if ((error = mvc__tree_serialize(&b, ents, n)) < 0 ||
			    (error = mvc__objset_add(set, &tents[nt++].oid, GIT_OBJECT_TREE, b.ptr, b.len)) < 0)
				break;
		}
		/* the file tree: MANIFEST, header and (unless empty) t */
		if (!error) {
			size_t nf = 0;

			b.len = 0;
			if (nt) {
				snprintf(fents[nf].name, sizeof(fents[nf].name), "t");
				fents[nf].mode = 040000;
				if ((error = mvc__tree_serialize(&b, tents, nt)) < 0 ||
				    (error = mvc__objset_add(set, &fents[nf++].oid, GIT_OBJECT_TREE, b.ptr,
				         b.len)) < 0)
					goto next;
			}
			snprintf(fents[nf].name, sizeof(fents[nf].name), "header");
			fents[nf].mode = 0100644;
			if ((error = mvc__objset_add(set, &fents[nf++].oid, GIT_OBJECT_BLOB,
			         f->header.ptr ? f->header.ptr : "", f->header.len)) < 0)
				goto next;
			snprintf(fents[nf].name, sizeof(fents[nf].name), "MANIFEST");
			fents[nf].mode = 0100644;
			if ((error = mvc_manifest_write(&text, &textlen, f->m)) < 0 ||
			    (error = mvc__objset_add(set, &fents[nf++].oid, GIT_OBJECT_BLOB, text,
			         textlen)) < 0)
				goto next;
			b.len = 0;
			if ((error = mvc__tree_serialize(&b, fents, nf)) < 0)
				goto next;
			error = mvc__objset_add(set, &f->tree, GIT_OBJECT_TREE, b.ptr, b.len);
		}
next:
		free(text);
		free(tents);
		c->stats->files++;
		c->stats->tensors += f->m->ntensors;
		c->stats->bytes_raw += f->m->file_size;
	}
	free(ents);
	mvc_buf_free(&b);
	return error;
}

/* The current version (if any) followed by the extra parents. */
static int lookup_parents(git_commit ***out, size_t *n, git_repository *git, git_commit *head,
                          const mvc_commit_options *o)
{
	git_commit **p = mvc__calloc(o->nextra_parents + 2, sizeof(*p));

	*out = p;
	*n = 0;
	if (!p)
		return MVC_ENOMEM;
	if (head)
		p[(*n)++] = head;
	for (size_t i = 0; i < o->nextra_parents; i++) {
		git_oid id;
		char hex[MVC_OID_HEXSZ + 1];

		mvc__oid_to_git(&id, &o->extra_parents[i]);
		if (git_commit_lookup(&p[*n], git, &id) < 0) {
			mvc_oid_fmt(hex, &o->extra_parents[i]);
			return mvc__err_git(MVC_ENOTFOUND, "parent %s is not a version", hex);
		}
		(*n)++;
	}
	return 0;
}

int mvc_commit(mvc_oid *out, mvc_commit_stats *stats, mvc_repo *repo,
               const char *const *paths, size_t npaths, const mvc_commit_options *opts)
{
	git_repository *git = mvc__repo_git(repo);
	mvc_commit_stats local_stats;
	commit_ctx c;
	git_commit *parent = NULL;
	git_tree *root = NULL, *newroot = NULL;
	git_tree_update *updates = NULL;
	git_reference *head = NULL;
	git_signature *sig = NULL;
	git_oid treeid, commitid;
	mvc_objset *set = NULL;
	git_commit **parents = NULL;
	size_t nparents = 0;
	char **tracked = NULL, *refname = NULL;
	const char *const *todo = paths;
	size_t ntracked = 0, ntodo = npaths, nchunks = 0;
	mvc_buf msg = MVC_BUF_INIT;
	mvc_state state;
	uint64_t chunk_size;
	int64_t started = mvc__now_ns();
	int error, unborn;

	memset(&c, 0, sizeof(c));
	memset(&state, 0, sizeof(state));
	if (!stats)
		stats = &local_stats;
	memset(stats, 0, sizeof(*stats));
	c.stats = stats;
	c.git = git;
	c.opts = opts;
	if (!opts || opts->version != MVC_COMMIT_OPTIONS_VERSION)
		return mvc__err(MVC_EINVALID, "bad commit options version");
	for (size_t i = 0; i < opts->nmeta; i++)
		if ((error = check_meta(opts->meta[i])) < 0)
			return error;
	if ((error = build_message(&msg, opts)) < 0 ||
	    (opts->signing_key && (error = mvc__sign_message_check(msg.ptr)) < 0) ||
	    (error = mvc_repo_chunk_size(&chunk_size, repo)) < 0)
		goto done;

	/* HEAD: the branch to move and the parent version */
	unborn = git_repository_head_unborn(git) == 1;
	if (git_reference_lookup(&head, git, "HEAD") < 0) {
		error = mvc__err_git(MVC_ERROR, "cannot read HEAD");
		goto done;
	}
	refname = mvc__strdup(git_reference_type(head) == GIT_REFERENCE_SYMBOLIC
	                          ? git_reference_symbolic_target(head) : "HEAD");
	if (!refname) {
		error = MVC_ENOMEM;
		goto done;
	}
	if (!unborn) {
		if ((error = mvc__resolve(&parent, git, "HEAD")) < 0)
			goto done;
		if (git_commit_tree(&root, parent) < 0) {
			error = mvc__err_git(MVC_ECORRUPT, "cannot read the current version");
			goto done;
		}
		if ((error = mvc__tree_files(&tracked, &ntracked, git, root)) < 0)
			goto done;
	}
	if (opts->expected_parent) {
		mvc_oid cur;

		if (parent)
			mvc__oid_from_git(&cur, git_commit_id(parent));
		if (!parent || memcmp(cur.id, opts->expected_parent->id, sizeof(cur.id))) {
			error = mvc__err(MVC_ECONFLICT,
			    "'%s' moved since the work started (another commit?); nothing was changed",
			    refname);
			goto done;
		}
	}
	if ((error = lookup_parents(&parents, &nparents, git, parent, opts)) < 0)
		goto done;
	if (ntodo == 0) {
		if (ntracked == 0) {
			error = mvc__err(MVC_EINVALID, "nothing tracked yet: name the model files to commit");
			goto done;
		}
		todo = (const char *const *)tracked;
		ntodo = ntracked;
	}
	for (size_t i = 0; i < ntodo; i++)
		for (size_t j = 0; j < i; j++)
			if (!strcmp(todo[i], todo[j])) {
				error = mvc__err(MVC_EINVALID, "'%s' is named twice", todo[i]);
				goto done;
			}
	/* every file must parse before the first object is written */
	if (opts->sources && todo != paths) {
		error = mvc__err(MVC_EINVALID, "sources need the paths they stand for");
		goto done;
	}
	for (size_t i = 0; i < ntodo; i++)
		if ((error = validate(repo, todo[i], opts->sources ? opts->sources[i] : NULL,
		         opts->format, stored_format(git, root, todo[i]))) < 0)
			goto done;
	if ((error = mvc__state_load(&state, repo)) < 0)
		goto done;
	if (git_repository_odb(&c.odb, git) < 0) {
		error = mvc__err_git(MVC_ERROR, "cannot open the object database");
		goto done;
	}

	if (!(c.files = mvc__calloc(ntodo, sizeof(*c.files)))) {
		error = MVC_ENOMEM;
		goto done;
	}
	c.nfiles = ntodo;
	for (size_t i = 0; i < ntodo; i++) {
		cfile *f = &c.files[i];
		mvc_buf fs = MVC_BUF_INIT;

		f->fd = -1;
		f->path = todo[i];
		f->sourced = opts->sources && opts->sources[i];
		if ((error = f->sourced ? mvc_buf_puts(&fs, opts->sources[i])
		                        : mvc_buf_printf(&fs, "%s/%s", mvc_repo_workdir(repo), todo[i])) < 0)
			goto done;
		f->fspath = mvc_buf_detach(&fs);
		if ((error = open_parent(f, git, root)) < 0 ||
		    (error = open_alts(f, git, parents + (parent != NULL),
		         nparents - (parent != NULL))) < 0 ||
		    (error = scan_file(f, &state, git, chunk_size, opts->rehash, opts->format)) < 0)
			goto done;
		if (!f->unchanged)
			for (size_t t = 0; t < f->m->ntensors; t++)
				nchunks += (size_t)f->m->tensors[t].nchunks;
	}
	stats->chunks = nchunks;
	if (!(c.jobs = mvc__calloc(nchunks + 1, sizeof(*c.jobs)))) {
		error = MVC_ENOMEM;
		goto done;
	}
	c.njobs = nchunks;
	c.store = mvc_repo_path(repo);
	/* the chunks, then the small objects */
	if ((error = plan_jobs(&c)) < 0 ||
	    (error = store_chunks(&c)) < 0 ||
	    (error = mvc__objset_new(&set)) < 0 ||
	    (error = build_trees(&c, set)) < 0 ||
	    (error = mvc__objset_write(set, mvc_repo_path(repo), c.odb)) < 0)
		goto done;
	for (size_t i = 0; i < ntodo; i++)
		if (c.files[i].unchanged) {
			stats->files++;
			stats->bytes_raw += c.files[i].pm->file_size;
			stats->tensors += c.files[i].pm->ntensors;
			stats->tensors_reused += c.files[i].pm->ntensors;
		}

	if (!(updates = mvc__calloc(ntodo, sizeof(*updates)))) {
		error = MVC_ENOMEM;
		goto done;
	}
	for (size_t i = 0; i < ntodo; i++) {
		updates[i].action = GIT_TREE_UPDATE_UPSERT;
		updates[i].id = c.files[i].tree;
		updates[i].filemode = GIT_FILEMODE_TREE;
		updates[i].path = todo[i];
	}
	if (git_tree_create_updated(&treeid, git, root, ntodo, updates) < 0) {
		error = mvc__err_git(MVC_EINVALID, "cannot build the version's tree");
		goto done;
	}
	if (root && git_oid_equal(&treeid, git_tree_id(root)) && !opts->allow_empty &&
	    !opts->nextra_parents) {
		error = mvc__err(MVC_EUNCHANGED, "nothing to commit: the files equal the current version");
		goto remember; /* the files were hashed: remember that they are clean */
	}
	if (git_tree_lookup(&newroot, git, &treeid) < 0 || mvc__signature(&sig, git) < 0) {
		error = mvc__err_git(MVC_ERROR, "cannot prepare the version");
		goto done;
	}
	if ((error = mvc__commit_write(&commitid, git, opts->signing_key, sig, sig, msg.ptr, newroot,
	         nparents, (const git_commit **)parents, "the version")) < 0)
		goto done;
	/* the candidate exists; a hook may still refuse it (nothing moved yet) */
	if (opts->before_ref_update) {
		mvc_oid candidate;

		mvc__oid_from_git(&candidate, &commitid);
		if ((error = opts->before_ref_update(&candidate, opts->before_ref_update_payload)) < 0)
			goto done;
	}
	{
		git_reference *ref = NULL;
		const char *log = unborn ? "mvc commit (initial)" : "mvc commit";
		int rc;

		if (unborn)
			rc = git_reference_create(&ref, git, refname, &commitid, 0, log);
		else
			rc = git_reference_create_matching(&ref, git, refname, &commitid, 1,
			    git_commit_id(parent), log);
		git_reference_free(ref);
		if (rc == GIT_EEXISTS || rc == GIT_EMODIFIED || rc == GIT_ELOCKED) {
			error = mvc__err(MVC_ECONFLICT,
			    "'%s' moved while committing (another commit?); nothing was changed", refname);
			goto done;
		}
		if (rc < 0) {
			error = mvc__err_git(MVC_EIO, "cannot update '%s'", refname);
			goto done;
		}
	}
	if (out)
		mvc__oid_from_git(out, &commitid);
remember:
	for (size_t i = 0; i < ntodo; i++) {
		cfile *f = &c.files[i];
		mvc_oid v;

		if (f->unchanged || f->sourced)
			continue;
		mvc__oid_from_git(&v, error == MVC_EUNCHANGED ? git_commit_id(parent) : &commitid);
		mvc__state_set(&state, todo[i], f->fspath, f->m->digest, &v, started);
	}
	mvc__state_save(&state, repo);
done:
	for (size_t i = 0; c.files && i < c.nfiles; i++)
		free_file(&c.files[i]);
	free(c.files);
	for (size_t i = 0; c.jobs && i < c.njobs; i++) {
		free(c.jobs[i].chain);
		free(c.jobs[i].cands);
	}
	free(c.jobs);
	free(c.seen.slots);
	for (size_t i = 0; c.slots && i < c.window; i++)
		mvc__pack_entry_free(&c.slots[i].entry);
	free(c.slots);
	for (unsigned t = 0; c.threads && t < c.nthreads; t++) {
		mvc_codec_free(c.threads[t].codec);
		free(c.threads[t].raw);
		free(c.threads[t].base);
		free(c.threads[t].key);
	}
	free(c.threads);
	mvc__pack_free(c.pack);
	mvc__objset_free(set);
	/* parents[0] is `parent` itself when there is one */
	for (size_t i = parent ? 1 : 0; parents && i < nparents; i++)
		git_commit_free(parents[i]);
	free(parents);
	git_odb_free(c.odb);
	free(updates);
	mvc__state_free(&state);
	mvc_strings_free(tracked, ntracked);
	git_signature_free(sig);
	git_reference_free(head);
	git_tree_free(newroot);
	git_tree_free(root);
	git_commit_free(parent);
	free(refname);
	mvc_buf_free(&msg);
	return error;
}
