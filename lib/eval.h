#ifndef MVC_EVAL_H
#define MVC_EVAL_H
/*
 * The evaluators of mvc score (lib/eval_*.c) and what they share with
 * lib/score.c: data files read from CSV, and per-unit results for the
 * paired bootstrap.
 */
#include "internal.h"
#include "gemm.h"

/* ---- data files (lib/csv.c) ---- */

/*
 * Interactions "user,item[,weight]", grouped by user: users ascending,
 * each user's items ascending and distinct (the weights of repeated pairs
 * add up).  Ids are checked against `n_items` and, when not 0, `n_users`.
 */
typedef struct mvc__inter {
	size_t nusers;
	uint64_t *users;
	size_t *start;         /* nusers + 1 offsets into items and w */
	uint64_t *items;
	double *w;
	size_t n;
	char digest[MVC_DIGEST_HEXSZ + 1];
} mvc__inter;

int mvc__inter_read(mvc__inter *out, const char *path, uint64_t n_items, uint64_t n_users);
void mvc__inter_free(mvc__inter *in);
/* Position of `user` in in->users, or -1. */
long mvc__inter_find(const mvc__inter *in, uint64_t user);

/* Rows "feature,...,feature,label" with labels 0 or 1. */
typedef struct mvc__rows {
	size_t n, nfeat;
	float *x;              /* n x nfeat */
	unsigned char *y;
	char digest[MVC_DIGEST_HEXSZ + 1];
} mvc__rows;

int mvc__rows_read(mvc__rows *out, const char *path);
void mvc__rows_free(mvc__rows *r);

/* ---- evaluation ---- */

typedef struct mvc__evctx {
	mvc_repo *repo;
	git_repository *git;
	const char *rev;
	git_commit *commit;
	git_tree *root;
	const mvc_score_options *o;
	unsigned nthreads;
	int keep_units;        /* fill per_unit (and z, label) for a bootstrap */
} mvc__evctx;

/* A score and, with keep_units, what a bootstrap resamples. */
typedef struct mvc__evres {
	mvc_score *s;
	size_t nunits;
	double *per_unit;      /* nunits x s->nmetrics; NaN where a metric is not a mean */
	double *z;             /* classifier: each row's output before the sigmoid */
	unsigned char *label;  /* classifier: each row's label */
} mvc__evres;

void mvc__evres_clear(mvc__evres *r);

/* Evaluate `rev` (lib/score.c); with keep_units, what a bootstrap needs. */
int mvc__score_eval_units(mvc__evres *out, mvc_repo *repo, const char *rev,
                          const mvc_score_options *o, int keep_units);

/* Add metric `name` with `value` to s (names are copied). */
int mvc__score_add(mvc_score *s, const char *name, double value);
/* A new, empty score of `evaluator` for ctx's version. */
int mvc__score_new(mvc_score **out, const mvc__evctx *c, const char *evaluator);

/* Can `s` name a metric (1 to MVC_METRIC_NAME_MAX letters, digits and
 * _@.:/+-, so that "NAME=VALUE" splits at the '=')? */
int mvc__metric_name_ok(const char *s);

int mvc__eval_retrieval(mvc__evres *out, const mvc__evctx *c);
int mvc__eval_classifier(mvc__evres *out, const mvc__evctx *c);
int mvc__eval_command(mvc__evres *out, const mvc__evctx *c);

/* ---- the retrieval core (in memory; tests and benchmarks call it) ---- */

typedef struct mvc__retr {
	const mvc__panels *items;      /* with inverse norms for cosine */
	size_t nusers, d;
	const float *u;                /* nusers x d, as they are (normalised here for cosine) */
	const uint64_t *const *test;   /* per user: relevant items, ascending, not in excl */
	const size_t *ntest;           /* at least 1 each */
	const uint64_t *const *excl;   /* per user: items left out, ascending (or NULL) */
	const size_t *nexcl;
	const unsigned *k;             /* cutoffs, ascending */
	size_t nk;
	unsigned nthreads;
} mvc__retr;

/* Metrics per user, in this order: recall@k for each k, ndcg@k for each
 * k, hit_rate@k for each k, then mrr. */
#define MVC__RETR_NMETRICS(nk) (3 * (nk) + 1)
int mvc__retrieval_run(double *per_user, const mvc__retr *r);

/* ---- the classifier's metrics ---- */

/*
 * AUC by the rank-average (Mann-Whitney) method over rows with weights
 * w (NULL: all 1), where order[] sorts the rows by z ascending.  NaN when
 * one class has no weight.
 */
double mvc__auc(const double *z, const unsigned char *y, const double *w, const size_t *order,
                size_t n);
/* The row order by z ascending (a new array). */
size_t *mvc__order_by(const double *z, size_t n);

#endif
