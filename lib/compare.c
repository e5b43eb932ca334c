/*
 * mvc score --compare: two versions scored on the same data, and the
 * paired bootstrap of their differences.
 *
 * Resample r draws n units (users, or rows for the classifier) with
 * replacement from a random stream of its own, seeded by (seed, r), so
 * the intervals depend on the seed alone, not on the thread count.  A
 * metric that is a mean over units (every retrieval metric, log loss,
 * accuracy) is the weighted mean of the per-unit differences; AUC is
 * recomputed on the draw for each version (rows sorted by score once,
 * each draw a linear pass over the counts).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "eval.h"
#include "pool.h"

#define MAX_RESAMPLES 1000000
#define PER_ITEM 8          /* resamples per work item */

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, n), unbiased (Lemire's multiply and reject). */
static uint64_t below(uint64_t *s, uint64_t n)
{
	unsigned __int128 m = (unsigned __int128)splitmix(s) * n;
	uint64_t l = (uint64_t)m;

	if (l < n) {
		uint64_t t = -n % n;

		while (l < t) {
			m = (unsigned __int128)splitmix(s) * n;
			l = (uint64_t)m;
		}
	}
	return (uint64_t)(m >> 64);
}

typedef struct bctx {
	uint32_t *count;
	double *w;
} bctx;

typedef struct brun {
	const mvc__evres *a, *b;
	size_t n, nm;
	unsigned resamples;
	uint64_t seed;
	const size_t *oa, *ob;    /* classifier: rows by score, per version */
	double *diff;             /* nm x resamples */
	bctx *t;
} brun;

static int boot_work(void *p, size_t item, unsigned thread)
{
	brun *br = p;
	bctx *t = &br->t[thread];
	size_t n = br->n, nm = br->nm;

	for (size_t r = item * PER_ITEM; r < (item + 1) * PER_ITEM && r < br->resamples; r++) {
		uint64_t s = br->seed * 0x100000001b3ULL ^ (r + 1) * 0xd1342543de82ef95ULL;

		memset(t->count, 0, n * sizeof(uint32_t));
		for (size_t i = 0; i < n; i++)
			t->count[below(&s, n)]++;
		for (size_t m = 0; m < nm; m++) {
			double d;

			if (isnan(br->a->per_unit[m])) {
				/* AUC: recomputed on the draw */
				for (size_t i = 0; i < n; i++)
					t->w[i] = t->count[i];
				d = mvc__auc(br->b->z, br->b->label, t->w, br->ob, n) -
				    mvc__auc(br->a->z, br->a->label, t->w, br->oa, n);
			} else {
				long double sum = 0;

				for (size_t i = 0; i < n; i++)
					if (t->count[i])
						sum += (long double)t->count[i] *
						    (br->b->per_unit[i * nm + m] - br->a->per_unit[i * nm + m]);
				d = (double)(sum / (long double)n);
			}
			br->diff[m * br->resamples + r] = d;
		}
	}
	return 0;
}

static int boot_done(void *p, size_t item)
{
	(void)p;
	(void)item;
	return 0;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

/* The q-quantile of sorted x[0..n), interpolated between order statistics. */
static double quantile(const double *x, size_t n, double q)
{
	double h = (double)(n - 1) * q, f = floor(h);
	size_t lo = (size_t)f;

	if (lo + 1 >= n)
		return x[n - 1];
	return x[lo] + (h - f) * (x[lo + 1] - x[lo]);
}

void mvc_compare_free(mvc_compare *c)
{
	if (!c)
		return;
	mvc_score_free(c->a);
	mvc_score_free(c->b);
	free(c->metrics);
	free(c);
}

int mvc_score_compare(mvc_compare **out, mvc_repo *repo, const char *rev_a, const char *rev_b,
                      const mvc_score_options *opts, const mvc_compare_options *copts)
{
	mvc__evres a, b;
	mvc_compare *c = NULL;
	brun br;
	size_t *oa = NULL, *ob = NULL, nitems;
	unsigned nthreads = 0;
	int error;

	*out = NULL;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&br, 0, sizeof(br));
	if (!copts || copts->version != MVC_COMPARE_OPTIONS_VERSION)
		return mvc__err(MVC_EINVALID, "bad compare options version");
	if (copts->resamples > MAX_RESAMPLES)
		return mvc__err(MVC_EINVALID, "at most %d resamples", MAX_RESAMPLES);
	if (copts->confidence != 0 && !(copts->confidence > 0 && copts->confidence < 1))
		return mvc__err(MVC_EINVALID, "the confidence must lie between 0 and 1, not %g",
		    copts->confidence);
	if (!opts || (opts->eval != MVC_EVAL_RETRIEVAL && opts->eval != MVC_EVAL_CLASSIFIER))
		return mvc__err(MVC_EINVALID,
		    "a comparison resamples users or rows: it needs the retrieval or the classifier "
		    "evaluator");
	if (!(c = mvc__calloc(1, sizeof(*c))))
		return MVC_ENOMEM;
	c->resamples = copts->resamples ? copts->resamples : 1000;
	c->seed = copts->seed;
	c->confidence = copts->confidence ? copts->confidence : 0.95;
	if ((error = mvc__score_eval_units(&a, repo, rev_a, opts, 1)) < 0 ||
	    (error = mvc__score_eval_units(&b, repo, rev_b, opts, 1)) < 0)
		goto done;
	if (a.nunits != b.nunits || a.s->nmetrics != b.s->nmetrics ||
	    (a.label && memcmp(a.label, b.label, a.nunits))) {
		error = mvc__err(MVC_EINVALID,
		    "'%s' and '%s' were not scored on the same units (%zu and %zu): their tables "
		    "differ in a way the data depends on", rev_a, rev_b, a.nunits, b.nunits);
		goto done;
	}
	for (size_t m = 0; m < a.s->nmetrics; m++)
		if (strcmp(a.s->metrics[m].name, b.s->metrics[m].name)) {
			error = mvc__err(MVC_EINVALID, "'%s' and '%s' gave different metrics", rev_a, rev_b);
			goto done;
		}
	c->units = a.nunits;
	c->count = a.s->nmetrics;
	if (!(c->metrics = mvc__calloc(c->count + 1, sizeof(*c->metrics))) ||
	    !(br.diff = mvc__calloc(c->count * (size_t)c->resamples + 1, sizeof(double)))) {
		error = MVC_ENOMEM;
		goto done;
	}
	if (a.z && (!(oa = mvc__order_by(a.z, a.nunits)) || !(ob = mvc__order_by(b.z, b.nunits)))) {
		error = mvc__err(MVC_ENOMEM, "out of memory");
		goto done;
	}
	br.a = &a;
	br.b = &b;
	br.n = a.nunits;
	br.nm = c->count;
	br.resamples = c->resamples;
	br.seed = c->seed;
	br.oa = oa;
	br.ob = ob;
	nitems = (c->resamples + PER_ITEM - 1) / PER_ITEM;
	nthreads = opts->threads ? opts->threads : mvc__pool_threads();
	if (nthreads > nitems)
		nthreads = (unsigned)nitems;
	if (!(br.t = mvc__calloc(nthreads, sizeof(*br.t)))) {
		error = MVC_ENOMEM;
		goto done;
	}
	for (unsigned i = 0; i < nthreads; i++)
		if (!(br.t[i].count = mvc__calloc(br.n + 1, sizeof(uint32_t))) ||
		    !(br.t[i].w = mvc__calloc(br.n + 1, sizeof(double)))) {
			error = MVC_ENOMEM;
			goto done;
		}
	if ((error = mvc__pool_run(nitems, nthreads, 2 * (size_t)nthreads + 2, boot_work, boot_done,
	         &br)) < 0)
		goto done;
	for (size_t m = 0; m < c->count; m++) {
		mvc_compare_metric *cm = &c->metrics[m];
		double *d = br.diff + m * c->resamples, q = (1 - c->confidence) / 2;
		size_t nd = 0;

		/* a draw with one class only has no AUC: left out */
		for (size_t r = 0; r < c->resamples; r++)
			if (!isnan(d[r]))
				d[nd++] = d[r];
		qsort(d, nd, sizeof(*d), cmp_double);
		cm->name = a.s->metrics[m].name;
		cm->a = a.s->metrics[m].value;
		cm->b = b.s->metrics[m].value;
		cm->diff = cm->b - cm->a;
		cm->low = nd ? quantile(d, nd, q) : NAN;
		cm->high = nd ? quantile(d, nd, 1 - q) : NAN;
		cm->higher_is_better = mvc_metric_higher_is_better(cm->name);
		if (nd && (cm->higher_is_better ? cm->low > 0 : cm->high < 0))
			cm->verdict = MVC_VERDICT_BETTER;
		else if (nd && (cm->higher_is_better ? cm->high < 0 : cm->low > 0))
			cm->verdict = MVC_VERDICT_WORSE;
		if (cm->verdict == MVC_VERDICT_WORSE)
			c->verdict = MVC_VERDICT_WORSE;
		else if (cm->verdict == MVC_VERDICT_BETTER && c->verdict != MVC_VERDICT_WORSE)
			c->verdict = MVC_VERDICT_BETTER;
	}
	c->a = a.s;
	c->b = b.s;
	a.s = b.s = NULL;
	*out = c;
	c = NULL;
done:
	for (unsigned i = 0; br.t && i < nthreads; i++) {
		free(br.t[i].count);
		free(br.t[i].w);
	}
	free(br.t);
	free(br.diff);
	free(oa);
	free(ob);
	mvc__evres_clear(&a);
	mvc__evres_clear(&b);
	mvc_compare_free(c);
	return error;
}
