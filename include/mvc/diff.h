#ifndef MVC_DIFF_H
#define MVC_DIFF_H
/*
 * What changed between two versions of model files, tensor by tensor, in
 * numbers.
 *
 * A diff compares an old side with a new side: two stored versions, a
 * stored version with the working files, or any two model files on disk.
 * Tensors are matched by name.  A tensor whose digest, dtype and shape
 * are equal on both sides is unchanged and its data is never read; a
 * changed tensor is streamed chunk by chunk (memory stays proportional to
 * a chunk, not to a tensor), and a chunk whose digest is equal on both
 * sides is read once, from one side, only when the statistics need its
 * values (the norms of a float tensor).  Stored chunks are checked
 * against their BLAKE2b digests as they are decoded.
 *
 * Float statistics (F64, F32, F16, BF16) are accumulated in double
 * precision (extended precision for F64), chunk by chunk, and the
 * per-chunk sums are merged in chunk order: the result does not depend on
 * the number of threads.
 */
#include "repo.h"
#include "manifest.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mvc_diff_status {
	MVC_DIFF_UNCHANGED = 0,
	MVC_DIFF_CHANGED,        /* same name, dtype and shape; other values */
	MVC_DIFF_ADDED,          /* only on the new side */
	MVC_DIFF_REMOVED,        /* only on the old side */
	MVC_DIFF_RENAMED,        /* a removed and an added tensor with equal contents */
	MVC_DIFF_SHAPE_CHANGED,  /* same name and dtype, another shape */
	MVC_DIFF_DTYPE_CHANGED   /* same name, another dtype */
} mvc_diff_status;

/* "unchanged", "changed", "added", "removed", "renamed", "shape-changed",
 * "dtype-changed". */
const char *mvc_diff_status_name(mvc_diff_status s);

/* How the values of a changed tensor were compared. */
typedef enum mvc_diff_compare {
	MVC_DIFF_COMPARE_NONE = 0, /* not at all: unchanged, not comparable, or stat */
	MVC_DIFF_COMPARE_FLOAT,    /* F64, F32, F16, BF16 (and big-endian), GGUF
	                              Q8_0 and Q4_0 dequantised: numeric statistics */
	MVC_DIFF_COMPARE_EXACT,    /* integers and BOOL: elements compared exactly */
	MVC_DIFF_COMPARE_BYTES,    /* other dtypes (F8, F6, F4, C64, other ggml
	                              block types): bytes only */
	/* An opaque file's content-defined chunks, by digest and from the
	 * manifests only: chunks_changed and chunk_bytes_changed count the
	 * new side's chunks that the old side has nowhere (its other bytes
	 * are shared), bytes_changed is chunk_bytes_changed. */
	MVC_DIFF_COMPARE_CHUNKS
} mvc_diff_compare;

/* "none", "float", "exact", "bytes", "chunks". */
const char *mvc_diff_compare_name(mvc_diff_compare c);

typedef struct mvc_diff_tensor {
	const char *name;              /* the new name; the old one when removed */
	const char *old_name;          /* MVC_DIFF_RENAMED: the old name; else NULL */
	mvc_diff_status status;
	const mvc_tensor *old_tensor;  /* NULL when added */
	const mvc_tensor *new_tensor;  /* NULL when removed */
	mvc_diff_compare compared;

	/* From the manifests, always: chunks of the new side (of the old
	 * side when removed), how many differ from the old side's chunk at
	 * the same place, and their bytes.  Chunks of two different chunk
	 * plans (or dtypes, or shapes) all count as changed. */
	uint64_t chunks, chunks_changed, chunk_bytes_changed;

	/* From the values, when compared is not NONE: */
	uint64_t elements;             /* elements compared (FLOAT, EXACT) */
	uint64_t elements_changed;     /* bitwise different (FLOAT, EXACT) */
	double fraction_changed;       /* elements_changed / elements (0 if none) */
	/* Bytes that differ in place.  Also set without comparing values for
	 * added, removed, shape- and dtype-changed tensors: the size of the
	 * larger side (0 for a renamed one). */
	uint64_t bytes_changed;

	/* FLOAT only, over the elements that are finite on both sides: */
	double l2_diff;                /* L2 norm of new - old */
	double l2_old, l2_new;
	double relative;               /* l2_diff / l2_old */
	int relative_defined;          /* 0 when l2_old is 0 (relative is then 0) */
	double max_abs_diff;
	double cosine;                 /* of old and new, as vectors */
	int cosine_defined;            /* 0 when either norm is 0 (cosine is then 0) */
	uint64_t nan_count, inf_count; /* in the new tensor, all of it */
	/* Elements that differ where either side is NaN or infinite (a NaN on
	 * both sides does not count): these are outside any tolerance. */
	uint64_t nonfinite_changed;

	/* Counts as a difference at the options' tolerance: any status but
	 * unchanged, except a FLOAT change whose every element moved by at
	 * most the tolerance (when it is above 0). */
	int exceeds;
	/*
	 * Shards of one model (files named <prefix>-NNNNN-of-MMMMM.safetensors
	 * in one directory) are one set of tensors: a tensor found only in
	 * one shard on the old side and only in another on the new side has
	 * moved, and is listed once, in the new shard, with the old shard's
	 * path here (UNCHANGED when its digest is equal, else CHANGED, its
	 * values not compared).  NULL otherwise.
	 */
	const char *moved_from;
} mvc_diff_tensor;

typedef struct mvc_diff_file {
	const char *path;              /* relative to the working directory, or the
	                                  new file's path (mvc_diff_files) */
	const char *old_path;          /* the old file's path; equal to path except
	                                  for mvc_diff_files */
	mvc_diff_status status;        /* UNCHANGED, CHANGED, ADDED or REMOVED */
	const mvc_manifest *old_manifest; /* NULL when added */
	const mvc_manifest *new_manifest; /* NULL when removed */
	int header_changed;            /* the non-tensor bytes differ */
	size_t tensors_total;          /* tensors on either side; a rename counts once */
	size_t tensors_changed;        /* those not unchanged */
	size_t count;
	mvc_diff_tensor *tensors;      /* every tensor, unchanged ones too, by name */
} mvc_diff_file;

typedef struct mvc_diff_summary {
	size_t files, files_changed;
	size_t tensors_total, tensors_changed;
	uint64_t bytes_changed;        /* sum over tensors (0 with stat) */
	uint64_t chunks, chunks_changed, chunk_bytes_changed;
	uint64_t chunks_decoded;       /* stored chunks read and decoded */
	/* The tensor with the largest defined relative change, or NULL. */
	const mvc_diff_file *largest_file;
	const mvc_diff_tensor *largest;
	/* Something counts as a difference at the tolerance: a tensor that
	 * exceeds it, a file added or removed, or non-tensor bytes changed. */
	int differs;
} mvc_diff_summary;

typedef struct mvc_diff {
	int stat;                      /* values were not compared */
	double tolerance;
	size_t count;
	mvc_diff_file *files;          /* by path */
	mvc_diff_summary summary;
} mvc_diff;

typedef struct mvc_diff_options {
	unsigned version;
	/* Digests only: statuses and changed chunks from the manifests, no
	 * tensor data read (a working file is still hashed). */
	int stat;
	/* With it above 0, a float tensor whose every element moved by at
	 * most this much does not count as a difference; 0: any bitwise
	 * difference counts. */
	double tolerance;
	unsigned threads;              /* 0: MVC_THREADS, else every core */
	/*
	 * Read the values of unchanged float tensors too (not with stat):
	 * they keep status UNCHANGED but are compared FLOAT, so nan_count,
	 * inf_count and l2_new describe every float tensor found on both
	 * sides.  A version against itself then gives the NaN and Inf counts
	 * of all its float tensors, each chunk read once (mvc check --no-nan).
	 */
	int all_values;
	/* mvc_diff_files() only: read both files as this format (--format);
	 * MVC_FORMAT_UNKNOWN: by their content. */
	mvc_format format;
} mvc_diff_options;

#define MVC_DIFF_OPTIONS_VERSION 1
#define MVC_DIFF_OPTIONS_INIT { MVC_DIFF_OPTIONS_VERSION, 0, 0.0, 0 }

/*
 * Versions `old_rev` and `new_rev`: every file tracked by either, or only
 * `paths` (relative to the working directory, as mvc_repo_relpath() gives
 * them), each of which must be tracked by one of the two.
 */
int mvc_diff_versions(mvc_diff **out, mvc_repo *repo, const char *old_rev,
                      const char *new_rev, const char *const *paths, size_t npaths,
                      const mvc_diff_options *opts);

/*
 * Version `old_rev` against the working files: the files tracked by it or
 * by HEAD (a file absent from the working directory is removed), or only
 * `paths`.  The store is not written to.
 */
int mvc_diff_workdir(mvc_diff **out, mvc_repo *repo, const char *old_rev,
                     const char *const *paths, size_t npaths, const mvc_diff_options *opts);

/*
 * Two model files anywhere on disk; no repository is needed.  Both must
 * exist and be of the same format.  Without stat the files are not
 * hashed (that would read every byte to skip reading some): the values
 * of every tensor on both sides are compared, and only possible renames
 * are hashed.
 */
int mvc_diff_files(mvc_diff **out, const char *old_path, const char *new_path,
                   const mvc_diff_options *opts);

void mvc_diff_free(mvc_diff *diff);

/* IEEE half precision and bfloat16 to float, exactly (subnormals,
 * infinities and NaN payloads included). */
float mvc_f16_to_float(uint16_t h);
float mvc_bf16_to_float(uint16_t b);

#ifdef __cplusplus
}
#endif
#endif
