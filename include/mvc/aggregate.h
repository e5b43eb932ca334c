#ifndef MVC_AGGREGATE_H
#define MVC_AGGREGATE_H
/*
 * Aggregation: several versions of one model made into one -- federated
 * averaging, robust aggregation, model fusion -- and recorded as a version
 * whose parents are the current version followed by every input, so that
 * history shows which models made it, with what weights.
 *
 * The inputs are revisions.  They must track the same files (or the files
 * named), and agree on every tensor's name, dtype and shape; the first
 * disagreement is named in the error and nothing is written.  Tensors are
 * matched by name; the result has the layout of the first input, byte for
 * byte outside the tensor data (its header and padding).
 *
 * Float tensors (F64, F32, F16, BF16) are combined element by element in
 * double precision (extended precision for F64) and rounded back to their
 * dtype to nearest, ties to even.  Integer and BOOL tensors are never
 * averaged (see mvc_int_policy); other dtypes (F8, F6, F4, C64) and the
 * tensors matched by an exclude pattern are taken from the first input
 * (for krum: from the selected input).
 *
 * The work streams chunk by chunk across all inputs on all cores: memory
 * is about (inputs + a few) x chunk size x threads, whatever the model's
 * size.  A chunk whose digest is the same in every input (and in the
 * base, where the method computes with one) and that gets no noise is
 * the result as it is: it is copied, never converted or computed.  The
 * numbers do not depend on the number of threads.
 */
#include "repo.h"
#include "model.h"
#include "sign.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mvc_aggregate_method {
	/* sum_i w_i m_i, w_i = n_i / sum_j n_j from each input's num-examples
	 * metadata, or the weights given (normalised to sum to 1) */
	MVC_AGGREGATE_FEDAVG = 0,
	/* (1/n) sum_i m_i */
	MVC_AGGREGATE_MEAN,
	/* per coordinate, the median; of an even count, the mean of the two
	 * middle values */
	MVC_AGGREGATE_MEDIAN,
	/* per coordinate, the mean after dropping floor(trim * n) values at
	 * each end */
	MVC_AGGREGATE_TRIMMED_MEAN,
	/* the input whose squared distances to its n - f - 2 nearest other
	 * inputs sum least (needs n >= 2f + 3) */
	MVC_AGGREGATE_KRUM,
	/* (1 - alpha) m_1 + alpha m_2: exactly two inputs, the first the base */
	MVC_AGGREGATE_INTERPOLATE,
	/* base + lambda sum_i (m_i - base) */
	MVC_AGGREGATE_TASK_ARITHMETIC
} mvc_aggregate_method;

/* "fedavg", "mean", "median", "trimmed-mean", "krum", "interpolate",
 * "task-arithmetic"; and back (MVC_EINVALID for an unknown name). */
const char *mvc_aggregate_method_name(mvc_aggregate_method m);
int mvc_aggregate_method_from_name(mvc_aggregate_method *out, const char *name);

/*
 * What happens to integer and BOOL tensors, which are never averaged.
 * Tensors of the other dtypes (F8, F6, F4, C64) follow FIRST under MAX
 * and are refused like integers under ERROR.
 */
typedef enum mvc_int_policy {
	MVC_INT_POLICY_FIRST = 0, /* the first input's (krum: the selected one's) */
	MVC_INT_POLICY_MAX,       /* the largest value of each element (BOOL: or) */
	MVC_INT_POLICY_ERROR      /* refuse when the inputs differ */
} mvc_int_policy;

/* "first", "max", "error"; and back. */
const char *mvc_int_policy_name(mvc_int_policy p);
int mvc_int_policy_from_name(mvc_int_policy *out, const char *name);

typedef struct mvc_aggregate_options {
	unsigned version;
	mvc_aggregate_method method;
	/* FEDAVG: one weight per input (finite, >= 0, not all 0); NULL: from
	 * each input's num-examples metadata */
	const double *weights;
	size_t nweights;
	/* TRIMMED_MEAN: the share of values dropped at each end, [0, 0.5) */
	double trim;
	/* KRUM: f, the number of Byzantine inputs tolerated */
	unsigned byzantine;
	/* INTERPOLATE: the weight of the second input, [0, 1] */
	double alpha;
	/* TASK_ARITHMETIC: the scale of the summed task vectors */
	double lambda;
	/* A revision: required by TASK_ARITHMETIC and by clipping; with the
	 * other methods only the report uses it (updates are measured
	 * against it).  Not with INTERPOLATE, whose base is its first input. */
	const char *base;
	/*
	 * DP-FedAvg (FEDAVG or MEAN, with a base): clip > 0 scales each
	 * input's update (input - base, over every float tensor not excluded,
	 * in every file) to an L2 norm of at most `clip`; the result is base
	 * plus the equally weighted mean of the clipped updates plus Gaussian
	 * noise of standard deviation noise_multiplier * clip / n on each of
	 * those elements.
	 */
	double clip;
	double noise_multiplier;
	/* With has_seed, the noise is a function of `seed` (reproducible, for
	 * tests: it protects nothing); else it comes from the system's CSPRNG
	 * (libsodium's randombytes_buf). */
	uint64_t seed;
	int has_seed;
	/* fnmatch(3) patterns of tensor names to leave out: taken from the
	 * first input (krum: the selected one), unaveraged and without noise */
	const char *const *exclude;
	size_t nexclude;
	mvc_int_policy int_policy;
	/* Compute the report only: nothing is written, not even a temporary
	 * file. */
	int dry_run;
	/* After committing, write the result into the working directory, as
	 * mvc_checkout_paths() would.  Then the aggregated files must be clean
	 * (or missing) beforehand: MVC_EDIRTY, before anything is computed,
	 * otherwise. */
	int checkout;
	/* The version's first line; NULL: "Aggregate <n> versions (<method>)" */
	const char *message;
	unsigned threads;          /* 0: MVC_THREADS, else every core */
	const mvc_key *signing_key; /* sign the version (include/mvc/sign.h); NULL: unsigned */
} mvc_aggregate_options;

#define MVC_AGGREGATE_OPTIONS_VERSION 1
#define MVC_AGGREGATE_OPTIONS_INIT { MVC_AGGREGATE_OPTIONS_VERSION, MVC_AGGREGATE_FEDAVG, \
	NULL, 0, 0.1, 0, 0.5, 1.0, NULL, 0.0, 0.0, 0, 0, NULL, 0, MVC_INT_POLICY_FIRST, 0, 1, \
	NULL, 0 }

typedef struct mvc_aggregate_input {
	char *rev;                 /* as given */
	mvc_oid id;
	/* The weight of the input in a linear method (FEDAVG, MEAN, DP,
	 * INTERPOLATE, TASK_ARITHMETIC: lambda); has_weight is 0 otherwise. */
	int has_weight;
	double weight;
	/* Its num-examples metadata, when it has one. */
	int has_examples;
	uint64_t examples;
	/* The L2 norm of the input's update: input - base when there is a
	 * base, else input - result, over every float tensor not excluded.
	 * Not finite when the input (or result) holds NaN or infinity there. */
	double norm;
	/* Its modified z-score, 0.6745 (norm - median) / MAD over the inputs
	 * (defined with at least 3 inputs and a spread), and whether it is
	 * an outlier: z > 3.5, or a norm that is not finite. */
	int zscore_defined;
	double zscore;
	int outlier;
	/* DP: min(1, clip / norm) (0 when the norm is not finite: the input
	 * is left out); 1 otherwise. */
	double clip_factor;
	/* KRUM: its score, and whether it was selected. */
	int has_score;
	double score;
	int selected;
} mvc_aggregate_input;

/* Flags of a tensor that was not combined by the method. */
#define MVC_AGGREGATE_TENSOR_EXCLUDED  0x1 /* matched an exclude pattern */
#define MVC_AGGREGATE_TENSOR_INTEGER   0x2 /* integer or BOOL: the int policy */
#define MVC_AGGREGATE_TENSOR_OTHER     0x4 /* F8, F6, F4, C64: from the first input */
#define MVC_AGGREGATE_TENSOR_DIFFERED  0x8 /* the inputs do not all agree on it */

typedef struct mvc_aggregate_tensor {
	char *path;                /* the file */
	char *name;
	mvc_dtype dtype;
	unsigned flags;
} mvc_aggregate_tensor;

typedef struct mvc_aggregate_summary {
	uint64_t files, tensors;
	uint64_t tensors_combined;  /* float tensors the method combined */
	uint64_t chunks;            /* work items of the output (one chunk each) */
	uint64_t chunks_reused;     /* equal in every input: copied, not computed */
	uint64_t chunks_computed;   /* combined from the inputs' values */
	uint64_t chunks_copied;     /* of tensors not combined: from one input */
	uint64_t chunks_decoded;    /* stored chunks read, over every pass */
	uint64_t bytes;             /* bytes of the result's files */
} mvc_aggregate_summary;

typedef struct mvc_aggregate_result {
	mvc_aggregate_method method;
	int committed;             /* a version was written (not dry_run) */
	mvc_oid id;                /* then: its id */
	int checked_out;           /* and the working files were written */
	int has_base;
	char *base_rev;
	mvc_oid base_id;
	/* Updates (the inputs' norms) are measured against the base, else
	 * against the result. */
	int norm_vs_base;
	/* With a base: the L2 norm of result - base over the same tensors. */
	double result_norm;
	size_t ninputs;
	mvc_aggregate_input *inputs;
	/* KRUM: the index of the selected input. */
	int has_selected;
	size_t selected;
	/* TRIMMED_MEAN: values dropped at each end, floor(trim * n). */
	size_t trimmed;
	/* DP: whether clipping was on, and the noise's standard deviation. */
	int dp;
	double noise_std;
	size_t nfiles;
	char **files;              /* the files aggregated, by path */
	/* The tensors that were not combined (excluded, integer, other
	 * dtypes), in file order. */
	size_t ntensors;
	mvc_aggregate_tensor *tensors;
	mvc_aggregate_summary summary;
} mvc_aggregate_result;

/*
 * Aggregate the versions `revs` (at least one) into a new version on the
 * current branch: its parents are the current version (if any) followed
 * by every input (each id once; an input equal to the current version is
 * not repeated), its message records the method, its parameters, the
 * base and each input with its weight as trailers ("Aggregate-Method:",
 * "Aggregate-Input: <id> weight=<w>", ...).  Files the current version
 * tracks besides the aggregated ones are kept as they are.
 *
 * `paths` (relative to the working directory, as mvc_repo_relpath()
 * gives them) limits the files; with none, every input must track the
 * same files.  With dry_run nothing is written, and *out has no id.
 *
 * MVC_EINVALID for bad options and for inputs that disagree (named),
 * MVC_ENOTFOUND for an unknown revision or a file an input does not
 * track, MVC_EDIRTY (checkout) when an aggregated working file has
 * uncommitted changes, MVC_ECONFLICT when the branch moved while
 * aggregating (the branch is then left where the other writer put it).
 * Any error before the version is written leaves the store as it was,
 * with no temporary file behind.
 */
int mvc_aggregate(mvc_aggregate_result **out, mvc_repo *repo, const char *const *revs, size_t nrevs,
                  const char *const *paths, size_t npaths, const mvc_aggregate_options *opts);

void mvc_aggregate_result_free(mvc_aggregate_result *a);

#ifdef __cplusplus
}
#endif
#endif
