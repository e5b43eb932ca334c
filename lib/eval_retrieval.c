/*
 * The retrieval evaluator: every evaluated user's vector against every
 * item, top-K kept per user, ranking metrics on the held-out items.
 *
 * Users are scored in blocks of UBLOCK, one block per work item on all
 * cores.  A block streams the packed item table panel by panel (NR items
 * of d floats, k-major) through the kernel of lib/gemm.c, which scores
 * MR users against the panel in registers and tests the scores against
 * each user's entry threshold (the worst of the top K kept so far) and
 * against the user's best relevant item.  Only rows that pass go through
 * the heap code, so no users x items matrix ever exists: memory is the
 * item table plus, per thread, one block's heaps.
 *
 * Ranks are over the items not in the user's history.  Ties in score go
 * to the lower item id: items arrive in id order and a later item enters
 * the top K only with a strictly higher score than the worst kept.  The
 * reciprocal rank counts the items that beat the best relevant item over
 * the whole table (not only the top K); the relevant items' own scores
 * come from the same kernel, so "beats" is decided on identical bits.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "eval.h"
#include "tensorio.h"
#include "pool.h"

#define UBLOCK 64
#define NR MVC__NR
#define MR MVC__MR

typedef struct hent {
	float s;
	uint32_t id;
} hent;

typedef struct wctx {
	float *q;            /* UBLOCK / MR packed query groups */
	float *q1;           /* one user alone, packed */
	float *uvec;         /* the block's query vectors */
	float *tile;         /* MR x NR scores */
	float *gpanel;       /* a panel gathered from chosen items */
	float ginv[NR];
	float *row;
	hent *heap;          /* UBLOCK x kmax */
	size_t hn[UBLOCK];
	float thr[UBLOCK], sb[UBLOCK];
	uint32_t cnt[UBLOCK];
	uint64_t bid[UBLOCK], corr[UBLOCK];
} wctx;

typedef struct rrun {
	const mvc__retr *r;
	double *per_user;
	unsigned kmax;
	double *idcg;        /* idcg[n]: the best DCG of n relevant items */
	wctx *w;
} rrun;

static bool member(const uint64_t *v, size_t n, uint64_t x)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && v[lo] == x;
}

/* a is worse than b: lower score, or the same score and a higher id */
static bool worse(hent a, hent b)
{
	return a.s < b.s || (a.s == b.s && a.id > b.id);
}

static void sift_down(hent *h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		hent t;

		if (l < n && worse(h[l], h[m]))
			m = l;
		if (l + 1 < n && worse(h[l + 1], h[m]))
			m = l + 1;
		if (m == i)
			return;
		t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

static void push(hent *h, size_t *n, unsigned kmax, hent x)
{
	size_t i;

	if (*n < kmax) {
		i = (*n)++;
		h[i] = x;
		while (i && worse(h[i], h[(i - 1) / 2])) {
			hent t = h[i];

			h[i] = h[(i - 1) / 2];
			h[(i - 1) / 2] = t;
			i = (i - 1) / 2;
		}
		return;
	}
	h[0] = x;
	sift_down(h, *n, 0);
}

static int cmp_rank(const void *x, const void *y)
{
	const hent *a = x, *b = y;

	if (a->s != b->s)
		return a->s > b->s ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

/* Scores of the packed query w->q1 (one user) against items[0..n). */
static void gather(const rrun *rr, wctx *w, const uint64_t *items, size_t n, float *out)
{
	const mvc__panels *P = rr->r->items;
	size_t d = rr->r->d;

	for (size_t b = 0; b < n; b += NR) {
		unsigned m = n - b < NR ? (unsigned)(n - b) : NR;

		memset(w->gpanel, 0, d * NR * sizeof(float));
		memset(w->ginv, 0, sizeof(w->ginv));
		for (unsigned j = 0; j < m; j++) {
			mvc__panels_get(P, (size_t)items[b + j], w->row);
			for (size_t k = 0; k < d; k++)
				w->gpanel[k * NR + j] = w->row[k];
			if (P->inv)
				w->ginv[j] = P->inv[items[b + j]];
		}
		mvc__kernel(w->q1, w->gpanel, P->inv ? w->ginv : NULL, d, m, w->tile, NULL, NULL, NULL);
		memcpy(out + b, w->tile, m * sizeof(float));
	}
}

/* A row of scores that passed the kernel's tests. */
static void slow(const rrun *rr, wctx *w, size_t i, size_t user, const float *s, uint64_t base,
                 unsigned nvalid)
{
	const mvc__retr *r = rr->r;
	hent *h = w->heap + i * rr->kmax;

	for (unsigned j = 0; j < nvalid; j++) {
		uint64_t id = base + j;

		if (s[j] == w->sb[i] && id < w->bid[i])
			w->cnt[i]++;
		if (!(s[j] > w->thr[i]))
			continue;
		if (r->excl && member(r->excl[user], r->nexcl[user], id))
			continue;
		push(h, &w->hn[i], rr->kmax, (hent){ s[j], (uint32_t)id });
		if (w->hn[i] == rr->kmax)
			w->thr[i] = h[0].s;
	}
}

/* Metrics of user `user` from its top list. */
static void metrics(const rrun *rr, wctx *w, size_t i, size_t user)
{
	const mvc__retr *r = rr->r;
	hent *h = w->heap + i * rr->kmax;
	size_t m = w->hn[i], nk = r->nk, ki = 0, hits = 0, nt = r->ntest[user];
	double dcg = 0, *out = rr->per_user + user * MVC__RETR_NMETRICS(nk);

	qsort(h, m, sizeof(*h), cmp_rank);
	for (size_t pos = 0; ki < nk; pos++) {
		if (pos < m && member(r->test[user], nt, h[pos].id)) {
			hits++;
			dcg += 1 / log2((double)pos + 2);
		}
		/* the cutoffs that end here, or every one left at the list's end */
		while (ki < nk && (pos + 1 >= r->k[ki] || pos + 1 >= m)) {
			size_t ideal = nt < r->k[ki] ? nt : r->k[ki];

			out[ki] = (double)hits / (double)ideal;
			out[nk + ki] = dcg / rr->idcg[ideal];
			out[2 * nk + ki] = hits > 0;
			ki++;
		}
	}
	out[3 * nk] = 1 / (1 + (double)w->cnt[i] - (double)w->corr[i]);
}

static int block_work(void *ctx, size_t item, unsigned thread)
{
	rrun *rr = ctx;
	const mvc__retr *r = rr->r;
	const mvc__panels *P = r->items;
	wctx *w = &rr->w[thread];
	size_t u0 = item * UBLOCK, nb = r->nusers - u0 < UBLOCK ? r->nusers - u0 : UBLOCK;
	size_t ngroups = (nb + MR - 1) / MR, d = r->d;
	float *scores = NULL;
	size_t scap = 0;

	for (size_t i = 0; i < UBLOCK; i++) {
		w->hn[i] = 0;
		w->cnt[i] = 0;
		w->corr[i] = 0;
		/* rows past the block's users never pass a test */
		w->thr[i] = i < nb ? -INFINITY : INFINITY;
		w->sb[i] = i < nb ? INFINITY : NAN;
	}
	/* the query vectors, normalised for cosine */
	for (size_t i = 0; i < nb; i++) {
		const float *u = r->u + (u0 + i) * d;
		float *q = w->uvec + i * d;

		if (P->inv) {
			double ss = 0, f;

			for (size_t k = 0; k < d; k++)
				ss += (double)u[k] * u[k];
			f = ss > 0 ? 1 / sqrt(ss) : 0;
			for (size_t k = 0; k < d; k++)
				q[k] = (float)(u[k] * f);
		} else {
			memcpy(q, u, d * sizeof(float));
		}
	}
	for (size_t g = 0; g < ngroups; g++) {
		const float *rows[MR];

		for (size_t ii = 0; ii < MR; ii++)
			rows[ii] = g * MR + ii < nb ? w->uvec + (g * MR + ii) * d : NULL;
		mvc__pack_queries(w->q + g * d * MR, rows, d);
	}
	/* each user's best relevant item, and how many of its history items
	 * beat it (the kernel counts them too, but they are not ranked) */
	for (size_t i = 0; i < nb; i++) {
		size_t user = u0 + i, nt = r->ntest[user], ne = r->excl ? r->nexcl[user] : 0;
		size_t need = nt > ne ? nt : ne;
		const float *rows[MR] = { w->uvec + i * d };

		if (need > scap) {
			float *ns = realloc(scores, need * sizeof(float));

			if (!ns) {
				free(scores);
				return mvc__err(MVC_ENOMEM, "out of memory");
			}
			scores = ns;
			scap = need;
		}
		mvc__pack_queries(w->q1, rows, d);
		gather(rr, w, r->test[user], nt, scores);
		w->sb[i] = scores[0];
		w->bid[i] = r->test[user][0];
		for (size_t t = 1; t < nt; t++)
			if (scores[t] > w->sb[i]) {
				w->sb[i] = scores[t];
				w->bid[i] = r->test[user][t];
			}
		if (ne) {
			gather(rr, w, r->excl[user], ne, scores);
			for (size_t t = 0; t < ne; t++)
				w->corr[i] += scores[t] > w->sb[i] ||
				    (scores[t] == w->sb[i] && r->excl[user][t] < w->bid[i]);
		}
	}
	free(scores);
	/* every item: the product, a panel at a time */
	for (size_t p = 0; p < P->npanels; p++) {
		const float *panel = P->v + p * d * NR, *inv = P->inv ? P->inv + p * NR : NULL;
		unsigned nvalid = P->n - p * NR < NR ? (unsigned)(P->n - p * NR) : NR;

		for (size_t g = 0; g < ngroups; g++) {
			unsigned mask = mvc__kernel(w->q + g * d * MR, panel, inv, d, nvalid, w->tile,
			    w->thr + g * MR, w->sb + g * MR, w->cnt + g * MR);

			while (mask) {
				unsigned ii = (unsigned)__builtin_ctz(mask);

				mask &= mask - 1;
				slow(rr, w, g * MR + ii, u0 + g * MR + ii, w->tile + ii * NR,
				    (uint64_t)p * NR, nvalid);
			}
		}
	}
	for (size_t i = 0; i < nb; i++)
		metrics(rr, w, i, u0 + i);
	return 0;
}

static int block_done(void *p, size_t item)
{
	(void)p;
	(void)item;
	return 0;
}

static void *alloc64(size_t bytes)
{
	void *p = aligned_alloc(64, (bytes + 63) / 64 * 64 + 64);

	if (!p)
		mvc__err(MVC_ENOMEM, "out of memory");
	return p;
}

int mvc__retrieval_run(double *per_user, const mvc__retr *r)
{
	rrun rr;
	size_t nblocks = (r->nusers + UBLOCK - 1) / UBLOCK;
	unsigned nthreads = r->nthreads ? r->nthreads : mvc__pool_threads();
	int error = 0;

	if (!r->nusers)
		return 0;
	if (!r->nk || r->items->d != r->d || r->items->n == 0 || r->items->n > UINT32_MAX)
		return mvc__err(MVC_EINVALID, "bad retrieval input");
	memset(&rr, 0, sizeof(rr));
	rr.r = r;
	rr.per_user = per_user;
	rr.kmax = r->k[r->nk - 1];
	if (nthreads > nblocks)
		nthreads = (unsigned)nblocks;
	if (!(rr.idcg = mvc__calloc(rr.kmax + 1, sizeof(double))) ||
	    !(rr.w = mvc__calloc(nthreads, sizeof(*rr.w)))) {
		error = MVC_ENOMEM;
		goto done;
	}
	for (unsigned i = 1; i <= rr.kmax; i++)
		rr.idcg[i] = rr.idcg[i - 1] + 1 / log2((double)i + 1);
	for (unsigned t = 0; t < nthreads; t++) {
		wctx *w = &rr.w[t];

		if (!(w->q = alloc64((UBLOCK / MR) * r->d * MR * sizeof(float))) ||
		    !(w->q1 = alloc64(r->d * MR * sizeof(float))) ||
		    !(w->gpanel = alloc64(r->d * NR * sizeof(float))) ||
		    !(w->uvec = mvc__malloc(UBLOCK * r->d * sizeof(float))) ||
		    !(w->tile = mvc__malloc(MR * NR * sizeof(float))) ||
		    !(w->row = mvc__malloc(r->d * sizeof(float))) ||
		    !(w->heap = mvc__calloc((size_t)UBLOCK * rr.kmax, sizeof(hent)))) {
			error = MVC_ENOMEM;
			goto done;
		}
	}
	error = mvc__pool_run(nblocks, nthreads, 2 * (size_t)nthreads + 2, block_work, block_done, &rr);
done:
	for (unsigned t = 0; rr.w && t < nthreads; t++) {
		free(rr.w[t].q);
		free(rr.w[t].q1);
		free(rr.w[t].gpanel);
		free(rr.w[t].uvec);
		free(rr.w[t].tile);
		free(rr.w[t].row);
		free(rr.w[t].heap);
	}
	free(rr.w);
	free(rr.idcg);
	return error;
}

/* ---- the evaluator: tensors and data files of a version ---- */

static int cmp_unsigned(const void *x, const void *y)
{
	unsigned a = *(const unsigned *)x, b = *(const unsigned *)y;

	return a < b ? -1 : a > b;
}

typedef struct load {
	mvc__panels *P;
	float *U;
	size_t d;
} load;

static int items_sink(void *ctx, size_t k, uint64_t row, const float *v)
{
	load *l = ctx;

	(void)k;
	mvc__panels_set(l->P, (size_t)row, v);
	return 0;
}

static int users_sink(void *ctx, size_t k, uint64_t row, const float *v)
{
	load *l = ctx;

	(void)row;
	memcpy(l->U + k * l->d, v, l->d * sizeof(float));
	return 0;
}

static int table(const mvc__tsrc *s, const char *what)
{
	char sh[64];
	int error;

	if ((error = mvc__tsrc_float_check(s)) < 0)
		return error;
	if (s->mt->t.ndim != 2 || s->mt->t.shape[0] == 0 || s->mt->t.shape[1] == 0) {
		if (s->mt->t.ndim == 2)
			snprintf(sh, sizeof(sh), "[%llu, %llu]", (unsigned long long)s->mt->t.shape[0],
			    (unsigned long long)s->mt->t.shape[1]);
		else
			snprintf(sh, sizeof(sh), "%u-dimensional", s->mt->t.ndim);
		return mvc__err(MVC_EINVALID,
		    "'%s': tensor '%s' (%s) is not a table of %s vectors (rows x dimensions)", s->what,
		    s->name, sh, what);
	}
	return 0;
}

/* The cutoffs, ascending and distinct. */
static int cutoffs(unsigned *ks, size_t *nk, const mvc_score_options *o)
{
	static const unsigned default_k[] = { 10, 50 };
	size_t n = o->k ? o->nk : 2, m = 1;

	*nk = 0;
	if (n > MVC_SCORE_MAX_KS)
		return mvc__err(MVC_EINVALID, "at most %d cutoffs K", MVC_SCORE_MAX_KS);
	if (!n)
		return mvc__err(MVC_EINVALID, "no cutoff K given");
	for (size_t i = 0; i < n; i++) {
		unsigned k = o->k ? o->k[i] : default_k[i];

		if (k < 1 || k > MVC_SCORE_MAX_K)
			return mvc__err(MVC_EINVALID, "a cutoff K must be from 1 to %d, not %u",
			    MVC_SCORE_MAX_K, k);
		ks[i] = k;
	}
	qsort(ks, n, sizeof(*ks), cmp_unsigned);
	for (size_t i = 1; i < n; i++)
		if (ks[i] != ks[m - 1])
			ks[m++] = ks[i];
	*nk = m;
	return 0;
}

int mvc__eval_retrieval(mvc__evres *out, const mvc__evctx *c)
{
	const mvc_score_options *o = c->o;
	mvc__tsrc items, users;
	mvc__inter test, hist;
	mvc__panels P;
	mvc__retr r;
	unsigned ks[MVC_SCORE_MAX_KS];
	size_t nk = 0, n = 0, skipped = 0, nm;
	uint64_t n_items, n_users = 0, d;
	const uint64_t **tl = NULL, **xl = NULL;
	size_t *tn = NULL, *xn = NULL;
	uint64_t **own = NULL, *rows = NULL;
	double *per = NULL;
	float *U = NULL;
	json_t *opt = NULL, *kj = NULL, *data = NULL;
	mvc_score *s = NULL;
	load l;
	int error;

	memset(&items, 0, sizeof(items));
	memset(&users, 0, sizeof(users));
	memset(&test, 0, sizeof(test));
	memset(&hist, 0, sizeof(hist));
	memset(&P, 0, sizeof(P));
	memset(&r, 0, sizeof(r));
	if (!o->items)
		return mvc__err(MVC_EINVALID, "the retrieval evaluator needs the item tensor (--items)");
	if (!o->users && !o->history)
		return mvc__err(MVC_EINVALID,
		    "the retrieval evaluator needs user vectors: a user tensor (--users) or the "
		    "users' history (--history)");
	if (!o->test)
		return mvc__err(MVC_EINVALID, "the retrieval evaluator needs held-out data (--test)");
	if (o->layers || o->layout)
		return mvc__err(MVC_EINVALID, "the retrieval evaluator takes no classifier options");
	if (o->command)
		return mvc__err(MVC_EINVALID, "the retrieval evaluator runs no command");
	if ((error = cutoffs(ks, &nk, o)) < 0)
		return error;

	/* the tables */
	if ((error = mvc__tsrc_open(&items, c->git, c->root, c->rev, o->file, o->items)) < 0 ||
	    (error = table(&items, "item")) < 0)
		goto done;
	n_items = items.mt->t.shape[0];
	d = items.mt->t.shape[1];
	if (n_items > UINT32_MAX) {
		error = mvc__err(MVC_EUNSUPPORTED, "'%s': tensor '%s' has more than %u items", items.what,
		    items.name, UINT32_MAX);
		goto done;
	}
	if (o->users) {
		if ((error = mvc__tsrc_open(&users, c->git, c->root, c->rev, o->file, o->users)) < 0 ||
		    (error = table(&users, "user")) < 0)
			goto done;
		if (users.mt->t.shape[1] != d) {
			error = mvc__err(MVC_EINVALID,
			    "user vectors ('%s', %llu dimensions) and item vectors ('%s', %llu) differ in "
			    "size", users.name, (unsigned long long)users.mt->t.shape[1], items.name,
			    (unsigned long long)d);
			goto done;
		}
		n_users = users.mt->t.shape[0];
	}

	/* the data */
	if ((error = mvc__inter_read(&test, o->test, n_items, n_users)) < 0 ||
	    (o->history && (error = mvc__inter_read(&hist, o->history, n_items, n_users)) < 0))
		goto done;
	if (!(tl = mvc__calloc(test.nusers + 1, sizeof(*tl))) ||
	    !(tn = mvc__calloc(test.nusers + 1, sizeof(*tn))) ||
	    !(xl = mvc__calloc(test.nusers + 1, sizeof(*xl))) ||
	    !(xn = mvc__calloc(test.nusers + 1, sizeof(*xn))) ||
	    !(own = mvc__calloc(test.nusers + 1, sizeof(*own))) ||
	    !(rows = mvc__calloc(test.nusers + 1, sizeof(*rows)))) {
		error = MVC_ENOMEM;
		goto done;
	}
	/* the users evaluated: those with test items outside their history
	 * (and, without a user tensor, with a history to build a vector of) */
	for (size_t i = 0; i < test.nusers; i++) {
		const uint64_t *ti = test.items + test.start[i];
		size_t nt = test.start[i + 1] - test.start[i], m = 0;
		long h = o->history ? mvc__inter_find(&hist, test.users[i]) : -1;
		const uint64_t *hi = h >= 0 ? hist.items + hist.start[h] : NULL;
		size_t nh = h >= 0 ? hist.start[h + 1] - hist.start[h] : 0;

		if (!o->users && nh == 0) {
			skipped++;
			continue;
		}
		if (nh) {
			if (!(own[n] = mvc__calloc(nt, sizeof(uint64_t)))) {
				error = MVC_ENOMEM;
				goto done;
			}
			for (size_t t = 0; t < nt; t++)
				if (!member(hi, nh, ti[t]))
					own[n][m++] = ti[t];
			if (!m) {
				free(own[n]);
				own[n] = NULL;
				skipped++;
				continue;
			}
			tl[n] = own[n];
		} else {
			tl[n] = ti;
			m = nt;
		}
		tn[n] = m;
		xl[n] = hi;
		xn[n] = nh;
		rows[n] = o->users ? test.users[i] : (uint64_t)h;
		n++;
	}
	if (!n) {
		char q[MVC_QUOTE_MAX];

		error = mvc__err(MVC_EINVALID, "no user of '%s' can be evaluated: %s",
		    mvc_quote(q, sizeof(q), o->test),
		    o->users ? "every test item is in the user's history"
		             : "none has both a history and test items outside it");
		goto done;
	}

	/* the item table, then the users' vectors */
	if ((error = mvc__panels_init(&P, (size_t)n_items, (size_t)d, !o->dot)) < 0)
		goto done;
	l.P = &P;
	l.d = (size_t)d;
	if ((error = mvc__tsrc_rows(&items, NULL, 0, c->nthreads, items_sink, &l)) < 0)
		goto done;
	if (!(U = mvc__calloc(n * (size_t)d + 1, sizeof(float)))) {
		error = MVC_ENOMEM;
		goto done;
	}
	l.U = U;
	if (o->users) {
		if ((error = mvc__tsrc_rows(&users, rows, n, c->nthreads, users_sink, &l)) < 0)
			goto done;
	} else {
		/* u = the sum of w_i v_i over the user's history */
		double *acc = mvc__calloc((size_t)d + 1, sizeof(double));
		float *v = mvc__calloc((size_t)d + 1, sizeof(float));

		if (!acc || !v) {
			free(acc);
			free(v);
			error = MVC_ENOMEM;
			goto done;
		}
		for (size_t i = 0; i < n; i++) {
			size_t h = (size_t)rows[i];

			memset(acc, 0, (size_t)d * sizeof(double));
			for (size_t t = hist.start[h]; t < hist.start[h + 1]; t++) {
				mvc__panels_get(&P, (size_t)hist.items[t], v);
				for (size_t k = 0; k < d; k++)
					acc[k] += hist.w[t] * v[k];
			}
			for (size_t k = 0; k < d; k++)
				U[i * d + k] = (float)acc[k];
		}
		free(acc);
		free(v);
	}

	/* the ranking */
	nm = MVC__RETR_NMETRICS(nk);
	if (!(per = mvc__calloc(n * nm + 1, sizeof(double)))) {
		error = MVC_ENOMEM;
		goto done;
	}
	r.items = &P;
	r.nusers = n;
	r.d = (size_t)d;
	r.u = U;
	r.test = tl;
	r.ntest = tn;
	r.excl = o->history ? xl : NULL;
	r.nexcl = xn;
	r.k = ks;
	r.nk = nk;
	r.nthreads = c->nthreads;
	if ((error = mvc__retrieval_run(per, &r)) < 0)
		goto done;

	/* the score */
	if ((error = mvc__score_new(&s, c, "retrieval")) < 0)
		goto done;
	for (size_t m = 0; m < nm; m++) {
		static const char *const names[] = { "recall", "ndcg", "hit_rate" };
		char name[MVC_METRIC_NAME_MAX + 1];
		long double sum = 0;

		for (size_t i = 0; i < n; i++)
			sum += per[i * nm + m];
		if (m < 3 * nk)
			snprintf(name, sizeof(name), "%s@%u", names[m / nk], ks[m % nk]);
		else
			snprintf(name, sizeof(name), "mrr");
		if ((error = mvc__score_add(s, name, (double)(sum / (long double)n))) < 0)
			goto done;
	}
	if (!(kj = json_array()) || !(data = json_object())) {
		error = mvc__err(MVC_ENOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < nk; i++)
		json_array_append_new(kj, json_integer(ks[i]));
	opt = json_pack("{s:s, s:s?, s:b, s:s, s:O, s:s}", "items", o->items, "users", o->users,
	    "history", o->history != NULL, "similarity", o->dot ? "dot" : "cosine", "k", kj,
	    "file", items.path);
	json_object_set_new(data, "test", json_string(test.digest));
	if (o->history)
		json_object_set_new(data, "history", json_string(hist.digest));
	if (!opt || !(s->options = json_dumps(opt, JSON_COMPACT)) ||
	    !(s->data = json_dumps(data, JSON_COMPACT)) ||
	    !(s->test_digest = mvc__strdup(test.digest))) {
		error = mvc__err(MVC_ENOMEM, "out of memory");
		goto done;
	}
	s->units = n;
	s->skipped = skipped;
	out->s = s;
	s = NULL;
	out->nunits = n;
	if (c->keep_units) {
		out->per_unit = per;
		per = NULL;
	}
done:
	json_decref(opt);
	json_decref(kj);
	json_decref(data);
	mvc_score_free(s);
	free(per);
	free(U);
	for (size_t i = 0; own && i < test.nusers; i++)
		free(own[i]);
	free(own);
	free(rows);
	free(tl);
	free(tn);
	free(xl);
	free(xn);
	mvc__panels_free(&P);
	mvc__inter_free(&test);
	mvc__inter_free(&hist);
	mvc__tsrc_close(&items);
	mvc__tsrc_close(&users);
	return error;
}
