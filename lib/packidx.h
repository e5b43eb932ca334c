#ifndef MVC_PACKIDX_H
#define MVC_PACKIDX_H
/*
 * The object database read as files: pack indexes (idx v2) and loose
 * objects, for what libgit2 1.5.1 does not tell: where an object is
 * stored and how many bytes it takes there (du), and which packs to
 * rewrite (prune).  Plus a hash map keyed by object id.
 *
 * In an index, objects are sorted by id; sorted by offset instead, each
 * object's entry runs up to the next one's offset (the last one's up to
 * the pack's 20-byte trailer), which is its size as stored: header,
 * zlib stream and, for a git delta, the base reference.
 */
#include "internal.h"

typedef struct mvc_packidx {
	char *base;              /* ".../objects/pack/pack-<hash>", without extension */
	unsigned char *map;      /* the .idx, mapped read-only */
	size_t maplen;
	uint32_t count;
	const unsigned char *oids, *crcs, *off32, *off64;
	size_t n64;
	uint64_t pack_size;      /* bytes of the .pack */
	uint64_t idx_size;
	int64_t mtime;           /* of the .pack, seconds */
	uint64_t *sorted;        /* every entry's offset, ascending */
	int promisor;            /* a .promisor file is beside it */
	int keep;                /* a .keep file is beside it */
} mvc_packidx;

typedef struct mvc_odbfiles {
	char *objdir;
	size_t npacks;
	mvc_packidx *packs;
} mvc_odbfiles;

/* Map every pack index under `objdir`/pack.  An index that is damaged
 * or does not match its pack is skipped (libgit2 would not use it). */
int mvc__odbfiles_open(mvc_odbfiles **out, const char *objdir);
void mvc__odbfiles_free(mvc_odbfiles *f);

/* Index of `id` in pack `p`: 1 and *i set when present, else 0. */
int mvc__packidx_find(uint32_t *i, const mvc_packidx *p, const git_oid *id);
void mvc__packidx_oid(git_oid *out, const mvc_packidx *p, uint32_t i);
uint64_t mvc__packidx_offset(const mvc_packidx *p, uint32_t i);
/* The entry's bytes in the pack, from its offset. */
uint64_t mvc__packidx_entry_size(const mvc_packidx *p, uint64_t offset);

/*
 * Where `id` is stored: 1 when found, with *size its bytes as stored and
 * *pack the index of its pack in f->packs (SIZE_MAX for a loose object);
 * 0 when neither a pack of `f` nor a loose file holds it.
 */
int mvc__odbfiles_find(uint64_t *size, size_t *pack, const mvc_odbfiles *f, const git_oid *id);

/* The path of loose object `id` under `objdir`. */
int mvc__loose_path(mvc_buf *out, const char *objdir, const git_oid *id);

/* ---- object id -> two numbers, open addressing ---- */

typedef struct mvc_oidval {
	uint64_t a, b;
} mvc_oidval;

typedef struct mvc_oidmap {
	size_t cap, count;
	git_oid *keys;
	mvc_oidval *vals;
	unsigned char *used;
} mvc_oidmap;

/* 1 if `id` was added (with `v`), 0 if it was there (unchanged); <0 on error. */
int mvc__oidmap_put(mvc_oidmap *m, const git_oid *id, mvc_oidval v);
/* The value of `id`, or NULL. */
mvc_oidval *mvc__oidmap_get(const mvc_oidmap *m, const git_oid *id);
void mvc__oidmap_free(mvc_oidmap *m);

#endif
