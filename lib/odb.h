#ifndef MVC_ODB_H
#define MVC_ODB_H
/*
 * A guard in front of libgit2's object database (lib/odb.c): damaged
 * objects are refused with a message instead of sending libgit2 1.5.1
 * into a loop that never ends.
 */
#include "internal.h"

/*
 * Add the guard to `git`'s object database, ahead of libgit2's own
 * backends.  `objdir` is the objects directory libgit2 reads (for a
 * repository opened from git's environment, GIT_OBJECT_DIRECTORY);
 * `alternates` the extra directories of GIT_ALTERNATE_OBJECT_DIRECTORIES
 * (colon-separated) or NULL.  Alternates named in info/alternates are
 * followed as libgit2 follows them.
 */
int mvc__odb_guard(git_repository *git, const char *objdir, const char *alternates);

/*
 * Inflate a loose object file held in memory ("<type> <size>\0" and the
 * body, one zlib stream), every length checked.  With `body` NULL only
 * the header is read.  The body (size + 1 bytes, NUL-terminated) comes
 * from `alloc` (and goes back through `release` on failure).  0, or -1
 * with *why saying what is wrong.
 */
int mvc__loose_inflate(const unsigned char *in, size_t inlen, git_object_t *type, size_t *size,
                       void **body, void *(*alloc)(size_t n, void *ctx),
                       void (*release)(void *p, void *ctx), void *ctx, const char **why);

/* The longest chain of deltas a packed object may have (git writes at
 * most 4095). */
#define MVC_PACK_MAX_DEPTH 10000

/*
 * Is `idx` (len bytes) a pack index v2 that can be searched without
 * reading out of bounds?  0 and the object count, or -1.
 */
int mvc__pack_idx_check(const unsigned char *idx, size_t len, uint32_t *count);

/* Reads up to `n` bytes of a pack at `off`; returns how many it read. */
typedef size_t (*mvc_pack_read_fn)(void *ctx, uint64_t off, unsigned char *buf, size_t n);

/*
 * Follow the delta chain of the object at `offset` of a pack of `packlen`
 * bytes (read through `rd`; `idx` its checked index) as libgit2 1.5.1
 * would.  0 when the chain ends (in a whole object, or in damage libgit2
 * itself reports); -1 with *why when libgit2 would never return.
 */
int mvc__pack_chain_check(const unsigned char *idx, size_t idxlen, mvc_pack_read_fn rd,
                          void *ctx, uint64_t packlen, uint64_t offset, const char **why);

/* The offset of `oid` in a checked index, or -1. */
int64_t mvc__pack_idx_find(const unsigned char *idx, size_t idxlen, const unsigned char oid[20]);

#endif
