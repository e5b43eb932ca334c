#ifndef MVC_COMMON_H
#define MVC_COMMON_H
/*
 * Error handling shared by every libmvc module.
 *
 * Every function that can fail returns 0 or a negative MVC_E* code and
 * leaves a message for the calling thread in mvc_error_last().  libmvc
 * never prints, exits or aborts.
 */
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
	MVC_OK = 0,
	MVC_ERROR = -1,       /* anything else (a dependency failed) */
	MVC_ENOTFOUND = -2,   /* no such revision, path, tensor or repository */
	MVC_EEXISTS = -3,     /* the thing to create already exists */
	MVC_EINVALID = -4,    /* a bad argument or option value */
	MVC_EFORMAT = -5,     /* a model file that fails validation */
	MVC_ECORRUPT = -6,    /* stored data that fails its digest or decoding */
	MVC_EUNSUPPORTED = -7,/* a format, encoding or version this build cannot read */
	MVC_EDIRTY = -8,      /* would overwrite uncommitted changes */
	MVC_ECONFLICT = -9,   /* a ref moved under us (compare-and-swap lost) */
	MVC_EIO = -10,        /* a system call failed */
	MVC_ENOMEM = -11,
	MVC_EUNCHANGED = -12, /* nothing to commit */
	MVC_EREFUSED = -13,   /* a hook or check refused the update (nothing moved) */
	MVC_ITEROVER = -31    /* an iterator has no more items (not an error) */
};

/* The message of the last error on this thread ("" when there is none). */
const char *mvc_error_last(void);

/* Clear the calling thread's error message. */
void mvc_error_clear(void);

/* The library's version string, for example "0.1.0". */
const char *mvc_version_string(void);

/* Object id of a version (a git commit id). */
typedef struct mvc_oid {
	unsigned char id[20];
} mvc_oid;

#define MVC_OID_HEXSZ 40

/* Write the 40 hex digits of `oid` and a NUL into `out`. */
void mvc_oid_fmt(char out[MVC_OID_HEXSZ + 1], const mvc_oid *oid);

/*
 * Progress of a long operation: `done` of `total` bytes.  Called on the
 * thread that started the operation, at most once per chunk.
 */
typedef void (*mvc_progress_cb)(uint64_t done, uint64_t total, void *payload);

/* BLAKE2b-256 digest, the unit of content identity in mvc. */
#define MVC_DIGEST_SIZE 32
#define MVC_DIGEST_HEXSZ 64

#ifdef __cplusplus
}
#endif
#endif
