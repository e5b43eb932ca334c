#ifndef MVC_FSCK_H
#define MVC_FSCK_H
/*
 * Checking a whole store: every version reachable from any ref (branches,
 * tags, channels, HEAD) must be readable and match its digests.
 *
 * Without `full` the structure is checked, which reads only small
 * objects: every MANIFEST parses and is consistent (tensor digests from
 * chunk digests, the file digest from those), every non-tensor header
 * blob has the recorded size and BLAKE2b digest, every tensor has its
 * chunk tree, and every chunk blob and every delta base the tree names
 * exists.  With `full`, every chunk is also decoded (delta chains
 * followed) and its BLAKE2b digest compared, on all cores; a chunk shared
 * by many versions (the same blob and digest) is decoded once.  Trees,
 * manifests and tensors shared between versions are checked once, and a
 * problem is reported for the newest version that shows it.
 */
#include "repo.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mvc_fsck_problem {
	char version[MVC_OID_HEXSZ + 1];  /* a version that has it; "" for a ref */
	char *ref;        /* the ref, for a ref that names no readable commit; else NULL */
	char *path;       /* the file, or NULL */
	char *tensor;     /* the tensor, or NULL */
	int64_t chunk;    /* the chunk index, or -1 */
	char object[MVC_OID_HEXSZ + 1];   /* the missing or damaged object, or "" */
	char *message;    /* what is wrong */
} mvc_fsck_problem;

typedef struct mvc_fsck_report {
	size_t refs, versions, files, tensors;
	uint64_t chunks;            /* distinct chunk blobs found */
	uint64_t chunks_decoded;    /* with full: decoded and hashed */
	uint64_t bytes_decoded;
	uint64_t chunks_pruned;     /* missing on purpose: dropped by mvc prune
	                               (mvc_prune()), not counted as problems */
	size_t count;
	mvc_fsck_problem *problems;
} mvc_fsck_report;

typedef struct mvc_fsck_options {
	unsigned version;
	int full;                   /* decode every chunk and check its digest */
	unsigned threads;           /* 0: MVC_THREADS, else every core */
	mvc_progress_cb progress;   /* with full: bytes decoded of all */
	void *progress_payload;
} mvc_fsck_options;

#define MVC_FSCK_OPTIONS_VERSION 1
#define MVC_FSCK_OPTIONS_INIT { MVC_FSCK_OPTIONS_VERSION, 0, 0, NULL, NULL }

/*
 * Check the store.  Returns 0 when the check ran, whatever it found
 * (out->count problems); a negative code only when it could not run.
 */
int mvc_fsck(mvc_fsck_report **out, mvc_repo *repo, const mvc_fsck_options *opts);
void mvc_fsck_report_free(mvc_fsck_report *r);

#ifdef __cplusplus
}
#endif
#endif
