#ifndef MVC_PACK_H
#define MVC_PACK_H
/*
 * Writing git objects straight into a packfile with its .idx, instead of
 * one zlib-compressed loose file each.  Chunk payloads are already zstd
 * output, so their zlib streams use "stored" blocks: no zlib work but the
 * Adler-32.  Entries are prepared on worker threads (object id, zlib
 * framing, CRC-32) and appended in order on one thread; the object count
 * is patched into the header at the end, and the pack's SHA-1 computed
 * then in one pass over the page cache.
 */
#include "internal.h"

typedef struct mvc_pack_entry {
	git_oid oid;
	unsigned char *buf;     /* the entry as it goes into the pack */
	size_t len, cap;
	uint32_t crc;
} mvc_pack_entry;

/* Frame an object (blob or tree): thread-safe, touches no pack state.
 * `deflate` compresses with zlib (for small, compressible objects). */
int mvc__pack_entry_make(mvc_pack_entry *e, git_object_t type, const void *data, size_t len,
                         int deflate);
void mvc__pack_entry_free(mvc_pack_entry *e);

/* Object id of `data` as a git object of `type` (SHA-1, OpenSSL). */
int mvc__object_id(git_oid *out, git_object_t type, const void *data, size_t len);

typedef struct mvc_pack mvc_pack;

/* Start a pack in `store`/objects/pack. */
int mvc__pack_open(mvc_pack **out, const char *store);
int mvc__pack_append(mvc_pack *p, const mvc_pack_entry *e);
uint32_t mvc__pack_count(const mvc_pack *p);
/* Write the trailer and the index, make both durable and visible, and
 * refresh `odb` so that libgit2 sees the new objects. */
int mvc__pack_finish(mvc_pack *p, git_odb *odb);
/* The finished pack's path without its extension (".../pack-<hash>"),
 * or NULL before mvc__pack_finish() succeeded. */
const char *mvc__pack_path(const mvc_pack *p);
/* Free; an unfinished pack's temporary files are removed. */
void mvc__pack_free(mvc_pack *p);

/*
 * A set of small objects (trees, manifests) collected in memory and
 * written as one pack, skipping objects the store already has.
 */
typedef struct mvc_objset mvc_objset;
int mvc__objset_new(mvc_objset **out);
int mvc__objset_add(mvc_objset *s, git_oid *out, git_object_t type, const void *data, size_t len);
int mvc__objset_write(mvc_objset *s, const char *store, git_odb *odb);
void mvc__objset_free(mvc_objset *s);

/* A tree entry and serialisation in git's order and format. */
typedef struct mvc_tree_ent {
	char name[40];
	unsigned mode;          /* 0100644 or 040000 */
	git_oid oid;
} mvc_tree_ent;
int mvc__tree_serialize(mvc_buf *out, mvc_tree_ent *ents, size_t n);

#endif
