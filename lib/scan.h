#ifndef MVC_SCAN_H
#define MVC_SCAN_H
/* Reading a model file into a manifest: chunk plan, then digests. */
#include "internal.h"

/*
 * Plan the chunks of `layout`: a tensor whose name, dtype and size match
 * a tensor of `ref` keeps ref's chunk size (so chunk i of two versions
 * covers the same rows); others are cut into whole rows of about
 * `chunk_size` bytes (a row larger than that is cut at element
 * boundaries).  Digests are left zero.
 */
int mvc__scan_plan(mvc_manifest **out, const mvc_layout *layout, const mvc_manifest *ref,
                   uint64_t chunk_size, int fd, const char *what);
/* (An opaque file's tensor is cut into content-defined chunks, lib/cdc.h:
 * that reads the file on `fd`; other formats never read it here.) */

/*
 * Parse a file the way mvc stores it: as `forced` when that is given
 * (--format); else by content, except that a file stored in a format mvc
 * parses (`stored`) that now parses as nothing is refused
 * (MVC_EUNSUPPORTED), not stored as bytes, and that a file stored as
 * opaque that looks like a model file but fails to parse stays opaque.
 */
int mvc__layout_read_for(mvc_layout **out, int fd, uint64_t size, const char *what,
                         mvc_format forced, mvc_format stored);

/*
 * Read the file on `fd` following the plan `m`: fill in every digest (on
 * all cores) and seal the manifest.  The non-tensor bytes are appended to
 * `header` when it is not NULL.
 */
int mvc__scan_read(mvc_manifest *m, int fd, const char *what, mvc_buf *header);

/* Only the non-tensor bytes: the header digest, and the bytes into
 * `header` when it is not NULL. */
int mvc__scan_gaps(mvc_manifest *m, int fd, const char *what, mvc_buf *header);

/* Every chunk of a manifest, in file order. */
typedef struct mvc_chunk_ref {
	size_t tensor;
	uint64_t chunk;
	uint64_t offset;      /* in the file */
	size_t len;
} mvc_chunk_ref;
int mvc__chunk_list(mvc_chunk_ref **out, size_t *count, const mvc_manifest *m);

/* Open, parse (as mvc__layout_read_for() with ref's format) and hash the
 * file at `fspath` (plan, then read). */
int mvc__scan_file(mvc_manifest **out, const char *fspath, const char *what,
                   const mvc_manifest *ref, uint64_t chunk_size);
/* The same, read as `forced` when that is not MVC_FORMAT_UNKNOWN. */
int mvc__scan_file_as(mvc_manifest **out, const char *fspath, const char *what,
                      const mvc_manifest *ref, uint64_t chunk_size, mvc_format forced);

/* Working-file records kept in the store (.mvc/mvc-state): what each
 * tracked file was when mvc last wrote or hashed it. */
typedef struct mvc_state_entry {
	char *path;
	uint64_t size, ino;
	int64_t mtime_ns;
	int64_t ctime_ns;
	unsigned char digest[MVC_DIGEST_SIZE];
	mvc_oid version;       /* a version whose copy of the file has that digest */
	int has_stat;          /* the stat fields may be trusted */
} mvc_state_entry;

typedef struct mvc_state {
	size_t count, cap;
	mvc_state_entry *entries;
	int dirty;
} mvc_state;

int mvc__state_load(mvc_state *st, mvc_repo *repo);
int mvc__state_save(mvc_state *st, mvc_repo *repo);
void mvc__state_free(mvc_state *st);
mvc_state_entry *mvc__state_get(mvc_state *st, const char *path);
/* Record that `fspath` (tracked as `path`) has `digest`, stored in
 * `version`; `started` is when its hashing or writing began. */
int mvc__state_set(mvc_state *st, const char *path, const char *fspath,
                   const unsigned char digest[MVC_DIGEST_SIZE], const mvc_oid *version,
                   int64_t started_ns);
/* Does the file still match the record by size, mtime, ctime and inode? */
bool mvc__state_fresh(const mvc_state_entry *e, const char *fspath);
int64_t mvc__now_ns(void);

#endif

/*
 * Read blob `oid` and rebuild the chunk's `len` raw bytes into `dst`,
 * following its chain of delta bases.  Optional outputs: the chain of
 * base ids (direct base first; at most MVC_DELTA_MAX_DEPTH) and its
 * length, and a copy of the chain's full (key) chunk in `key`.
 */
int mvc__chunk_load(git_odb *odb, mvc_codec *codec, const git_oid *oid, unsigned char *dst,
                    size_t len, git_oid *chain, unsigned *nchain, unsigned char *key);
