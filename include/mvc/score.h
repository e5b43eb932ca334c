#ifndef MVC_SCORE_H
#define MVC_SCORE_H
/*
 * Scores: versions evaluated on held-out data, recorded in history, and
 * thresholds and comparisons made from them (mvc-score(1)).
 *
 * A score is a set of named metrics with the evaluator that measured
 * them, its options, the BLAKE2b-256 digests of the data files, the time
 * and a source ("offline" for mvc's evaluators).  Recorded scores are git
 * notes under MVC_SCORE_NOTES_REF attached to the version's root tree, so
 * a version that restores an older version's models (a rollback commit)
 * shows that version's scores; one note holds every score of that tree,
 * one JSON object per line, and recording appends a line.
 */
#include "repo.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The notes ref of scores; refs/notes/mvc/ is what must travel with a
 * push or fetch of the repository. */
#define MVC_SCORE_NOTES_REF "refs/notes/mvc/scores"

typedef enum mvc_eval {
	MVC_EVAL_RETRIEVAL = 1,  /* embedding recommenders: top-K retrieval */
	MVC_EVAL_CLASSIFIER,     /* a multi-layer perceptron with a sigmoid output */
	MVC_EVAL_COMMAND,        /* any program that prints a JSON object of metrics */
	MVC_EVAL_RECORD          /* metrics measured elsewhere (online tests, monitoring) */
} mvc_eval;

/* "retrieval", "classifier", "command", "record". */
const char *mvc_eval_name(mvc_eval e);
int mvc_eval_from_name(mvc_eval *out, const char *name);

/* The layout of classifier weight matrices. */
typedef enum mvc_weight_layout {
	MVC_WEIGHTS_AUTO = 0,    /* from the shapes; refused when they cannot tell */
	MVC_WEIGHTS_TORCH,       /* (out, in), as torch.nn.Linear */
	MVC_WEIGHTS_KERAS        /* (in, out), as keras Dense */
} mvc_weight_layout;

/* Bounds on what is accepted (untrusted data, typing mistakes). */
#define MVC_SCORE_MAX_K 100000      /* the largest cutoff K */
#define MVC_SCORE_MAX_KS 16         /* the most cutoffs */
#define MVC_METRIC_NAME_MAX 64      /* bytes of a metric name */
#define MVC_SCORE_LINE_MAX 65536    /* bytes of a data file's line, a command's last line */

typedef struct mvc_score_options {
	unsigned version;
	mvc_eval eval;
	const char *file;            /* the tracked file with the tensors (NULL: any that has them) */
	const char *test;            /* the held-out data (CSV); for command: optional, {test} */

	/* retrieval */
	const char *items;           /* tensor of item vectors, n_items x d */
	const char *users;           /* tensor of user vectors, rows indexed by user id; or NULL */
	const char *history;         /* CSV of past interactions: user vectors when users is
	                                NULL, and items left out of each user's ranking */
	int dot;                     /* rank by dot product (default: cosine) */
	const unsigned *k;           /* cutoffs (NULL: 10 and 50) */
	size_t nk;

	/* classifier */
	const char *const *layers;   /* weight, bias, weight, bias... (NULL: by name) */
	size_t nlayers;
	mvc_weight_layout layout;

	/* command */
	const char *command;         /* run by /bin/sh; {model} and {test} are replaced */

	/* record: metrics measured elsewhere */
	const char *const *names;
	const double *values;
	size_t nvalues;

	const char *source;          /* NULL: "offline" (evaluators) or "external" (record) */
	unsigned threads;            /* 0: MVC_THREADS, else every core */
} mvc_score_options;

#define MVC_SCORE_OPTIONS_VERSION 1
#define MVC_SCORE_OPTIONS_INIT { MVC_SCORE_OPTIONS_VERSION, MVC_EVAL_RETRIEVAL }

typedef struct mvc_metric {
	char *name;                  /* "recall@10", "auc", or a command's own */
	double value;
} mvc_metric;

typedef struct mvc_score {
	mvc_oid version;             /* the version scored (a commit) */
	mvc_oid tree;                /* its root tree: what the note is attached to */
	char *evaluator;             /* "retrieval", ... (a newer mvc may write others) */
	char *source;                /* "offline", or where an external metric came from */
	int64_t time;                /* seconds since the epoch */
	size_t nmetrics;
	mvc_metric *metrics;
	char *options;               /* the evaluator's options: a JSON object, compact */
	char *data;                  /* digests of the data files: a JSON object, compact */
	char *test_digest;           /* data.test: hex BLAKE2b-256 of --test, or NULL */
	uint64_t units;              /* users (retrieval) or rows (classifier) evaluated */
	uint64_t skipped;            /* users without test items, left out */
} mvc_score;

/*
 * Evaluate version `rev` as `opts` says (or, for MVC_EVAL_RECORD, take
 * the metrics given).  Nothing is recorded.  MVC_EINVALID for bad
 * options or data (the message names the file and line), MVC_ENOTFOUND
 * for an unknown revision, file or tensor, MVC_EUNSUPPORTED for a tensor
 * of a dtype that cannot be evaluated.
 */
int mvc_score_eval(mvc_score **out, mvc_repo *repo, const char *rev,
                   const mvc_score_options *opts);
void mvc_score_free(mvc_score *s);

/* The value of metric `name` in `s`, or NULL. */
const mvc_metric *mvc_score_metric(const mvc_score *s, const char *name);

/* Is a higher value of metric `name` better?  (Log loss and metrics whose
 * name ends in "loss" or "error" are lower-is-better.) */
int mvc_metric_higher_is_better(const char *name);

/*
 * Record `s` on its version's tree: appended to the note, never replacing
 * a score already there.  Safe against other processes recording at once
 * (the notes ref is compare-and-swapped, and re-read on a race).
 */
int mvc_score_record(mvc_repo *repo, const mvc_score *s);

/* Every score recorded for a version's models, oldest first. */
typedef struct mvc_score_list {
	size_t count;
	mvc_score *scores;
	size_t invalid;              /* lines of the note that are not scores (skipped) */
} mvc_score_list;

int mvc_score_list_read(mvc_score_list **out, mvc_repo *repo, const mvc_oid *version);
void mvc_score_list_free(mvc_score_list *l);

/*
 * The newest recorded value of every metric, among the scores of `l`
 * measured on the test data with digest `test_digest` (hex; NULL: any),
 * as one score (its metrics in order of first appearance; other fields
 * from the newest score taken).  MVC_ENOTFOUND when no score qualifies.
 */
int mvc_score_latest(mvc_score **out, const mvc_score_list *l, const char *test_digest);

/* A threshold: metric >= value (min), or metric <= value (max). */
typedef struct mvc_score_bound {
	char metric[MVC_METRIC_NAME_MAX + 1];
	double value;
	int max;
} mvc_score_bound;

/* Parse "METRIC=VALUE" (the value a finite number). */
int mvc_score_bound_parse(mvc_score_bound *out, const char *spec, int max);

/* Does `s` meet every bound?  1 if so; otherwise 0 and the index of the
 * first bound missed (a metric that `s` lacks misses its bound). */
int mvc_score_meets(const mvc_score *s, const mvc_score_bound *b, size_t n, size_t *missed);

/* Which recorded scores make a version good: mvc_rollback's --to-last-good. */
typedef struct mvc_score_filter {
	const mvc_score_bound *bounds;
	size_t nbounds;
	const char *test_digest;     /* only scores on this data (hex); NULL: any */
} mvc_score_filter;

/* Does version `version` have recorded scores (the newest value of each
 * metric, by mvc_score_latest()) that meet every bound? */
int mvc_score_good(int *good, mvc_repo *repo, const mvc_oid *version, const mvc_score_filter *f);

/* Hex BLAKE2b-256 of a file's bytes (what data digests are). */
int mvc_score_file_digest(char out[MVC_DIGEST_HEXSZ + 1], const char *path);

/* ---- comparing two versions ---- */

typedef enum mvc_verdict {
	MVC_VERDICT_NEITHER = 0,     /* the interval holds 0 */
	MVC_VERDICT_BETTER,          /* B significantly better */
	MVC_VERDICT_WORSE            /* B significantly worse */
} mvc_verdict;

const char *mvc_verdict_name(mvc_verdict v);   /* "neither", "better", "worse" */

typedef struct mvc_compare_options {
	unsigned version;
	unsigned resamples;          /* 0: 1000 */
	uint64_t seed;               /* of the resampling; the same seed gives the same intervals */
	double confidence;           /* 0: 0.95 */
} mvc_compare_options;

#define MVC_COMPARE_OPTIONS_VERSION 1
#define MVC_COMPARE_OPTIONS_INIT { MVC_COMPARE_OPTIONS_VERSION, 1000, 1, 0.95 }

typedef struct mvc_compare_metric {
	const char *name;            /* in a's metrics */
	double a, b, diff;           /* diff = b - a on all the data */
	double low, high;            /* the percentile bootstrap interval of diff */
	int higher_is_better;
	mvc_verdict verdict;
} mvc_compare_metric;

typedef struct mvc_compare {
	mvc_score *a, *b;
	size_t count;
	mvc_compare_metric *metrics;
	mvc_verdict verdict;         /* worse if any metric is worse, else better if any is better */
	uint64_t units;              /* users or rows resampled */
	unsigned resamples;
	uint64_t seed;
	double confidence;
} mvc_compare;

/*
 * Score `rev_a` and `rev_b` on the same data (retrieval or classifier)
 * and compare them by a paired bootstrap: `resamples` times, draw the
 * users (rows, for the classifier) with replacement, and compute every
 * metric of both versions on the draw; the interval holds the central
 * `confidence` share of the differences.  Nothing is recorded.
 */
int mvc_score_compare(mvc_compare **out, mvc_repo *repo, const char *rev_a, const char *rev_b,
                      const mvc_score_options *opts, const mvc_compare_options *copts);
void mvc_compare_free(mvc_compare *c);

#ifdef __cplusplus
}
#endif
#endif
