/*
 * mvc score: every metric against values worked out by hand on tiny
 * cases (ties in score, history left out, K beyond the number of items),
 * the retrieval core against a brute-force reference computed here on
 * random data with every kernel the CPU has, AUC with ties against pair
 * counting, the classifier in both layouts, the command evaluator, the
 * paired bootstrap's reproducibility, the data files' errors, and scores
 * recorded as notes on a version's tree.
 */
#include <math.h>
#include <sodium.h>
#include "unit.h"
#include "internal.h"
#include "eval.h"
#include "gemm.h"
#include "float.h"

#define MODEL "model.safetensors"

typedef struct {
	char *tmp, *work, *model;
	mvc_repo *repo;
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	git_config *cfg = NULL;

	if (!f)
		return -1;
	f->tmp = tmpdir_new("score");
	f->work = path_join(f->tmp, "w");
	f->model = path_join(f->work, MODEL);
	if (mvc_repo_init(&f->repo, f->work) < 0)
		return -1;
	/* small chunks: tables span several, rows cross chunk ends */
	if (git_repository_config(&cfg, mvc__repo_git(f->repo)) < 0 ||
	    git_config_set_int64(cfg, "mvc.chunkSize", 200) < 0)
		return -1;
	git_config_free(cfg);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;

	mvc_repo_free(f->repo);
	rm_rf(f->tmp);
	free(f->tmp);
	free(f->work);
	free(f->model);
	free(f);
	return 0;
}

/* ---- models ---- */

typedef struct {
	const char *name;
	const char *dtype;       /* "F32" (default), "F64", "F16", "BF16", "I32" */
	unsigned ndim;
	uint64_t shape[2];
	const float *v;          /* the values, row-major */
} tspec;

static uint16_t bf16_of(float x)
{
	uint32_t u;

	memcpy(&u, &x, 4);
	return (uint16_t)(u >> 16);   /* exact for the values the tests use */
}

static uint16_t f16_of(float x)
{
	return mvc__f16_from_double(x);
}

/* Write a safetensors file of the tensors and commit it. */
static mvc_oid commit_model(const fx *f, const tspec *t, size_t n, const char *msg)
{
	char hdr[8192];
	size_t h = 0, off = 0, total = 0, width[16];
	unsigned char *out, *p;
	mvc_commit_options o = MVC_COMMIT_OPTIONS_INIT;
	const char *paths[] = { MODEL };
	mvc_oid id;

	h += (size_t)snprintf(hdr, sizeof(hdr), "{");
	for (size_t i = 0; i < n; i++) {
		const char *dt = t[i].dtype ? t[i].dtype : "F32";
		size_t ne = 1;
		char shape[64] = "";

		width[i] = !strcmp(dt, "F64") ? 8 : !strcmp(dt, "F16") || !strcmp(dt, "BF16") ? 2 : 4;
		for (unsigned d = 0; d < t[i].ndim; d++) {
			ne *= t[i].shape[d];
			snprintf(shape + strlen(shape), sizeof(shape) - strlen(shape), "%s%llu",
			    d ? "," : "", (unsigned long long)t[i].shape[d]);
		}
		h += (size_t)snprintf(hdr + h, sizeof(hdr) - h,
		    "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[%s],\"data_offsets\":[%zu,%zu]}",
		    i ? "," : "", t[i].name, dt, shape, off, off + ne * width[i]);
		off += ne * width[i];
	}
	hdr[h++] = '}';
	while (h % 8)
		hdr[h++] = ' ';
	total = off;
	out = malloc(8 + h + total + 1);
	assert_non_null(out);
	for (int i = 0; i < 8; i++)
		out[i] = (unsigned char)((uint64_t)h >> (8 * i));
	memcpy(out + 8, hdr, h);
	p = out + 8 + h;
	for (size_t i = 0; i < n; i++) {
		const char *dt = t[i].dtype ? t[i].dtype : "F32";
		size_t ne = 1;

		for (unsigned d = 0; d < t[i].ndim; d++)
			ne *= t[i].shape[d];
		for (size_t k = 0; k < ne; k++) {
			float x = t[i].v[k];

			if (!strcmp(dt, "F64")) {
				double y = x;
				memcpy(p, &y, 8);
			} else if (!strcmp(dt, "F16")) {
				uint16_t y = f16_of(x);
				memcpy(p, &y, 2);
			} else if (!strcmp(dt, "BF16")) {
				uint16_t y = bf16_of(x);
				memcpy(p, &y, 2);
			} else if (!strcmp(dt, "I32")) {
				int32_t y = (int32_t)x;
				memcpy(p, &y, 4);
			} else {
				memcpy(p, &x, 4);
			}
			p += width[i];
		}
	}
	write_bytes(f->model, out, 8 + h + total);
	free(out);
	o.message = msg;
	o.allow_empty = 1;
	assert_ok(mvc_commit(&id, NULL, f->repo, paths, 1, &o));
	return id;
}

static char *write_text(const fx *f, const char *name, const char *text)
{
	char *p = path_join(f->tmp, name);

	write_bytes(p, text, strlen(text));
	return p;
}

static double metric(const mvc_score *s, const char *name)
{
	const mvc_metric *m = mvc_score_metric(s, name);

	if (!m)
		fail_msg("no metric '%s'", name);
	return m->value;
}

#define NEAR(a, b) assert_true(fabs((a) - (b)) < 1e-12)

/* ---- retrieval by hand ---- */

/*
 * Five items in 2-D; item 2 equals item 0, so they tie:
 *   0 (1,0)  1 (0,1)  2 (1,0)  3 (-1,0)  4 (1,1)
 * User 0 (1,0), cosine: 1, 0, 1, -1, 0.7071 -> ranking 0 2 4 1 3 (the tie
 * to the lower id).  Test items {2, 3}.
 */
static const float hand_items[] = { 1, 0, 0, 1, 1, 0, -1, 0, 1, 1 };

static void run_core(double *per, const mvc__panels *P, const float *u, size_t nu,
                     const uint64_t *const *test, const size_t *nt, const uint64_t *const *excl,
                     const size_t *ne, const unsigned *k, size_t nk)
{
	mvc__retr r;

	memset(&r, 0, sizeof(r));
	r.items = P;
	r.nusers = nu;
	r.d = P->d;
	r.u = u;
	r.test = test;
	r.ntest = nt;
	r.excl = excl;
	r.nexcl = ne;
	r.k = k;
	r.nk = nk;
	r.nthreads = 2;
	assert_ok(mvc__retrieval_run(per, &r));
}

static void test_retrieval_by_hand(void **state)
{
	static const unsigned ks[] = { 1, 2, 10 };
	static const uint64_t t0[] = { 2, 3 }, t1[] = { 4 }, t2[] = { 4 }, x2[] = { 0 };
	const uint64_t *test[] = { t0, t1, t2 }, *excl[] = { NULL, NULL, x2 };
	size_t nt[] = { 2, 1, 1 }, ne[] = { 0, 0, 1 };
	float u[] = { 1, 0, 2, 0, 2, 0 };
	double per[3 * 10], idcg2 = 1 + 1 / log2(3.0);
	mvc__panels P;

	(void)state;
	assert_ok(mvc__panels_init(&P, 5, 2, 1));
	for (size_t i = 0; i < 5; i++)
		mvc__panels_set(&P, i, hand_items + 2 * i);
	/* user 0 alone: recall, ndcg, hit rate at 1, 2, 10 (10 > 5 items), mrr */
	run_core(per, &P, u, 1, test, nt, NULL, NULL, ks, 3);
	NEAR(per[0], 0);                       /* recall@1: [0] */
	NEAR(per[1], 0.5);                     /* recall@2: [0 2], 1 of min(2, 2) */
	NEAR(per[2], 1);                       /* recall@10: all five, 2 of min(10, 2) */
	NEAR(per[3], 0);                       /* ndcg@1 */
	NEAR(per[4], (1 / log2(3.0)) / idcg2); /* ndcg@2: item 2 at rank 2 */
	NEAR(per[5], (1 / log2(3.0) + 1 / log2(6.0)) / idcg2); /* ndcg@10: ranks 2 and 5 */
	NEAR(per[6], 0);                       /* hit_rate@1 */
	NEAR(per[7], 1);
	NEAR(per[8], 1);
	NEAR(per[9], 0.5);                     /* mrr: first relevant at rank 2 */
	mvc__panels_free(&P);

	/* dot product: user (2,0) scores items 0, 2 and 4 all 2; item 4 ties
	 * with two lower ids: rank 3.  User 2 has item 0 in its history: left
	 * out of the ranking, so item 4 is second. */
	assert_ok(mvc__panels_init(&P, 5, 2, 0));
	for (size_t i = 0; i < 5; i++)
		mvc__panels_set(&P, i, hand_items + 2 * i);
	run_core(per, &P, u, 3, test, nt, excl, ne, ks, 3);
	NEAR(per[10 + 0], 0);                  /* user 1, recall@1: [0] */
	NEAR(per[10 + 1], 0);                  /* recall@2: [0 2] */
	NEAR(per[10 + 2], 1);
	NEAR(per[10 + 5], (1 / log2(4.0)) / 1);
	NEAR(per[10 + 9], 1.0 / 3);
	NEAR(per[20 + 0], 0);                  /* user 2: [2 4 1 3] */
	NEAR(per[20 + 1], 1);                  /* recall@2 */
	NEAR(per[20 + 4], 1 / log2(3.0));      /* ndcg@2 */
	NEAR(per[20 + 9], 0.5);                /* mrr */
	/* user 0 under dot: ties 0 2 4 at 2, then 1 (0), 3 (-2) */
	NEAR(per[0 + 1], 0.5);
	NEAR(per[0 + 9], 0.5);
	mvc__panels_free(&P);
}

/* ---- retrieval against a brute-force reference ---- */

typedef struct {
	double s;
	uint64_t id;
} ref_ent;

static int ref_cmp(const void *x, const void *y)
{
	const ref_ent *a = x, *b = y;

	if (a->s != b->s)
		return a->s > b->s ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

static bool in_list(const uint64_t *v, size_t n, uint64_t x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

/* Per-user metrics from the definitions, in double precision; false when
 * two candidate scores are too close to order reliably in float. */
static bool reference(double *out, const float *items, size_t ni, size_t d, const float *u,
                      const uint64_t *test, size_t nt, const uint64_t *excl, size_t ne,
                      const unsigned *ks, size_t nk, int cosine, double min_gap)
{
	ref_ent *e = calloc(ni, sizeof(*e));
	size_t m = 0, first = 0;
	double un = 0;

	for (size_t k = 0; k < d; k++)
		un += (double)u[k] * u[k];
	un = sqrt(un);
	for (size_t j = 0; j < ni; j++) {
		double dot = 0, vn = 0;

		if (in_list(excl, ne, j))
			continue;
		for (size_t k = 0; k < d; k++) {
			dot += (double)u[k] * items[j * d + k];
			vn += (double)items[j * d + k] * items[j * d + k];
		}
		e[m].s = cosine ? (un > 0 && vn > 0 ? dot / (un * sqrt(vn)) : 0) : dot;
		e[m++].id = j;
	}
	qsort(e, m, sizeof(*e), ref_cmp);
	for (size_t i = 1; i < m; i++)
		if (e[i - 1].s != e[i].s && e[i - 1].s - e[i].s < min_gap) {
			free(e);
			return false;
		}
	for (size_t ki = 0; ki < nk; ki++) {
		size_t K = ks[ki], hits = 0, ideal = nt < K ? nt : K;
		double dcg = 0, idcg = 0;

		for (size_t p = 0; p < K && p < m; p++)
			if (in_list(test, nt, e[p].id)) {
				hits++;
				dcg += 1 / log2((double)p + 2);
			}
		for (size_t p = 0; p < ideal; p++)
			idcg += 1 / log2((double)p + 2);
		out[ki] = (double)hits / (double)ideal;
		out[nk + ki] = dcg / idcg;
		out[2 * nk + ki] = hits > 0;
	}
	while (!in_list(test, nt, e[first].id))
		first++;
	out[3 * nk] = 1.0 / (double)(first + 1);
	free(e);
	return true;
}

/* n distinct ids below `limit`, ascending, none in avoid[0..na). */
static size_t draw_ids(uint64_t *out, size_t n, uint64_t limit, const uint64_t *avoid, size_t na,
                       uint64_t *s)
{
	size_t m = 0;

	while (m < n) {
		uint64_t x = rnd_next(s) % limit;

		if (in_list(out, m, x) || in_list(avoid, na, x))
			continue;
		out[m++] = x;
	}
	for (size_t i = 1; i < m; i++)
		for (size_t j = i; j > 0 && out[j - 1] > out[j]; j--) {
			uint64_t t = out[j];
			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return m;
}

static void random_case(int cosine, size_t ni, size_t d, size_t nu, uint64_t seed)
{
	static const unsigned ks[] = { 1, 7, 50, 1200 };
	const size_t nk = 4, nm = MVC__RETR_NMETRICS(4);
	float *items = malloc(ni * d * sizeof(float)), *u = malloc(nu * d * sizeof(float));
	uint64_t *tests = malloc(nu * 20 * sizeof(uint64_t)), *excls = malloc(nu * 30 * sizeof(uint64_t));
	const uint64_t **tl = malloc(nu * sizeof(*tl)), **xl = malloc(nu * sizeof(*xl));
	size_t *tn = malloc(nu * sizeof(size_t)), *xn = malloc(nu * sizeof(size_t));
	double *per = malloc(nu * nm * sizeof(double)), ref[13];
	const char *isas[] = { "generic", "avx2", "avx512" }, *was = mvc__kernel_isa();
	uint64_t s = seed;
	mvc__panels P;
	size_t compared = 0;

	for (size_t i = 0; i < ni * d; i++)
		/* dot: small integers, exact in float, many exact ties */
		items[i] = cosine ? (float)((double)(rnd_next(&s) >> 11) / 9007199254740992.0 - 0.5)
		                  : (float)((int)(rnd_next(&s) % 5) - 2);
	for (size_t i = 0; i < nu * d; i++)
		u[i] = cosine ? (float)((double)(rnd_next(&s) >> 11) / 9007199254740992.0 - 0.5)
		              : (float)((int)(rnd_next(&s) % 5) - 2);
	for (size_t i = 0; i < nu; i++) {
		size_t ne = rnd_next(&s) % 31, nt = 1 + rnd_next(&s) % 20;

		/* leave items to rank: at most half excluded, tests among the rest */
		if (ne > ni / 2)
			ne = ni / 2;
		if (nt > ni - ne)
			nt = ni - ne;
		xl[i] = excls + i * 30;
		xn[i] = draw_ids(excls + i * 30, ne, ni, NULL, 0, &s);
		tl[i] = tests + i * 20;
		tn[i] = draw_ids(tests + i * 20, nt, ni, xl[i], xn[i], &s);
	}
	assert_ok(mvc__panels_init(&P, ni, d, cosine));
	for (size_t i = 0; i < ni; i++)
		mvc__panels_set(&P, i, items + i * d);
	for (size_t k = 0; k < 3; k++) {
		if (mvc__kernel_force(isas[k]) < 0)
			continue;
		memset(per, 0, nu * nm * sizeof(double));
		run_core(per, &P, u, nu, tl, tn, xl, xn, ks, nk);
		for (size_t i = 0; i < nu; i++) {
			if (!reference(ref, items, ni, d, u + i * d, tl[i], tn[i], xl[i], xn[i], ks, nk,
			        cosine, cosine ? 1e-5 : 0))
				continue;
			compared++;
			for (size_t m = 0; m < nm; m++)
				if (fabs(per[i * nm + m] - ref[m]) > 1e-12)
					fail_msg("%s kernel, %s, user %zu, metric %zu: %.17g, reference %.17g",
					    isas[k], cosine ? "cosine" : "dot", i, m, per[i * nm + m], ref[m]);
		}
	}
	assert_true(compared > nu / 2);
	assert_int_equal(mvc__kernel_force(was), 0);
	mvc__panels_free(&P);
	free(items);
	free(u);
	free(tests);
	free(excls);
	free(tl);
	free(xl);
	free(tn);
	free(xn);
	free(per);
}

static void test_retrieval_random_dot(void **state)
{
	(void)state;
	/* 1000 items: not a whole number of panels; 150 users: three blocks */
	random_case(0, 1000, 13, 150, 1);
	random_case(0, 70, 3, 9, 2);
}

static void test_retrieval_random_cosine(void **state)
{
	(void)state;
	random_case(1, 300, 13, 150, 3);
	random_case(1, 33, 64, 70, 4);
}

/* ---- the evaluator on a version: CSV, skipping, dtypes ---- */

static void test_retrieval_evaluator(void **state)
{
	fx *f = *state;
	float users[3 * 2] = { 1, 0, 2, 0, 0, 0 };
	tspec t[] = { { "items", NULL, 2, { 5, 2 }, hand_items }, { "users", NULL, 2, { 3, 2 }, users } };
	mvc_score_options o = MVC_SCORE_OPTIONS_INIT;
	mvc_score *s = NULL;
	unsigned ks[] = { 2 };
	char *test, *hist;

	commit_model(f, t, 2, "v1");
	/* user 0: test 2 and 3; user 2: only item 1, which is in its history
	 * (skipped); user 1 has no test line at all */
	test = write_text(f, "test.csv", "user,item\n0,3\n0,2\n2,1\n0,2\n");
	hist = write_text(f, "hist.csv", "2,1\r\n2,0,0.5\r\n\r\n");
	o.items = "items";
	o.users = "users";
	o.test = test;
	o.history = hist;
	o.k = ks;
	o.nk = 1;
	assert_ok(mvc_score_eval(&s, f->repo, "HEAD", &o));
	assert_int_equal(s->units, 1);
	assert_int_equal(s->skipped, 1);
	assert_string_equal(s->evaluator, "retrieval");
	assert_string_equal(s->source, "offline");
	NEAR(metric(s, "recall@2"), 0.5);
	NEAR(metric(s, "hit_rate@2"), 1);
	NEAR(metric(s, "mrr"), 0.5);
	assert_int_equal(s->nmetrics, 4);
	assert_non_null(strstr(s->options, "\"similarity\":\"cosine\""));
	assert_non_null(strstr(s->data, "\"history\""));
	{
		char d[MVC_DIGEST_HEXSZ + 1];

		assert_ok(mvc_score_file_digest(d, test));
		assert_string_equal(s->test_digest, d);
	}
	mvc_score_free(s);

	/* history vectors: user 2's vector is 1 x item1 + 0.5 x item0 */
	o.users = NULL;
	unlink(test);
	free(test);
	test = write_text(f, "test.csv", "2,4\n2,3\n0,1\n");
	o.test = test;
	assert_ok(mvc_score_eval(&s, f->repo, "HEAD", &o));
	/* user 0 has no history: skipped; user 2: (0.5,1) ranks 4 (cos .95),
	 * 2 (.447), 3 (-.447) without its history items 0 and 1 */
	assert_int_equal(s->units, 1);
	assert_int_equal(s->skipped, 1);
	NEAR(metric(s, "recall@2"), 1.0 / 2 + 0);
	NEAR(metric(s, "mrr"), 1);
	mvc_score_free(s);

	/* every user skipped: refused, naming the file */
	unlink(test);
	free(test);
	test = write_text(f, "test.csv", "7,1\n");
	o.test = test;
	assert_err(mvc_score_eval(&s, f->repo, "HEAD", &o), MVC_EINVALID, "can be evaluated");
	unlink(test);
	free(test);
	free(hist);
}

static void test_retrieval_dtypes(void **state)
{
	fx *f = *state;
	float items[40], u[8];
	uint64_t st = 9;
	mvc_score_options o = MVC_SCORE_OPTIONS_INIT;
	mvc_score *ref = NULL, *s = NULL;
	const char *dts[] = { "F64", "F16", "BF16" };
	char *test = write_text(f, "t.csv", "0,1\n0,7\n1,3\n2,0\n3,9\n");

	/* small integers: exact in every float dtype */
	for (int i = 0; i < 40; i++)
		items[i] = (float)((int)(rnd_next(&st) % 7) - 3);
	for (int i = 0; i < 8; i++)
		u[i] = (float)((int)(rnd_next(&st) % 7) - 3);
	{
		tspec t[] = { { "i", NULL, 2, { 10, 4 }, items }, { "u", NULL, 2, { 2, 4 }, u } };

		/* 2 users x 4: ids 2 and 3 are out of range */
		commit_model(f, t, 2, "f32");
	}
	o.items = "i";
	o.users = "u";
	o.test = test;
	assert_err(mvc_score_eval(&s, f->repo, "HEAD", &o), MVC_EINVALID,
	    "t.csv' line 4: user 2 is out of range: the user table has 2 rows");
	unlink(test);
	free(test);
	test = write_text(f, "t.csv", "0,1\n0,7\n1,3\n");
	o.test = test;
	assert_ok(mvc_score_eval(&ref, f->repo, "HEAD", &o));
	for (int k = 0; k < 3; k++) {
		tspec t[] = { { "i", dts[k], 2, { 10, 4 }, items }, { "u", dts[k], 2, { 2, 4 }, u } };

		commit_model(f, t, 2, dts[k]);
		assert_ok(mvc_score_eval(&s, f->repo, "HEAD", &o));
		for (size_t m = 0; m < ref->nmetrics; m++)
			NEAR(s->metrics[m].value, ref->metrics[m].value);
		mvc_score_free(s);
	}
	{
		tspec t[] = { { "i", "I32", 2, { 10, 4 }, items }, { "u", NULL, 2, { 2, 4 }, u } };

		commit_model(f, t, 2, "ints");
		assert_err(mvc_score_eval(&s, f->repo, "HEAD", &o), MVC_EUNSUPPORTED,
		    "tensor 'i' is I32; only F32, F64, F16 and BF16");
	}
	{
		float bad[40];
		tspec t[] = { { "i", NULL, 2, { 10, 4 }, bad }, { "u", NULL, 2, { 2, 4 }, u } };

		memcpy(bad, items, sizeof(bad));
		bad[4 * 6 + 2] = NAN;
		commit_model(f, t, 2, "nan");
		assert_err(mvc_score_eval(&s, f->repo, "HEAD", &o), MVC_EINVALID,
		    "tensor 'i' has a NaN value in row 6");
	}
	{
		tspec t[] = { { "i", NULL, 1, { 40, 0 }, items }, { "u", NULL, 2, { 2, 4 }, u } };

		commit_model(f, t, 2, "1-d");
		assert_err(mvc_score_eval(&s, f->repo, "HEAD", &o), MVC_EINVALID,
		    "is not a table of item vectors");
	}
	o.items = "nope";
	assert_err(mvc_score_eval(&s, f->repo, "HEAD", &o), MVC_ENOTFOUND, "has a tensor 'nope'");
	mvc_score_free(ref);
	unlink(test);
	free(test);
}

/* ---- AUC ---- */

static double auc_pairs(const double *z, const unsigned char *y, const double *w, size_t n)
{
	double num = 0, den = 0;

	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++) {
			double wij = (w ? w[i] : 1) * (w ? w[j] : 1);

			if (!y[i] || y[j])
				continue;
			den += wij;
			num += wij * (z[i] > z[j] ? 1 : z[i] == z[j] ? 0.5 : 0);
		}
	return num / den;
}

static void test_auc(void **state)
{
	double z1[] = { 0.1, 0.4, 0.35, 0.8 }, z2[] = { 0.5, 0.5, 0.5, 0.9 }, w[] = { 1, 2, 0, 3 };
	unsigned char y1[] = { 0, 0, 1, 1 }, y2[] = { 0, 1, 0, 1 };
	size_t *o;

	(void)state;
	o = mvc__order_by(z1, 4);
	NEAR(mvc__auc(z1, y1, NULL, o, 4), 0.75);
	free(o);
	/* ties: the 0.5 positive ties with two negatives (rank average) */
	o = mvc__order_by(z2, 4);
	NEAR(mvc__auc(z2, y2, NULL, o, 4), 0.75);
	/* weights (a bootstrap's counts): as if rows were repeated */
	NEAR(mvc__auc(z2, y2, w, o, 4), auc_pairs(z2, y2, w, 4));
	/* one class only: undefined */
	{
		unsigned char y0[] = { 1, 1, 1, 1 };

		assert_true(isnan(mvc__auc(z2, y0, NULL, o, 4)));
	}
	free(o);
	/* random, with many ties, weighted and not */
	{
		uint64_t s = 5;
		size_t n = 300;
		double *z = malloc(n * sizeof(double)), *wr = malloc(n * sizeof(double));
		unsigned char *y = malloc(n);

		for (size_t i = 0; i < n; i++) {
			z[i] = (double)(rnd_next(&s) % 17);
			y[i] = rnd_next(&s) % 3 == 0;
			wr[i] = (double)(rnd_next(&s) % 4);
		}
		o = mvc__order_by(z, n);
		NEAR(mvc__auc(z, y, NULL, o, n), auc_pairs(z, y, NULL, n));
		NEAR(mvc__auc(z, y, wr, o, n), auc_pairs(z, y, wr, n));
		free(o);
		free(z);
		free(wr);
		free(y);
	}
}

/* ---- the classifier ---- */

/* A 3-4-1 network; the reference forward pass in double. */
static const float W0[] = { 0.5f, -1, 0.25f, 1, 1, -0.5f, -0.75f, 0.5f, 1, 0, 0.25f, -1 };
static const float B0[] = { 0.1f, -0.2f, 0, 0.3f };
static const float W1[] = { 1, -1, 0.5f, 2 };
static const float B1[] = { -0.25f };

static double forward(const float *x)
{
	double h[4], z = B1[0];

	for (int o = 0; o < 4; o++) {
		h[o] = B0[o];
		for (int i = 0; i < 3; i++)
			h[o] += (double)W0[o * 3 + i] * x[i];
		if (h[o] < 0)
			h[o] = 0;
		z += W1[o] * h[o];
	}
	return z;
}

static void test_classifier(void **state)
{
	fx *f = *state;
	float W0k[12], W1k[4], x[3 * 60];
	unsigned char y[60];
	double z[60], loss = 0, right = 0;
	uint64_t s = 11;
	mvc_buf csv = MVC_BUF_INIT;
	mvc_score_options o = MVC_SCORE_OPTIONS_INIT;
	mvc_score *sc = NULL, *sk = NULL;
	const char *keras_layers[] = { "dense/kernel", "dense/bias", "out/kernel", "out/bias" };
	char *path;

	assert_ok(mvc_buf_puts(&csv, "f1,f2,f3,label\n"));
	for (int r = 0; r < 60; r++) {
		for (int i = 0; i < 3; i++)
			x[r * 3 + i] = (float)((int)(rnd_next(&s) % 200) - 100) / 32;
		y[r] = rnd_next(&s) % 2;
		z[r] = forward(x + r * 3);
		assert_ok(mvc_buf_printf(&csv, "%.9g, %.9g ,%.9g,%d\n", x[r * 3], x[r * 3 + 1],
		    x[r * 3 + 2], y[r]));
		{
			double p = 1 / (1 + exp(-z[r]));

			p = p < 1e-15 ? 1e-15 : p > 1 - 1e-15 ? 1 - 1e-15 : p;
			loss += y[r] ? -log(p) : -log(1 - p);
			right += (z[r] >= 0) == y[r];
		}
	}
	path = write_text(f, "rows.csv", csv.ptr);
	/* keras layout: (in, out) */
	for (int i = 0; i < 3; i++)
		for (int oo = 0; oo < 4; oo++)
			W0k[i * 4 + oo] = W0[oo * 3 + i];
	memcpy(W1k, W1, sizeof(W1k));
	{
		float emb[6] = { 0 };
		tspec t[] = {
			{ "emb.weight", NULL, 2, { 2, 3 }, emb },     /* no bias: not a layer */
			{ "fc1.weight", NULL, 2, { 4, 3 }, W0 },
			{ "fc1.bias", NULL, 1, { 4, 0 }, B0 },
			{ "fc2.weight", "F64", 2, { 1, 4 }, W1 },
			{ "fc2.bias", NULL, 1, { 1, 0 }, B1 },
			{ "dense/kernel", NULL, 2, { 3, 4 }, W0k },
			{ "dense/bias", NULL, 1, { 4, 0 }, B0 },
			{ "out/kernel", NULL, 2, { 4, 1 }, W1k },
			{ "out/bias", NULL, 1, { 1, 0 }, B1 },
		};

		commit_model(f, t, 9, "mlp");
	}
	o.eval = MVC_EVAL_CLASSIFIER;
	o.test = path;
	/* detected: fc1 and fc2 (emb has no bias; dense/kernel is not *.weight) */
	assert_ok(mvc_score_eval(&sc, f->repo, "HEAD", &o));
	assert_non_null(strstr(sc->options, "\"layers\":[\"fc1.weight\",\"fc1.bias\",\"fc2.weight\",\"fc2.bias\"]"));
	o.nlayers = 4;
	assert_true(fabs(metric(sc, "logloss") - (double)loss / 60) < 1e-6);
	NEAR(metric(sc, "accuracy"), right / 60);
	{
		unsigned char *yy = y;
		double a = auc_pairs(z, yy, NULL, 60);

		assert_true(fabs(metric(sc, "auc") - a) < 1e-12);
	}
	assert_int_equal(sc->units, 60);
	assert_non_null(strstr(sc->options, "\"layout\":\"torch\""));
	o.layers = keras_layers;
	assert_ok(mvc_score_eval(&sk, f->repo, "HEAD", &o));
	assert_non_null(strstr(sk->options, "\"layout\":\"keras\""));
	for (size_t m = 0; m < sc->nmetrics; m++)
		assert_true(fabs(sk->metrics[m].value - sc->metrics[m].value) < 1e-6);
	mvc_score_free(sk);
	/* the wrong layout named: refused */
	o.layout = MVC_WEIGHTS_TORCH;
	assert_err(mvc_score_eval(&sk, f->repo, "HEAD", &o), MVC_EINVALID, "in the torch layout");
	o.layout = MVC_WEIGHTS_AUTO;
	o.layers = NULL;
	mvc_score_free(sc);
	unlink(path);
	free(path);
	mvc_buf_free(&csv);

	/* one square layer: either layout fits; refused unless named */
	{
		float w = 2, b = -1;
		tspec t[] = { { "lin.weight", NULL, 2, { 1, 1 }, &w }, { "lin.bias", NULL, 1, { 1, 0 }, &b } };

		commit_model(f, t, 2, "square");
		path = write_text(f, "rows.csv", "1,1\n0,0\n2,1\n-1,0\n");
		o.test = path;
		assert_err(mvc_score_eval(&sc, f->repo, "HEAD", &o), MVC_EINVALID, "layout cannot be told");
		o.layout = MVC_WEIGHTS_KERAS;
		assert_ok(mvc_score_eval(&sc, f->repo, "HEAD", &o));
		/* z = 2x - 1: 1, -1, 3, -3: perfectly ordered, all right */
		NEAR(metric(sc, "auc"), 1);
		NEAR(metric(sc, "accuracy"), 1);
		mvc_score_free(sc);
		unlink(path);
		free(path);
		/* one class only: AUC has no meaning */
		path = write_text(f, "rows.csv", "1,1\n2,1\n");
		o.test = path;
		assert_err(mvc_score_eval(&sc, f->repo, "HEAD", &o), MVC_EINVALID, "both classes");
		unlink(path);
		free(path);
		/* a width that the first layer does not take */
		path = write_text(f, "rows.csv", "1,2,1\n2,3,0\n");
		o.test = path;
		assert_err(mvc_score_eval(&sc, f->repo, "HEAD", &o), MVC_EINVALID, "does not take 2 inputs");
		unlink(path);
		free(path);
	}
}

/* ---- the command evaluator ---- */

static void test_command(void **state)
{
	fx *f = *state;
	float v[4] = { 1, 2, 3, 4 };
	tspec t[] = { { "w", NULL, 2, { 2, 2 }, v } };
	mvc_score_options o = MVC_SCORE_OPTIONS_INIT;
	mvc_score *s = NULL;
	char *data = write_text(f, "d.txt", "hello\n"), cmd[512];
	size_t len = 0;
	unsigned char *bytes;

	commit_model(f, t, 1, "w");
	bytes = read_bytes(f->model, &len);
	free(bytes);
	o.eval = MVC_EVAL_COMMAND;
	o.test = data;
	/* progress lines first; the last line counts; {model} is quoted */
	snprintf(cmd, sizeof(cmd),
	    "echo warming up; printf '{\"bytes\": %%d, \"lines\": %%d, \"ok\": 0.5}\\n\\n' "
	    "$(wc -c < {model}) $(wc -l < {test}); test \"$MVC_MODEL\" = {model}");
	o.command = cmd;
	assert_ok(mvc_score_eval(&s, f->repo, "HEAD", &o));
	assert_string_equal(s->evaluator, "command");
	NEAR(metric(s, "bytes"), (double)len);
	NEAR(metric(s, "lines"), 1);
	NEAR(metric(s, "ok"), 0.5);
	assert_non_null(s->test_digest);
	mvc_score_free(s);
	o.command = "exit 3";
	assert_err(mvc_score_eval(&s, f->repo, "HEAD", &o), MVC_ERROR, "exit status 3");
	o.command = "echo not json";
	assert_err(mvc_score_eval(&s, f->repo, "HEAD", &o), MVC_EINVALID, "not a JSON object");
	o.command = "echo '{\"a\": \"x\"}'";
	assert_err(mvc_score_eval(&s, f->repo, "HEAD", &o), MVC_EINVALID, "not a finite number");
	o.command = "echo '{\"a b\": 1}'";
	assert_err(mvc_score_eval(&s, f->repo, "HEAD", &o), MVC_EINVALID, "a metric named 'a b'");
	o.command = "true";
	assert_err(mvc_score_eval(&s, f->repo, "HEAD", &o), MVC_EINVALID, "printed nothing");
	o.test = NULL;
	o.command = "cat {test}";
	assert_err(mvc_score_eval(&s, f->repo, "HEAD", &o), MVC_EINVALID, "no test data");
	unlink(data);
	free(data);
}

/* ---- compare ---- */

static void test_compare(void **state)
{
	fx *f = *state;
	float items[200 * 8], ua[50 * 8], ub[50 * 8];
	uint64_t s = 21;
	mvc_buf csv = MVC_BUF_INIT;
	mvc_score_options o = MVC_SCORE_OPTIONS_INIT;
	mvc_compare_options co = MVC_COMPARE_OPTIONS_INIT;
	mvc_compare *c1 = NULL, *c2 = NULL, *c3 = NULL, *same = NULL;
	char *test;

	for (size_t i = 0; i < 200 * 8; i++)
		items[i] = (float)((double)(rnd_next(&s) >> 11) / 9007199254740992.0 - 0.5);
	for (size_t i = 0; i < 50 * 8; i++) {
		ua[i] = (float)((double)(rnd_next(&s) >> 11) / 9007199254740992.0 - 0.5);
		ub[i] = ua[i] + (float)((double)(rnd_next(&s) >> 11) / 9007199254740992.0 - 0.5);
	}
	for (int u = 0; u < 50; u++)
		for (int k = 0; k < 4; k++)
			assert_ok(mvc_buf_printf(&csv, "%d,%d\n", u, (int)(rnd_next(&s) % 200)));
	test = write_text(f, "t.csv", csv.ptr);
	{
		tspec t[] = { { "items", NULL, 2, { 200, 8 }, items }, { "users", NULL, 2, { 50, 8 }, ua } };

		commit_model(f, t, 2, "A");
	}
	{
		tspec t[] = { { "items", NULL, 2, { 200, 8 }, items }, { "users", NULL, 2, { 50, 8 }, ub } };

		commit_model(f, t, 2, "B");
	}
	o.items = "items";
	o.users = "users";
	o.test = test;
	co.resamples = 500;
	co.seed = 7;
	assert_ok(mvc_score_compare(&c1, f->repo, "HEAD~1", "HEAD", &o, &co));
	assert_int_equal(c1->units, 50);
	assert_int_equal(c1->count, 7);
	o.threads = 1;
	assert_ok(mvc_score_compare(&c2, f->repo, "HEAD~1", "HEAD", &o, &co));
	co.seed = 8;
	assert_ok(mvc_score_compare(&c3, f->repo, "HEAD~1", "HEAD", &o, &co));
	for (size_t m = 0; m < c1->count; m++) {
		/* the same seed: the same interval, whatever the thread count */
		assert_true(c1->metrics[m].low == c2->metrics[m].low);
		assert_true(c1->metrics[m].high == c2->metrics[m].high);
		NEAR(c1->metrics[m].diff, c1->metrics[m].b - c1->metrics[m].a);
		assert_true(c1->metrics[m].low <= c1->metrics[m].high);
	}
	{
		int differ = 0;

		for (size_t m = 0; m < c1->count; m++)
			differ |= c1->metrics[m].low != c3->metrics[m].low;
		assert_true(differ);
	}
	/* a version against itself: no difference in any draw */
	assert_ok(mvc_score_compare(&same, f->repo, "HEAD", "HEAD", &o, &co));
	for (size_t m = 0; m < same->count; m++) {
		assert_true(same->metrics[m].low == 0 && same->metrics[m].high == 0);
		assert_int_equal(same->metrics[m].verdict, MVC_VERDICT_NEITHER);
	}
	assert_int_equal(same->verdict, MVC_VERDICT_NEITHER);
	/* the command evaluator has no units to resample */
	o.eval = MVC_EVAL_COMMAND;
	{
		mvc_compare *none = NULL;

		assert_err(mvc_score_compare(&none, f->repo, "HEAD", "HEAD", &o, &co), MVC_EINVALID,
		    "retrieval or the classifier");
		assert_null(none);
	}
	mvc_compare_free(c1);
	mvc_compare_free(c2);
	mvc_compare_free(c3);
	mvc_compare_free(same);
	mvc_buf_free(&csv);
	unlink(test);
	free(test);
}

/* A bootstrap interval on data where the truth is known: B ranks every
 * user's test item first, A never does; the difference must be
 * significant both ways round. */
static void test_compare_verdicts(void **state)
{
	fx *f = *state;
	float items[64 * 4], good[40 * 4], bad[40 * 4];
	mvc_buf csv = MVC_BUF_INIT;
	mvc_score_options o = MVC_SCORE_OPTIONS_INIT;
	mvc_compare_options co = MVC_COMPARE_OPTIONS_INIT;
	mvc_compare *c = NULL;
	char *test;
	uint64_t s = 3;

	for (size_t i = 0; i < 64 * 4; i++)
		items[i] = (float)((double)(rnd_next(&s) >> 11) / 9007199254740992.0 - 0.5);
	for (int u = 0; u < 40; u++) {
		int it = u % 64;

		for (int k = 0; k < 4; k++) {
			good[u * 4 + k] = items[it * 4 + k];
			bad[u * 4 + k] = -items[it * 4 + k];
		}
		assert_ok(mvc_buf_printf(&csv, "%d,%d\n", u, it));
	}
	test = write_text(f, "t.csv", csv.ptr);
	{
		tspec t[] = { { "items", NULL, 2, { 64, 4 }, items }, { "users", NULL, 2, { 40, 4 }, bad } };

		commit_model(f, t, 2, "bad");
	}
	{
		tspec t[] = { { "items", NULL, 2, { 64, 4 }, items }, { "users", NULL, 2, { 40, 4 }, good } };

		commit_model(f, t, 2, "good");
	}
	o.items = "items";
	o.users = "users";
	o.test = test;
	assert_ok(mvc_score_compare(&c, f->repo, "HEAD~1", "HEAD", &o, &co));
	assert_int_equal(c->verdict, MVC_VERDICT_BETTER);
	NEAR(c->metrics[6].b, 1);      /* mrr: always first */
	mvc_compare_free(c);
	assert_ok(mvc_score_compare(&c, f->repo, "HEAD", "HEAD~1", &o, &co));
	assert_int_equal(c->verdict, MVC_VERDICT_WORSE);
	assert_int_equal(c->metrics[0].verdict, MVC_VERDICT_WORSE);
	mvc_compare_free(c);
	mvc_buf_free(&csv);
	unlink(test);
	free(test);
}

/* ---- data files ---- */

static void inter_err(const fx *f, const char *text, uint64_t ni, uint64_t nu, const char *frag)
{
	mvc__inter in;
	char *p = write_text(f, "bad.csv", text);

	assert_err(mvc__inter_read(&in, p, ni, nu), MVC_EINVALID, frag);
	unlink(p);
	free(p);
}

static void rows_err(const fx *f, const char *text, const char *frag)
{
	mvc__rows r;
	char *p = write_text(f, "bad.csv", text);

	assert_err(mvc__rows_read(&r, p), MVC_EINVALID, frag);
	unlink(p);
	free(p);
}

static void test_csv(void **state)
{
	fx *f = *state;
	mvc__inter in;
	mvc__rows r;
	char *p, *big;
	unsigned char d[MVC_DIGEST_SIZE];
	char hex[MVC_DIGEST_HEXSZ + 1];
	const char *text = "user, item ,weight\n3,1,2\n\n1,4\r\n3,1,0.5\n3,0\n";

	p = write_text(f, "ok.csv", text);
	assert_ok(mvc__inter_read(&in, p, 5, 0));
	assert_int_equal(in.nusers, 2);
	assert_int_equal(in.users[0], 1);
	assert_int_equal(in.users[1], 3);
	assert_int_equal(in.start[1] - in.start[0], 1);
	assert_int_equal(in.items[in.start[1]], 0);
	assert_int_equal(in.items[in.start[1] + 1], 1);
	NEAR(in.w[in.start[1] + 1], 2.5);           /* repeated pair: weights add up */
	crypto_generichash(d, sizeof(d), (const unsigned char *)text, strlen(text), NULL, 0);
	mvc_digest_hex(hex, d);
	assert_string_equal(in.digest, hex);
	assert_int_equal(mvc__inter_find(&in, 3), 1);
	assert_int_equal(mvc__inter_find(&in, 2), -1);
	mvc__inter_free(&in);
	unlink(p);
	free(p);

	inter_err(f, "", 5, 0, "bad.csv' is empty");
	inter_err(f, "user,item\n\n", 5, 0, "bad.csv' has no interactions");
	inter_err(f, "1,2\n1,9\n", 5, 0, "bad.csv' line 2: item 9 is out of range: the item table has 5 rows");
	inter_err(f, "1,2\n8,1\n", 5, 4, "bad.csv' line 2: user 8 is out of range");
	inter_err(f, "1,2\n1,x\n", 5, 0, "bad.csv' line 2: item 'x' is not a non-negative integer");
	inter_err(f, "1,2\n-1,2\n", 5, 0, "line 2: user '-1' is not");
	inter_err(f, "1,2,nan\n", 5, 0, "line 1: weight 'nan' is not a finite number");
	inter_err(f, "1,2,1e999\n", 5, 0, "line 1: weight '1e999' is not a finite number");
	inter_err(f, "1,2,3,4\n", 5, 0, "line 1: more than 3 fields");
	inter_err(f, "1,2\n5\n", 5, 0, "line 2: one field");
	inter_err(f, "99999999999999999999,1\n", 5, 0, "is not a non-negative integer");
	inter_err(f, "1,2\nuser,item\n", 5, 0, "line 2: user 'user' is not");
	{
		char nul[] = "1,2\n1,\0003\n";

		p = path_join(f->tmp, "bad.csv");
		write_bytes(p, nul, sizeof(nul) - 1);
		assert_err(mvc__inter_read(&in, p, 5, 0), MVC_EINVALID, "line 2: a NUL byte");
		unlink(p);
		free(p);
	}
	big = malloc(70000);
	memset(big, '1', 69998);
	big[69998] = '\n';
	big[69999] = '\0';
	inter_err(f, big, 5, 0, "line 1: longer than 65536 bytes");
	free(big);
	p = path_join(f->tmp, "missing.csv");
	assert_err(mvc__inter_read(&in, p, 5, 0), MVC_ENOTFOUND, "missing.csv'");
	free(p);

	p = write_text(f, "rows.csv", "a,b,label\n1.5,-2,1\n0,3e2,0\n");
	assert_ok(mvc__rows_read(&r, p));
	assert_int_equal(r.n, 2);
	assert_int_equal(r.nfeat, 2);
	assert_true(r.x[1] == -2 && r.x[3] == 300 && r.y[0] == 1 && r.y[1] == 0);
	mvc__rows_free(&r);
	unlink(p);
	free(p);
	rows_err(f, "1,2,1\n1,1\n", "bad.csv' line 2: 2 fields where the first row has 3");
	rows_err(f, "1,2,2\n", "line 1: label '2' is not 0 or 1");
	rows_err(f, "1,x,1\n", "line 1: feature 'x' is not a finite number");
	rows_err(f, "1,1e39,1\n", "line 1: feature '1e39' is not a finite number");
	rows_err(f, "5\n", "line 1: one field");
	rows_err(f, "f,label\n", "has no rows");
}

/* ---- recording ---- */

static void test_record(void **state)
{
	fx *f = *state;
	float v[4] = { 1, 2, 3, 4 }, w[4] = { 4, 3, 2, 1 };
	tspec t1[] = { { "w", NULL, 2, { 2, 2 }, v } }, t2[] = { { "w", NULL, 2, { 2, 2 }, w } };
	mvc_score_options o = MVC_SCORE_OPTIONS_INIT;
	const char *names[] = { "ctr", "latency_ms" };
	double values[] = { 0.031, 12 };
	mvc_score *s = NULL, *latest = NULL;
	mvc_score_list *l = NULL;
	mvc_score_bound b[2];
	mvc_score_filter flt;
	mvc_oid v1, v2, v3;
	git_note *note = NULL;
	git_oid tree;
	size_t missed = 9;
	int good;

	v1 = commit_model(f, t1, 1, "one");
	v2 = commit_model(f, t2, 1, "two");
	o.eval = MVC_EVAL_RECORD;
	o.names = names;
	o.values = values;
	o.nvalues = 2;
	o.source = "online-ab";
	assert_ok(mvc_score_eval(&s, f->repo, "HEAD~1", &o));
	assert_string_equal(s->evaluator, "record");
	assert_string_equal(s->source, "online-ab");
	assert_memory_equal(&s->version, &v1, sizeof(v1));
	assert_ok(mvc_score_record(f->repo, s));
	s->metrics[0].value = 0.04;
	s->time += 10;
	assert_ok(mvc_score_record(f->repo, s));
	mvc_score_free(s);
	/* two lines in the note on v1's tree; v2 has none */
	assert_ok(mvc_score_list_read(&l, f->repo, &v1));
	assert_int_equal(l->count, 2);
	assert_int_equal(l->invalid, 0);
	NEAR(l->scores[0].metrics[0].value, 0.031);
	NEAR(l->scores[1].metrics[0].value, 0.04);
	assert_ok(mvc_score_latest(&latest, l, NULL));
	NEAR(metric(latest, "ctr"), 0.04);
	assert_err(mvc_score_latest(&s, l, "00ff"), MVC_ENOTFOUND, "no recorded score on that data");
	mvc_score_list_free(l);
	assert_ok(mvc_score_list_read(&l, f->repo, &v2));
	assert_int_equal(l->count, 0);
	mvc_score_list_free(l);
	{
		git_commit *c = NULL;
		git_oid cid;

		mvc__oid_to_git(&cid, &v1);
		assert_int_equal(git_commit_lookup(&c, mvc__repo_git(f->repo), &cid), 0);
		git_oid_cpy(&tree, git_commit_tree_id(c));
		git_commit_free(c);
	}
	assert_int_equal(git_note_read(&note, mvc__repo_git(f->repo), MVC_SCORE_NOTES_REF, &tree), 0);
	assert_non_null(strstr(git_note_message(note), "{\"metrics\":{\"ctr\":0.031,\"latency_ms\":12},"
	    "\"evaluator\":\"record\",\"options\":{},\"data\":{},\"n\":0,\"skipped\":0,\"time\":"));
	assert_non_null(strstr(git_note_message(note), "\"source\":\"online-ab\",\"version\":\""));
	git_note_free(note);

	/* a later version with v1's models (as a rollback makes it) shows v1's scores */
	{
		git_repository *git = mvc__repo_git(f->repo);
		git_signature *sig = NULL;
		git_commit *parent = NULL;
		git_tree *tr = NULL;
		git_oid pid, nid;

		mvc__oid_to_git(&pid, &v2);
		assert_int_equal(git_commit_lookup(&parent, git, &pid), 0);
		assert_int_equal(git_tree_lookup(&tr, git, &tree), 0);
		assert_int_equal(git_signature_now(&sig, "t", "t@e"), 0);
		assert_int_equal(git_commit_create_v(&nid, git, "HEAD", sig, sig, NULL, "back to one",
		    tr, 1, parent), 0);
		mvc__oid_from_git(&v3, &nid);
		git_signature_free(sig);
		git_commit_free(parent);
		git_tree_free(tr);
	}
	assert_ok(mvc_score_list_read(&l, f->repo, &v3));
	assert_int_equal(l->count, 2);
	mvc_score_list_free(l);

	/* bounds */
	assert_ok(mvc_score_bound_parse(&b[0], "ctr=0.035", 0));
	assert_string_equal(b[0].metric, "ctr");
	assert_ok(mvc_score_bound_parse(&b[1], "latency_ms=20", 1));
	assert_int_equal(mvc_score_meets(latest, b, 2, &missed), 1);
	b[0].value = 0.05;
	assert_int_equal(mvc_score_meets(latest, b, 2, &missed), 0);
	assert_int_equal(missed, 0);
	assert_ok(mvc_score_bound_parse(&b[0], "recall@10=0.1", 0));
	assert_int_equal(mvc_score_meets(latest, b, 1, NULL), 0);
	assert_err(mvc_score_bound_parse(&b[0], "ctr", 0), MVC_EINVALID, "is not METRIC=VALUE");
	assert_err(mvc_score_bound_parse(&b[0], "ctr=x", 0), MVC_EINVALID, "not a finite number");
	assert_err(mvc_score_bound_parse(&b[0], "=1", 0), MVC_EINVALID, "1 to 64 bytes");
	assert_err(mvc_score_bound_parse(&b[0], "a b=1", 0), MVC_EINVALID, "letters, digits");
	/* good: v3 (v1's models) yes, v2 no */
	assert_ok(mvc_score_bound_parse(&b[0], "ctr=0.035", 0));
	memset(&flt, 0, sizeof(flt));
	flt.bounds = b;
	flt.nbounds = 1;
	assert_ok(mvc_score_good(&good, f->repo, &v3, &flt));
	assert_int_equal(good, 1);
	assert_ok(mvc_score_good(&good, f->repo, &v2, &flt));
	assert_int_equal(good, 0);
	flt.test_digest = "00ff";
	assert_ok(mvc_score_good(&good, f->repo, &v3, &flt));
	assert_int_equal(good, 0);
	mvc_score_free(latest);

	/* what cannot be recorded */
	values[0] = NAN;
	assert_err(mvc_score_eval(&s, f->repo, "HEAD", &o), MVC_EINVALID, "not a finite number");
	values[0] = 1;
	names[1] = "ctr";
	assert_err(mvc_score_eval(&s, f->repo, "HEAD", &o), MVC_EINVALID, "given twice");
	names[1] = "a=b";
	assert_err(mvc_score_eval(&s, f->repo, "HEAD", &o), MVC_EINVALID, "bad metric name 'a=b'");
	names[1] = "x";
	o.source = "two words";
	assert_err(mvc_score_eval(&s, f->repo, "HEAD", &o), MVC_EINVALID, "bad source");
}

/* Lines of a note that are not scores (a hand edit, a newer mvc's
 * mistake) are counted and skipped, never fatal. */
static void test_note_garbage(void **state)
{
	fx *f = *state;
	float v[4] = { 1, 2, 3, 4 };
	tspec t[] = { { "w", NULL, 2, { 2, 2 }, v } };
	git_repository *git = mvc__repo_git(f->repo);
	git_signature *sig = NULL;
	git_commit *c = NULL;
	git_oid cid, nid;
	mvc_score_list *l = NULL;
	mvc_oid id = commit_model(f, t, 1, "w");

	mvc__oid_to_git(&cid, &id);
	assert_int_equal(git_commit_lookup(&c, git, &cid), 0);
	assert_int_equal(git_signature_now(&sig, "t", "t@e"), 0);
	assert_int_equal(git_note_create(&nid, git, MVC_SCORE_NOTES_REF, sig, sig,
	    git_commit_tree_id(c),
	    "not json\n{\"metrics\":{\"a\":1},\"evaluator\":\"x\",\"time\":5}\n"
	    "{\"metrics\":{\"a\":\"one\"},\"evaluator\":\"x\",\"time\":5}\n[1]\n", 1), 0);
	assert_ok(mvc_score_list_read(&l, f->repo, &id));
	assert_int_equal(l->count, 1);
	assert_int_equal(l->invalid, 3);
	assert_string_equal(l->scores[0].source, "offline");
	mvc_score_list_free(l);
	git_signature_free(sig);
	git_commit_free(c);
}

/* A score of a list built by hand: metrics "name=value" as given. */
static void hand_score(mvc_score *s, int64_t time, size_t n, const char *const *names,
                       const double *values)
{
	memset(s, 0, sizeof(*s));
	s->time = time;
	s->evaluator = strdup("record");
	s->source = strdup("offline");
	s->options = strdup("{}");
	s->data = strdup("{}");
	for (size_t i = 0; i < n; i++)
		assert_ok(mvc__score_add(s, names[i], values[i]));
}

/*
 * mvc_score_latest: every metric once, in order of first appearance,
 * each with its newest value, a later line winning a tie in time; and a
 * note of many lines (they come from remotes) is read in linear-ish
 * time, not one search per metric.
 */
static void test_latest_order(void **state)
{
	static const char *const n0[] = { "a", "b" }, *const n1[] = { "c", "a" },
	    *const n2[] = { "b", "d" }, *const n3[] = { "a" };
	static const double v0[] = { 1, 2 }, v1[] = { 3, 4 }, v2[] = { 5, 6 }, v3[] = { 7 };
	mvc_score_list *l = calloc(1, sizeof(*l));
	mvc_score *r = NULL;
	const size_t many = 20000;

	(void)state;
	assert_non_null(l);
	assert_non_null(l->scores = calloc(many, sizeof(*l->scores)));
	hand_score(&l->scores[0], 10, 2, n0, v0);
	hand_score(&l->scores[1], 30, 2, n1, v1);
	hand_score(&l->scores[2], 20, 2, n2, v2);
	hand_score(&l->scores[3], 30, 1, n3, v3);
	l->count = 4;
	assert_ok(mvc_score_latest(&r, l, NULL));
	assert_int_equal(r->nmetrics, 4);
	assert_string_equal(r->metrics[0].name, "a");
	assert_string_equal(r->metrics[1].name, "b");
	assert_string_equal(r->metrics[2].name, "c");
	assert_string_equal(r->metrics[3].name, "d");
	assert_true(r->metrics[0].value == 7);   /* the tie at 30: the later line */
	assert_true(r->metrics[1].value == 5);
	assert_true(r->metrics[2].value == 3);
	assert_true(r->metrics[3].value == 6);
	assert_int_equal(r->time, 30);
	mvc_score_free(r);
	/* 20,000 lines of one metric each: a second at most, not minutes */
	for (size_t i = 4; i < many; i++) {
		char name[32];
		const char *nm = name;
		double v = (double)i;

		snprintf(name, sizeof(name), "m%zu", i);
		hand_score(&l->scores[i], (int64_t)i, 1, &nm, &v);
	}
	l->count = many;
	assert_ok(mvc_score_latest(&r, l, NULL));
	assert_int_equal(r->nmetrics, 4 + many - 4);
	assert_string_equal(r->metrics[4].name, "m4");
	assert_string_equal(r->metrics[many - 1].name, "m19999");
	assert_true(r->metrics[many - 1].value == 19999);
	mvc_score_free(r);
	mvc_score_list_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retrieval_by_hand),
		cmocka_unit_test(test_retrieval_random_dot),
		cmocka_unit_test(test_retrieval_random_cosine),
		cmocka_unit_test_setup_teardown(test_retrieval_evaluator, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retrieval_dtypes, setup, teardown),
		cmocka_unit_test(test_auc),
		cmocka_unit_test_setup_teardown(test_classifier, setup, teardown),
		cmocka_unit_test_setup_teardown(test_command, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compare, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compare_verdicts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_csv, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_note_garbage, setup, teardown),
		cmocka_unit_test(test_latest_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
