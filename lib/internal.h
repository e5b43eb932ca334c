#ifndef MVC_INTERNAL_H
#define MVC_INTERNAL_H
/* Helpers shared by lib/ files; not part of the public API. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <git2.h>
#include "mvc.h"

#define MVC_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Set this thread's error message and return `code`. */
int mvc__err(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Same, with ": <libgit2's message>" appended. */
int mvc__err_git(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Same, with ": <strerror(errno)>" appended; the code follows errno. */
int mvc__err_sys(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Map a libgit2 error code to ours. */
int mvc__git_code(int giterr);

/* One-time initialisation of libgit2 and libsodium (thread-safe). */
int mvc__global_init(void);

/* Growable byte buffer, NUL-terminated for convenience. */
typedef struct mvc_buf {
	char *ptr;
	size_t len, cap;
} mvc_buf;
#define MVC_BUF_INIT { NULL, 0, 0 }
int mvc_buf_grow(mvc_buf *b, size_t extra);
int mvc_buf_put(mvc_buf *b, const void *data, size_t len);
int mvc_buf_puts(mvc_buf *b, const char *s);
int mvc_buf_printf(mvc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *mvc_buf_detach(mvc_buf *b);
void mvc_buf_free(mvc_buf *b);

/* Checked arithmetic: false on overflow. */
static inline bool mvc_add_u64(uint64_t *out, uint64_t a, uint64_t b)
{
	return !__builtin_add_overflow(a, b, out);
}
static inline bool mvc_mul_u64(uint64_t *out, uint64_t a, uint64_t b)
{
	return !__builtin_mul_overflow(a, b, out);
}

/* Allocation that sets the error message on failure. */
void *mvc__malloc(size_t n);
void *mvc__calloc(size_t n, size_t size);
char *mvc__strdup(const char *s);
char *mvc__strndup(const char *s, size_t n);

/* I/O that retries on EINTR and short transfers. */
int mvc_read_at(int fd, void *buf, size_t len, uint64_t off, const char *what);
int mvc_write_all(int fd, const void *buf, size_t len, const char *what);

/* Ask the kernel to start writing [*flushed, written) of `fd` to disk
 * once MVC_WRITEBACK_STEP bytes are pending (Linux; elsewhere a no-op). */
#define MVC_WRITEBACK_STEP ((uint64_t)8 << 20)
void mvc__writeback(int fd, uint64_t *flushed, uint64_t written);

/* zlib-compatible checksums, SIMD where the CPU has it (lib/checksum.c). */
uint32_t mvc__adler32(uint32_t adler, const void *buf, size_t len);
uint32_t mvc__crc32(uint32_t crc, const void *buf, size_t len);

/* Digests (libsodium's BLAKE2b). */
void mvc_blake2b(unsigned char out[MVC_DIGEST_SIZE], const void *data, size_t len);
int mvc_hex_to_digest(unsigned char out[MVC_DIGEST_SIZE], const char *hex);

/* Quote a string for messages: non-printable bytes escaped, long names cut. */
const char *mvc_quote(char *buf, size_t bufsz, const char *s);
#define MVC_QUOTE_MAX 128

/* Conversions between our oid and libgit2's. */
static inline void mvc__oid_from_git(mvc_oid *out, const git_oid *in)
{
	memcpy(out->id, in->id, 20);
}
static inline void mvc__oid_to_git(git_oid *out, const mvc_oid *in)
{
	memcpy(out->id, in->id, 20);
}

/* Repository internals. */
git_repository *mvc__repo_git(mvc_repo *repo);

/* Tree entry names for tensor i and chunk j. */
void mvc__index_name(char out[24], uint64_t i);

/* Find the tracked file trees of a commit tree, sorted by path. */
int mvc__tree_files(char ***paths, size_t *count, git_repository *git, const git_tree *root);
/* The subtree of tracked file `path` in `root`: MVC_ENOTFOUND if none. */
int mvc__file_tree(git_tree **out, git_repository *git, const git_tree *root, const char *path);
/* Read and parse the MANIFEST blob of a file tree. */
int mvc__tree_manifest(mvc_manifest **out, git_repository *git, const git_tree *ftree, const char *path);

/* Resolve a revision to a commit. */
int mvc__resolve(git_commit **out, git_repository *git, const char *rev);

/*
 * The author and committer of new objects: GIT_AUTHOR_NAME and
 * GIT_AUTHOR_EMAIL when both are set, else user.name and user.email from
 * git config, else the login name and login@hostname.  A libgit2 code.
 */
int mvc__signature(git_signature **out, git_repository *git);

/*
 * The channel side of mvc__resolve() (lib/channel.c), called after git's
 * own lookup of `rev` (git_found: whether that succeeded): `rev` as a
 * channel name, optionally followed by ~ and ^ suffixes, or spelled
 * refs/mvc/channels/<name>, resolves to the channel's target version.
 * MVC_ENOTFOUND, with no message set, when `rev` is not a channel;
 * MVC_EINVALID when it names a channel and git found it too.
 */
int mvc__channel_rev(git_commit **out, git_repository *git, const char *rev, int git_found);

/* The target of the channel ref `ref` (the last parent of its move). */
int mvc__channel_ref_target(git_oid *out, git_repository *git, const git_reference *ref);

/*
 * Write a commit as git_commit_create() does, moving no ref (lib/sign.c).
 * With `key`, the message gets an Mvc-File-Digest trailer for every
 * tracked file of `tree` and the commit is signed in its mvcsig header
 * (include/mvc/sign.h).  `what` names the commit in messages.
 */
int mvc__commit_write(git_oid *out, git_repository *git, const mvc_key *key,
                      const git_signature *author, const git_signature *committer,
                      const char *message, const git_tree *tree, size_t nparents,
                      const git_commit **parents, const char *what);
/* MVC_EINVALID if a message to sign holds Mvc-File-Digest lines of its own. */
int mvc__sign_message_check(const char *message);
/* The mvcsig header value for `data`: "mvc-ed25519 <key id> <base64>". */
int mvc__sign_payload(char **out, const mvc_key *key, const void *data, size_t len);

/*
 * Does version `commit` have recorded scores whose newest values meet
 * every bound of `f` (lib/score.c)?  For rollback --to-last-good.
 */
int mvc__score_good(int *good, git_repository *git, const git_oid *commit,
                    const mvc_score_filter *f);

#endif
