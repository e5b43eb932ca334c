#ifndef MVC_COMBINE_H
#define MVC_COMBINE_H
/*
 * Aggregation's state, shared by lib/aggregate.c (what to combine, the
 * checks, the version written) and lib/combine.c (the inputs streamed and
 * combined chunk by chunk on all cores).
 */
#include <sodium.h>
#include "scan.h"

/* Elements combined at a time (their doubles stay in cache). */
#define BLOCK 1024
/* The unit when a stored chunk size is not a whole number of elements. */
#define DEFAULT_UNIT ((uint64_t)1 << 20)

/* How a tensor is treated: combined (float), or taken as it is. */
enum { K_FLOAT, K_INT, K_OTHER };

typedef struct tctx tctx;   /* a worker's buffers (lib/combine.c) */
typedef struct slot slot;   /* a work item in flight (lib/combine.c) */

typedef struct side {
	const char *rev;
	git_commit *commit;
	git_tree *root;
	mvc_oid id;
} side;

typedef struct afile {
	char *path;
	mvc_manifest **m;          /* per side */
	git_tree **tt;             /* per side: the "t" tree */
	git_blob *header;          /* the first input's non-tensor bytes */
	int fd;                    /* the result, being written */
	char *tmp;
	uint64_t pos, hpos;
} afile;

typedef struct atensor {
	size_t file;
	size_t idx;                /* in the first input's manifest */
	const mvc_manifest_tensor **mt; /* per side */
	git_oid **oids;            /* per side: its chunk blobs */
	mvc_dtype dtype;
	int kind, excluded;
	int aligned;               /* every side has this chunk plan: unit c is chunk c */
	int differed;
	unsigned width;            /* bytes per element, 1 for sub-byte dtypes */
	uint64_t unit, nunits;
	size_t first;              /* its first item in the current pass */
} atensor;

typedef struct agg {
	git_repository *git;
	git_odb *odb;
	const mvc_aggregate_options *o;
	mvc_aggregate_result *r;
	size_t n, nsides;          /* inputs; inputs and base */
	int has_base, uses_base, dp, dry;
	side *sides;
	afile *files;
	size_t nfiles;
	atensor *ts;
	size_t nts;
	double *w;                 /* linear methods: the weight of each input */
	double *clipf;             /* DP: each input's factor divided by n */
	size_t primary;            /* where uncombined tensors come from */
	double noise_std;
	unsigned char master[crypto_generichash_KEYBYTES]; /* the noise key */
	int pass;                  /* 1: distances or norms; 2: the result */
	size_t *plist;             /* the tensors of this pass */
	size_t nplist;
	size_t nacc;               /* sums per item: n, or n*n + n for krum */
	long double *tot;
	long double rtot;
	tctx *threads;
	unsigned nthreads;
	slot *slots;
	size_t window;
	uint64_t maxunit, maxchunk;
} agg;

static inline const char *agg_quote(char *buf, const char *s)
{
	return mvc_quote(buf, MVC_QUOTE_MAX, s);
}

/* Side s (an input or the base) as the user named it, quoted. */
static inline const char *side_name(const agg *a, size_t s, char *buf)
{
	return agg_quote(buf, a->sides[s].rev);
}

/*
 * Pass 1: what krum (pairwise squared distances, n x n, then the squared
 * distances to the base) or DP clipping (each update's squared norm) must
 * know of the whole model, summed into a->tot.  Pass 2: the result,
 * appended to each file's temporary (none in a dry run), with the squared
 * norms of the updates in a->tot and of result - base in a->rtot.
 */
int mvc__combine_pass(agg *a, int pass);

/* The first input's non-tensor bytes of file f up to position `to`. */
int mvc__combine_gap(afile *f, uint64_t to);

#endif
