/*
 * lib/diff.c through the public API: statistics against a reference
 * computed here, independently and element by element, on random data;
 * statuses; what is and is not read; bad input.
 */
#include <dirent.h>
#include <math.h>
#include <time.h>
#include "unit.h"
#include "internal.h"

#define MODEL "model.safetensors"

typedef struct {
	char *tmp;     /* the test's directory */
	char *work;    /* tmp/w: the working directory */
	char *model;   /* tmp/w/model.safetensors */
	mvc_repo *repo;
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->tmp = tmpdir_new("diff");
	f->work = path_join(f->tmp, "w");
	f->model = path_join(f->work, MODEL);
	if (mvc_repo_init(&f->repo, f->work) < 0)
		return -1;
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

/* ---- model files ---- */

typedef struct {
	const char *name;
	const char *dtype;
	unsigned ndim;
	uint64_t shape[2];
	const void *data;   /* exactly the tensor's bytes */
} tdef;

static size_t dtype_size(const char *dt)
{
	static const struct { const char *n; size_t s; } t[] = {
		{ "F64", 8 }, { "I64", 8 }, { "U64", 8 }, { "C64", 8 }, { "F32", 4 },
		{ "I32", 4 }, { "U32", 4 }, { "F16", 2 }, { "BF16", 2 }, { "I16", 2 },
		{ "U16", 2 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (!strcmp(t[i].n, dt))
			return t[i].s;
	return 1;
}

static size_t tdef_bytes(const tdef *t)
{
	size_t n = dtype_size(t->dtype);

	for (unsigned d = 0; d < t->ndim; d++)
		n *= t->shape[d];
	return n;
}

/* A safetensors file: optional __metadata__, tensors in the order given. */
static unsigned char *build(size_t *len, const tdef *ts, size_t n, const char *meta)
{
	size_t cap = 4096 + n * 256, h = 0, off = 0, total = 0;
	char *hdr = malloc(cap);
	unsigned char *data, *out;

	assert_non_null(hdr);
	h += (size_t)snprintf(hdr + h, cap - h, "{\"__metadata__\":{\"note\":\"%s\"}",
	    meta ? meta : "v");
	for (size_t i = 0; i < n; i++) {
		size_t sz = tdef_bytes(&ts[i]);
		char shape[64] = "";

		for (unsigned d = 0; d < ts[i].ndim; d++)
			snprintf(shape + strlen(shape), sizeof(shape) - strlen(shape), "%s%llu",
			    d ? "," : "", (unsigned long long)ts[i].shape[d]);
		h += (size_t)snprintf(hdr + h, cap - h,
		    ",\"%s\":{\"dtype\":\"%s\",\"shape\":[%s],\"data_offsets\":[%zu,%zu]}",
		    ts[i].name, ts[i].dtype, shape, off, off + sz);
		off += sz;
	}
	hdr[h++] = '}';
	while (h % 8)
		hdr[h++] = ' ';
	total = off;
	data = malloc(total + 1);
	assert_non_null(data);
	off = 0;
	for (size_t i = 0; i < n; i++) {
		memcpy(data + off, ts[i].data, tdef_bytes(&ts[i]));
		off += tdef_bytes(&ts[i]);
	}
	out = st_build(len, hdr, h, data, total);
	free(data);
	free(hdr);
	return out;
}

static void put(const fx *f, const char *rel, const tdef *ts, size_t n, const char *meta)
{
	char *path = path_join(f->work, rel);
	size_t len;
	unsigned char *p = build(&len, ts, n, meta);

	write_bytes(path, p, len);
	free(p);
	free(path);
}

static void commit_all(const fx *f, const char *msg)
{
	mvc_commit_options o = MVC_COMMIT_OPTIONS_INIT;
	const char *paths[] = { MODEL };
	mvc_oid id;

	o.message = msg;
	mvc_error_clear();
	assert_ok(mvc_commit(&id, NULL, f->repo, paths, 1, &o));
}

static void set_chunk_size(const fx *f, int64_t size)
{
	git_config *cfg = NULL;

	assert_int_equal(git_repository_config(&cfg, mvc__repo_git(f->repo)), 0);
	assert_int_equal(git_config_set_int64(cfg, "mvc.chunkSize", size), 0);
	git_config_free(cfg);
}

/* ---- data and the reference ---- */

static double unif(uint64_t *s)
{
	return (double)(rnd_next(s) >> 11) / 9007199254740992.0;
}

/* Gaussian-ish weights of scale `sc`. */
static void fill_f32(float *w, size_t n, uint64_t seed, double sc)
{
	uint64_t s = seed;

	for (size_t i = 0; i < n; i++)
		w[i] = (float)((unif(&s) + unif(&s) + unif(&s) - 1.5) * sc);
}

/* A copy of `a` with a share `p` of elements moved by up to `eps` (relative). */
static float *perturb_f32(const float *a, size_t n, double p, double eps, uint64_t seed)
{
	float *b = malloc(n * sizeof(*b) + 1);
	uint64_t s = seed;

	assert_non_null(b);
	memcpy(b, a, n * sizeof(*b));
	for (size_t i = 0; i < n; i++)
		if (unif(&s) < p)
			b[i] = (float)(a[i] + (unif(&s) - 0.5) * eps);
	return b;
}

typedef struct {
	uint64_t n, differ, nan, inf, nonfin;
	double sd, so, sn, dot, max;
} ref;

/* The statistics, one element at a time, straight from the definitions. */
static void ref_add(ref *r, double x, double y, int bits_differ)
{
	r->n++;
	r->differ += bits_differ;
	if (isnan(y))
		r->nan++;
	else if (isinf(y))
		r->inf++;
	if (isfinite(x) && isfinite(y)) {
		r->sd += (y - x) * (y - x);
		r->so += x * x;
		r->sn += y * y;
		r->dot += x * y;
		if (fabs(y - x) > r->max)
			r->max = fabs(y - x);
	} else if (bits_differ && !(isnan(x) && isnan(y))) {
		r->nonfin++;
	}
}

static void ref_f32(ref *r, const float *a, const float *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ref_add(r, a[i], b[i], memcmp(&a[i], &b[i], 4) != 0);
}

/* Half precision from its definition, in double arithmetic (not the bit
 * manipulation the library uses). */
static double half_ref(uint16_t h)
{
	int sign = h >> 15, e = (h >> 10) & 0x1f, m = h & 0x3ff;
	double v;

	if (e == 31)
		v = m ? NAN : INFINITY;
	else if (e == 0)
		v = ldexp((double)m, -24);
	else
		v = ldexp((double)(1024 + m), e - 25);
	return sign ? -v : v;
}

static double bf16_ref(uint16_t h)
{
	int sign = h >> 15, e = (h >> 7) & 0xff, m = h & 0x7f;
	double v;

	if (e == 255)
		v = m ? NAN : INFINITY;
	else if (e == 0)
		v = ldexp((double)m, -133);
	else
		v = ldexp((double)(128 + m), e - 134);
	return sign ? -v : v;
}

static void assert_close_(double got, double want, double rel, const char *what, int line)
{
	double tol = rel * fabs(want) + 1e-300;

	if (!(fabs(got - want) <= tol))
		fail_msg("line %d: %s = %.17g, reference %.17g", line, what, got, want);
}
#define assert_close(got, want, rel) assert_close_((got), (want), (rel), #got, __LINE__)

/* The tensor entry named `name` of the only (or first) file. */
static const mvc_diff_tensor *entry(const mvc_diff *d, const char *name)
{
	for (size_t i = 0; i < d->count; i++)
		for (size_t k = 0; k < d->files[i].count; k++)
			if (!strcmp(d->files[i].tensors[k].name, name))
				return &d->files[i].tensors[k];
	fail_msg("no entry for tensor '%s'", name);
	return NULL;
}

/* The float statistics of `e` against the reference. */
static void assert_stats(const mvc_diff_tensor *e, const ref *r)
{
	double rel = 1e-9;

	assert_int_equal(e->compared, MVC_DIFF_COMPARE_FLOAT);
	assert_int_equal(e->elements, r->n);
	assert_int_equal(e->elements_changed, r->differ);
	assert_close(e->fraction_changed, (double)r->differ / (double)r->n, 1e-12);
	assert_close(e->l2_diff, sqrt(r->sd), rel);
	assert_close(e->l2_old, sqrt(r->so), rel);
	assert_close(e->l2_new, sqrt(r->sn), rel);
	assert_int_equal(e->relative_defined, r->so > 0);
	if (r->so > 0)
		assert_close(e->relative, sqrt(r->sd) / sqrt(r->so), rel);
	assert_int_equal(e->cosine_defined, r->so > 0 && r->sn > 0);
	if (r->so > 0 && r->sn > 0) {
		double c = r->dot / (sqrt(r->so) * sqrt(r->sn));

		assert_close(e->cosine, c > 1 ? 1 : c, rel);
	}
	assert_close(e->max_abs_diff, r->max, 0);
	assert_int_equal(e->nan_count, r->nan);
	assert_int_equal(e->inf_count, r->inf);
	assert_int_equal(e->nonfinite_changed, r->nonfin);
}

/* Two results for the same tensor agree to the last bit. */
static void assert_same_numbers(const mvc_diff_tensor *a, const mvc_diff_tensor *b)
{
	assert_int_equal(a->status, b->status);
	assert_int_equal(a->elements, b->elements);
	assert_int_equal(a->elements_changed, b->elements_changed);
	assert_int_equal(a->bytes_changed, b->bytes_changed);
	assert_int_equal(a->chunks_changed, b->chunks_changed);
	assert_memory_equal(&a->l2_diff, &b->l2_diff, sizeof(double));
	assert_memory_equal(&a->l2_old, &b->l2_old, sizeof(double));
	assert_memory_equal(&a->l2_new, &b->l2_new, sizeof(double));
	assert_memory_equal(&a->relative, &b->relative, sizeof(double));
	assert_memory_equal(&a->max_abs_diff, &b->max_abs_diff, sizeof(double));
	assert_memory_equal(&a->cosine, &b->cosine, sizeof(double));
	assert_int_equal(a->nan_count, b->nan_count);
}

static mvc_diff *diff_versions(const fx *f, const char *a, const char *b, unsigned threads)
{
	mvc_diff_options o = MVC_DIFF_OPTIONS_INIT;
	mvc_diff *d = NULL;

	o.threads = threads;
	mvc_error_clear();
	assert_ok(mvc_diff_versions(&d, f->repo, a, b, NULL, 0, &o));
	return d;
}

static mvc_diff *diff_work(const fx *f, const char *rev, int stat)
{
	mvc_diff_options o = MVC_DIFF_OPTIONS_INIT;
	mvc_diff *d = NULL;

	o.stat = stat;
	mvc_error_clear();
	assert_ok(mvc_diff_workdir(&d, f->repo, rev, NULL, 0, &o));
	return d;
}

/* ---- tests ---- */

/* Every half and bfloat16 value against its definition; the edge cases
 * by name. */
static void test_half_conversion(void **state)
{
	(void)state;
	for (uint32_t i = 0; i < 65536; i++) {
		double want = half_ref((uint16_t)i), got = mvc_f16_to_float((uint16_t)i);
		double want_b = bf16_ref((uint16_t)i), got_b = mvc_bf16_to_float((uint16_t)i);

		if (isnan(want) ? !isnan(got) : got != want || signbit(got) != signbit(want))
			fail_msg("f16 0x%04x: %.17g, wanted %.17g", i, got, want);
		if (isnan(want_b) ? !isnan(got_b) : got_b != want_b || signbit(got_b) != signbit(want_b))
			fail_msg("bf16 0x%04x: %.17g, wanted %.17g", i, got_b, want_b);
	}
	assert_true(mvc_f16_to_float(0x0001) == ldexpf(1, -24));  /* smallest subnormal */
	assert_true(mvc_f16_to_float(0x03ff) == ldexpf(1023, -24)); /* largest subnormal */
	assert_true(mvc_f16_to_float(0x0400) == ldexpf(1, -14));  /* smallest normal */
	assert_true(mvc_f16_to_float(0x3c00) == 1.0f);
	assert_true(mvc_f16_to_float(0xc000) == -2.0f);
	assert_true(mvc_f16_to_float(0x7bff) == 65504.0f);
	assert_true(isinf(mvc_f16_to_float(0x7c00)) && mvc_f16_to_float(0x7c00) > 0);
	assert_true(isinf(mvc_f16_to_float(0xfc00)) && mvc_f16_to_float(0xfc00) < 0);
	assert_true(isnan(mvc_f16_to_float(0x7e00)) && isnan(mvc_f16_to_float(0x7c01)));
	assert_true(mvc_f16_to_float(0x8000) == 0 && signbit(mvc_f16_to_float(0x8000)));
	assert_true(mvc_bf16_to_float(0x3f80) == 1.0f);
	assert_true(mvc_bf16_to_float(0x0001) == ldexpf(1, -133));
	assert_true(isinf(mvc_bf16_to_float(0x7f80)) && isnan(mvc_bf16_to_float(0x7fc1)));
	{
		/* NaN payloads survive: the conversion is one to one */
		float a = mvc_f16_to_float(0x7c01), b = mvc_f16_to_float(0x7c02);
		assert_memory_not_equal(&a, &b, 4);
		a = mvc_bf16_to_float(0x7fc1);
		b = mvc_bf16_to_float(0x7fc2);
		assert_memory_not_equal(&a, &b, 4);
	}
}

/* A tensor of a million random elements, 10% of them moved, over many
 * chunks (some of them unchanged): versions, working file and two loose
 * files all agree with the reference, and the thread count changes no
 * bit of the result. */
static void test_stats_million(void **state)
{
	fx *f = *state;
	const size_t n = 1000000;
	float *a = malloc(n * sizeof(*a)), *b, *bias = malloc(64 * sizeof(*bias));
	tdef ts[2] = {
		{ "w", "F32", 2, { 1000, 1000 }, NULL },
		{ "bias", "F32", 1, { 64 }, NULL },
	};
	mvc_diff *d1, *d3, *dw, *dn;
	mvc_diff_options o = MVC_DIFF_OPTIONS_INIT;
	const mvc_diff_tensor *e;
	char *pa = path_join(f->tmp, "a.safetensors"), *pb = path_join(f->tmp, "b.safetensors");
	size_t la, lb;
	unsigned char *fa, *fb;
	ref r;

	assert_non_null(a);
	set_chunk_size(f, 64 * 1024);  /* 16 rows a chunk: 63 chunks */
	fill_f32(a, n, 11, 0.05);
	fill_f32(bias, 64, 12, 0.1);
	/* rows 0..159 (10 chunks) stay; the rest: 10% of elements move */
	b = perturb_f32(a, n, 0.1, 1e-3, 13);
	memcpy(b, a, 160 * 1000 * sizeof(*b));
	ts[0].data = a;
	ts[1].data = bias;
	put(f, MODEL, ts, 2, NULL);
	fa = build(&la, ts, 2, NULL);
	write_bytes(pa, fa, la);
	commit_all(f, "v1");
	ts[0].data = b;
	put(f, MODEL, ts, 2, NULL);
	fb = build(&lb, ts, 2, NULL);
	write_bytes(pb, fb, lb);
	commit_all(f, "v2");

	memset(&r, 0, sizeof(r));
	ref_f32(&r, a, b, n);
	assert_true(r.differ > 80000 && r.differ < 90000);
	d1 = diff_versions(f, "HEAD~1", "HEAD", 1);
	d3 = diff_versions(f, "HEAD~1", "HEAD", 3);
	e = entry(d1, "w");
	assert_int_equal(e->status, MVC_DIFF_CHANGED);
	assert_stats(e, &r);
	assert_int_equal(e->chunks, 63);
	assert_int_equal(e->chunks_changed, 53);
	assert_int_equal(e->bytes_changed > 0, 1);
	assert_int_equal(entry(d1, "bias")->status, MVC_DIFF_UNCHANGED);
	/* identical, bit for bit, whatever the thread count */
	assert_same_numbers(entry(d3, "w"), e);
	assert_int_equal(d1->summary.tensors_changed, 1);
	assert_int_equal(d1->summary.tensors_total, 2);
	assert_true(d1->summary.largest == e);
	/* 53 changed chunks, each decoded once and its delta applied, and
	 * the 10 equal ones decoded once for the norms */
	assert_int_equal(d1->summary.chunks_decoded, 2 * 53 + 10);
	assert_int_equal(d1->summary.differs, 1);

	/* the working file against HEAD~1: the same numbers */
	dw = diff_work(f, "HEAD~1", 0);
	assert_stats(entry(dw, "w"), &r);
	assert_same_numbers(entry(dw, "w"), e);
	/* ... and two files outside the repository (another chunk plan) */
	mvc_error_clear();
	assert_ok(mvc_diff_files(&dn, pa, pb, &o));
	assert_stats(entry(dn, "w"), &r);
	assert_int_equal(entry(dn, "w")->chunks, 4);          /* 262 rows a chunk */
	assert_int_equal(entry(dn, "w")->chunks_changed, 4);
	assert_int_equal(entry(dn, "bias")->status, MVC_DIFF_UNCHANGED);
	assert_string_equal(dn->files[0].path, pb);
	assert_string_equal(dn->files[0].old_path, pa);
	mvc_diff_free(d1);
	mvc_diff_free(d3);
	mvc_diff_free(dw);
	mvc_diff_free(dn);
	free(fa);
	free(fb);
	free(pa);
	free(pb);
	free(a);
	free(b);
	free(bias);
}

/* Zero tensors: relative change and cosine are undefined, and say so. */
static void test_zero_tensors(void **state)
{
	fx *f = *state;
	float zero[32] = { 0 }, w[32], w2[32];
	tdef ts[3] = {
		{ "z2w", "F32", 1, { 32 }, zero },   /* zero, then weights */
		{ "w2z", "F32", 1, { 32 }, w },      /* weights, then zero */
		{ "zz", "F32", 1, { 32 }, zero },    /* zero, then -0 */
	};
	float negzero[32];
	mvc_diff *d;
	const mvc_diff_tensor *e;
	ref r;

	fill_f32(w, 32, 5, 1);
	fill_f32(w2, 32, 6, 1);
	for (int i = 0; i < 32; i++)
		negzero[i] = -0.0f;
	put(f, MODEL, ts, 3, NULL);
	commit_all(f, "v1");
	ts[0].data = w2;
	ts[1].data = zero;
	ts[2].data = negzero;
	put(f, MODEL, ts, 3, NULL);
	commit_all(f, "v2");
	d = diff_versions(f, "HEAD~1", "HEAD", 0);

	e = entry(d, "z2w");
	memset(&r, 0, sizeof(r));
	ref_f32(&r, zero, w2, 32);
	assert_stats(e, &r);
	assert_int_equal(e->relative_defined, 0);
	assert_int_equal(e->cosine_defined, 0);
	assert_true(e->l2_diff > 0);

	e = entry(d, "w2z");
	memset(&r, 0, sizeof(r));
	ref_f32(&r, w, zero, 32);
	assert_stats(e, &r);
	assert_int_equal(e->relative_defined, 1);
	assert_close(e->relative, 1.0, 1e-15);
	assert_int_equal(e->cosine_defined, 0);

	/* -0 differs from +0 bitwise, by nothing in value */
	e = entry(d, "zz");
	assert_int_equal(e->status, MVC_DIFF_CHANGED);
	assert_int_equal(e->elements_changed, 32);
	assert_true(e->l2_diff == 0 && e->max_abs_diff == 0);
	assert_int_equal(e->relative_defined, 0);
	assert_int_equal(e->cosine_defined, 0);
	/* nothing moved more than any positive tolerance */
	mvc_diff_free(d);
	{
		mvc_diff_options o = MVC_DIFF_OPTIONS_INIT;

		o.tolerance = 1e-30;
		assert_ok(mvc_diff_versions(&d, f->repo, "HEAD~1", "HEAD", NULL, 0, &o));
		assert_int_equal(entry(d, "zz")->exceeds, 0);
		assert_int_equal(entry(d, "z2w")->exceeds, 1);
		mvc_diff_free(d);
	}
}

/* NaN and Inf: counted in the new tensor, kept out of the sums, never
 * within a tolerance. */
static void test_nan_inf(void **state)
{
	fx *f = *state;
	const size_t n = 4096;
	float *a = malloc(n * 4), *b;
	tdef ts[1] = { { "w", "F32", 2, { 64, 64 }, NULL } };
	uint32_t qnan = 0x7fc00000, qnan2 = 0x7fc00001;
	mvc_diff *d;
	mvc_diff_options o = MVC_DIFF_OPTIONS_INIT;
	const mvc_diff_tensor *e;
	ref r;

	fill_f32(a, n, 21, 0.1);
	memcpy(&a[7], &qnan, 4);       /* NaN in both, same bits: no difference */
	memcpy(&a[8], &qnan, 4);       /* NaN in both, other payload: differs, not numerically */
	a[9] = INFINITY;               /* Inf to finite */
	b = perturb_f32(a, n, 0.2, 1e-2, 22);
	memcpy(&b[7], &qnan, 4);
	memcpy(&b[8], &qnan2, 4);
	b[9] = 1.0f;
	memcpy(&b[100], &qnan, 4);     /* finite to NaN */
	b[200] = INFINITY;
	b[201] = -INFINITY;
	ts[0].data = a;
	put(f, MODEL, ts, 1, NULL);
	commit_all(f, "v1");
	ts[0].data = b;
	put(f, MODEL, ts, 1, NULL);
	commit_all(f, "v2");

	memset(&r, 0, sizeof(r));
	ref_f32(&r, a, b, n);
	assert_int_equal(r.nan, 3);
	assert_int_equal(r.inf, 2);
	assert_int_equal(r.nonfin, 4);  /* elements 9, 100, 200, 201 */
	d = diff_versions(f, "HEAD~1", "HEAD", 0);
	e = entry(d, "w");
	assert_stats(e, &r);
	assert_true(isfinite(e->l2_diff) && isfinite(e->cosine) && isfinite(e->max_abs_diff));
	mvc_diff_free(d);

	o.tolerance = 1e30;
	assert_ok(mvc_diff_versions(&d, f->repo, "HEAD~1", "HEAD", NULL, 0, &o));
	assert_int_equal(entry(d, "w")->exceeds, 1);
	assert_int_equal(d->summary.differs, 1);
	mvc_diff_free(d);
	free(a);
	free(b);
}

/* F16, BF16 (subnormals included) and F64 against references that
 * convert by definition. */
static void test_half_and_double(void **state)
{
	fx *f = *state;
	const size_t n = 3000;
	uint16_t *h1 = malloc(n * 2), *h2 = malloc(n * 2), *g1 = malloc(n * 2), *g2 = malloc(n * 2);
	double *x1 = malloc(n * 8), *x2 = malloc(n * 8);
	tdef ts[3] = {
		{ "h", "F16", 2, { 30, 100 }, h1 },
		{ "g", "BF16", 2, { 30, 100 }, g1 },
		{ "x", "F64", 2, { 30, 100 }, x1 },
	};
	uint64_t s = 31;
	mvc_diff *d;
	ref r;

	for (size_t i = 0; i < n; i++) {
		/* every exponent, subnormals and zeros among them; no Inf/NaN */
		uint16_t v = (uint16_t)rnd_next(&s);

		if (((v >> 10) & 0x1f) == 0x1f)
			v &= 0xbfff;
		h1[i] = v;
		h2[i] = unif(&s) < 0.3 ? (uint16_t)(v ^ (rnd_next(&s) & 0x3ff)) : v;
		v = (uint16_t)rnd_next(&s);
		if (((v >> 7) & 0xff) == 0xff)
			v &= 0xbfff;
		g1[i] = v & 0x807f ? v : (uint16_t)(v | 1);
		g2[i] = unif(&s) < 0.3 ? (uint16_t)(g1[i] ^ (rnd_next(&s) & 0x7f)) : g1[i];
		x1[i] = (unif(&s) - 0.5) * 1e3;
		x2[i] = unif(&s) < 0.3 ? x1[i] * (1 + (unif(&s) - 0.5) * 1e-4) : x1[i];
	}
	h1[0] = 0x0001;   /* smallest subnormal, to the largest */
	h2[0] = 0x03ff;
	put(f, MODEL, ts, 3, NULL);
	commit_all(f, "v1");
	ts[0].data = h2;
	ts[1].data = g2;
	ts[2].data = x2;
	put(f, MODEL, ts, 3, NULL);
	commit_all(f, "v2");
	d = diff_versions(f, "HEAD~1", "HEAD", 0);

	memset(&r, 0, sizeof(r));
	for (size_t i = 0; i < n; i++)
		ref_add(&r, half_ref(h1[i]), half_ref(h2[i]), h1[i] != h2[i]);
	assert_stats(entry(d, "h"), &r);
	memset(&r, 0, sizeof(r));
	for (size_t i = 0; i < n; i++)
		ref_add(&r, bf16_ref(g1[i]), bf16_ref(g2[i]), g1[i] != g2[i]);
	assert_stats(entry(d, "g"), &r);
	{
		/* F64: the reference in extended precision */
		long double sd = 0, so = 0, sn = 0, dot = 0;
		double mx = 0;
		uint64_t differ = 0;
		const mvc_diff_tensor *e = entry(d, "x");

		for (size_t i = 0; i < n; i++) {
			long double dd = (long double)x2[i] - x1[i];

			differ += memcmp(&x1[i], &x2[i], 8) != 0;
			sd += dd * dd;
			so += (long double)x1[i] * x1[i];
			sn += (long double)x2[i] * x2[i];
			dot += (long double)x1[i] * x2[i];
			if (fabs(x2[i] - x1[i]) > mx)
				mx = fabs(x2[i] - x1[i]);
		}
		assert_int_equal(e->elements_changed, differ);
		assert_close(e->l2_diff, (double)sqrtl(sd), 1e-12);
		assert_close(e->l2_old, (double)sqrtl(so), 1e-12);
		assert_close(e->relative, (double)(sqrtl(sd) / sqrtl(so)), 1e-12);
		assert_close(e->cosine, (double)(dot / sqrtl(so * sn)), 1e-15);
		assert_close(e->max_abs_diff, mx, 1e-15);
		assert_true(e->cosine < 1 && e->l2_diff > 0);
	}
	mvc_diff_free(d);
	free(h1); free(h2); free(g1); free(g2); free(x1); free(x2);
}

/* Integer and bool tensors compare exactly; F8 and C64 by bytes. */
static void test_exact_and_bytes(void **state)
{
	fx *f = *state;
	int64_t i1[100], i2[100];
	int16_t s1[50], s2[50];
	unsigned char b1[64], b2[64], q1[40], q2[40], c1[80], c2[80];
	tdef ts[5] = {
		{ "i64", "I64", 1, { 100 }, i1 },
		{ "i16", "I16", 1, { 50 }, s1 },
		{ "flags", "BOOL", 1, { 64 }, b1 },
		{ "q", "F8_E4M3", 1, { 40 }, q1 },
		{ "c", "C64", 1, { 10 }, c1 },
	};
	mvc_diff *d;
	const mvc_diff_tensor *e;

	for (int i = 0; i < 100; i++)
		i1[i] = i2[i] = (int64_t)i * 1000003;
	i2[3] += 1;
	i2[50] = -i2[50];
	i2[99] ^= (int64_t)1 << 62;   /* one byte of eight differs */
	for (int i = 0; i < 50; i++)
		s1[i] = s2[i] = (int16_t)(i * 7);
	s2[10] = 0x0101;              /* both bytes of 70 = 0x0046 differ */
	for (int i = 0; i < 64; i++)
		b1[i] = b2[i] = (unsigned char)(i % 3 == 0);
	b2[0] = 0;
	rnd_fill(q1, 40, 41);
	memcpy(q2, q1, 40);
	q2[5] ^= 1;
	q2[6] ^= 0x80;
	rnd_fill(c1, 80, 42);
	memcpy(c2, c1, 80);
	c2[79] ^= 4;
	put(f, MODEL, ts, 5, NULL);
	commit_all(f, "v1");
	ts[0].data = i2;
	ts[1].data = s2;
	ts[2].data = b2;
	ts[3].data = q2;
	ts[4].data = c2;
	put(f, MODEL, ts, 5, NULL);
	commit_all(f, "v2");
	d = diff_versions(f, "HEAD~1", "HEAD", 0);

	e = entry(d, "i64");
	assert_int_equal(e->compared, MVC_DIFF_COMPARE_EXACT);
	assert_int_equal(e->elements, 100);
	assert_int_equal(e->elements_changed, 3);
	assert_int_equal(e->bytes_changed, 1 + 8 + 1);
	assert_true(e->l2_diff == 0 && !e->relative_defined && !e->cosine_defined);
	e = entry(d, "i16");
	assert_int_equal(e->elements_changed, 1);
	assert_int_equal(e->bytes_changed, 2);
	e = entry(d, "flags");
	assert_int_equal(e->compared, MVC_DIFF_COMPARE_EXACT);
	assert_int_equal(e->elements, 64);
	assert_int_equal(e->elements_changed, 1);
	e = entry(d, "q");
	assert_int_equal(e->compared, MVC_DIFF_COMPARE_BYTES);
	assert_int_equal(e->bytes_changed, 2);
	assert_int_equal(e->elements, 0);
	e = entry(d, "c");
	assert_int_equal(e->compared, MVC_DIFF_COMPARE_BYTES);
	assert_int_equal(e->bytes_changed, 1);
	assert_int_equal(d->summary.bytes_changed, 10 + 2 + 1 + 2 + 1);
	assert_null(d->summary.largest);   /* no float tensor changed */
	/* integers have no tolerance */
	mvc_diff_free(d);
	{
		mvc_diff_options o = MVC_DIFF_OPTIONS_INIT;

		o.tolerance = 1e9;
		assert_ok(mvc_diff_versions(&d, f->repo, "HEAD~1", "HEAD", NULL, 0, &o));
		assert_int_equal(entry(d, "i64")->exceeds, 1);
		mvc_diff_free(d);
	}
}

/* Added, removed, renamed, shape and dtype changes; files added and
 * removed; non-tensor bytes. */
static void test_statuses(void **state)
{
	fx *f = *state;
	float w[12], w2[12], r[6], k[4];
	uint16_t hbits[12] = { 0 };
	tdef v1[] = {
		{ "keep", "F32", 1, { 4 }, k },
		{ "gone", "F32", 1, { 12 }, w },
		{ "old.name", "F32", 2, { 2, 3 }, r },
		{ "reshaped", "F32", 2, { 3, 4 }, w },
		{ "retyped", "F32", 1, { 12 }, w },
	};
	tdef v2[] = {
		{ "keep", "F32", 1, { 4 }, k },
		{ "new", "F32", 1, { 12 }, w2 },
		{ "new.name", "F32", 2, { 2, 3 }, r },
		{ "reshaped", "F32", 2, { 4, 3 }, w },
		{ "retyped", "F16", 1, { 12 }, hbits },
	};
	const char *paths[] = { MODEL, "second.safetensors" };
	mvc_commit_options co = MVC_COMMIT_OPTIONS_INIT;
	mvc_diff_options o = MVC_DIFF_OPTIONS_INIT;
	mvc_oid id;
	mvc_diff *d;
	const mvc_diff_tensor *e;

	fill_f32(w, 12, 1, 1);
	fill_f32(w2, 12, 2, 1);
	fill_f32(r, 6, 3, 1);
	fill_f32(k, 4, 4, 1);
	put(f, MODEL, v1, 5, NULL);
	commit_all(f, "v1");
	put(f, MODEL, v2, 5, "other metadata");
	put(f, "second.safetensors", v1, 1, NULL);
	co.message = "v2";
	assert_ok(mvc_commit(&id, NULL, f->repo, paths, 2, &co));
	d = diff_versions(f, "HEAD~1", "HEAD", 0);

	assert_int_equal(d->count, 2);
	assert_string_equal(d->files[0].path, MODEL);
	assert_int_equal(d->files[0].status, MVC_DIFF_CHANGED);
	assert_int_equal(d->files[0].header_changed, 1);
	assert_string_equal(d->files[1].path, "second.safetensors");
	assert_int_equal(d->files[1].status, MVC_DIFF_ADDED);
	assert_null(d->files[1].old_manifest);
	assert_int_equal(d->files[1].tensors[0].status, MVC_DIFF_ADDED);
	assert_int_equal(entry(d, "keep")->status, MVC_DIFF_UNCHANGED);
	assert_int_equal(entry(d, "keep")->exceeds, 0);
	assert_int_equal(entry(d, "gone")->status, MVC_DIFF_REMOVED);
	assert_null(entry(d, "gone")->new_tensor);
	assert_int_equal(entry(d, "gone")->bytes_changed, 48);
	assert_int_equal(entry(d, "new")->status, MVC_DIFF_ADDED);
	e = entry(d, "new.name");
	assert_int_equal(e->status, MVC_DIFF_RENAMED);
	assert_string_equal(e->old_name, "old.name");
	assert_int_equal(e->chunks_changed, 0);
	assert_int_equal(e->exceeds, 1);
	e = entry(d, "reshaped");
	assert_int_equal(e->status, MVC_DIFF_SHAPE_CHANGED);
	assert_int_equal(e->old_tensor->shape[0], 3);
	assert_int_equal(e->new_tensor->shape[0], 4);
	assert_int_equal(e->compared, MVC_DIFF_COMPARE_NONE);
	e = entry(d, "retyped");
	assert_int_equal(e->status, MVC_DIFF_DTYPE_CHANGED);
	assert_int_equal(e->old_tensor->dtype, MVC_DTYPE_F32);
	assert_int_equal(e->new_tensor->dtype, MVC_DTYPE_F16);
	assert_int_equal(e->bytes_changed, 48);
	/* keep, gone, old.name->new.name, reshaped, retyped, new; + second's one */
	assert_int_equal(d->files[0].tensors_total, 6);
	assert_int_equal(d->files[0].tensors_changed, 5);
	assert_int_equal(d->summary.tensors_total, 7);
	assert_int_equal(d->summary.tensors_changed, 6);
	assert_int_equal(d->summary.files_changed, 2);
	assert_int_equal(d->summary.chunks_decoded, 0);  /* nothing to compare by value */
	mvc_diff_free(d);

	/* the other way round: a removed file; and paths limit the files */
	d = diff_versions(f, "HEAD", "HEAD~1", 0);
	assert_int_equal(d->files[1].status, MVC_DIFF_REMOVED);
	assert_int_equal(entry(d, "old.name")->status, MVC_DIFF_RENAMED);
	mvc_diff_free(d);
	assert_ok(mvc_diff_versions(&d, f->repo, "HEAD~1", "HEAD", paths + 1, 1, &o));
	assert_int_equal(d->count, 1);
	assert_int_equal(d->summary.tensors_total, 1);
	mvc_diff_free(d);

	/* two loose files (not hashed, values compared) and the same with
	 * --stat (hashed) agree with the versions, tensor by tensor */
	{
		char *pa = path_join(f->tmp, "a.st"), *pb = path_join(f->tmp, "b.st");
		mvc_diff *dv = diff_versions(f, "HEAD~1", "HEAD", 0), *dn = NULL;
		size_t la, lb;
		unsigned char *ba = build(&la, v1, 5, NULL), *bb = build(&lb, v2, 5, "other metadata");

		write_bytes(pa, ba, la);
		write_bytes(pb, bb, lb);
		for (int stat = 0; stat <= 1; stat++) {
			o.stat = stat;
			assert_ok(mvc_diff_files(&dn, pa, pb, &o));
			assert_int_equal(dn->files[0].count, dv->files[0].count);
			assert_int_equal(dn->files[0].header_changed, 1);
			for (size_t t = 0; t < dv->files[0].count; t++) {
				const mvc_diff_tensor *x = &dv->files[0].tensors[t];
				const mvc_diff_tensor *y = &dn->files[0].tensors[t];

				assert_string_equal(x->name, y->name);
				assert_int_equal(x->status, y->status);
				assert_int_equal(x->chunks, y->chunks);
				assert_int_equal(x->chunks_changed, y->chunks_changed);
				assert_int_equal(x->chunk_bytes_changed, y->chunk_bytes_changed);
				assert_int_equal(x->bytes_changed, y->bytes_changed);
				if (!stat)
					assert_int_equal(x->compared, y->compared);
			}
			mvc_diff_free(dn);
		}
		o.stat = 0;
		/* a file against itself: every tensor compared, none changed */
		assert_ok(mvc_diff_files(&dn, pb, pb, &o));
		assert_int_equal(dn->summary.tensors_changed, 0);
		assert_int_equal(dn->summary.chunks_changed, 0);
		assert_int_equal(dn->files[0].status, MVC_DIFF_UNCHANGED);
		mvc_diff_free(dn);
		mvc_diff_free(dv);
		free(ba);
		free(bb);
		free(pa);
		free(pb);
	}

	/* a version against itself */
	d = diff_versions(f, "HEAD", "HEAD", 0);
	assert_int_equal(d->summary.tensors_changed, 0);
	assert_int_equal(d->summary.differs, 0);
	assert_int_equal(d->files[0].status, MVC_DIFF_UNCHANGED);
	mvc_diff_free(d);
}

/* The loose object file of the blob at `spec` ("HEAD:path/t/000000/000003"). */
static char *loose_path(const fx *f, const char *spec)
{
	git_object *obj = NULL;
	char hex[GIT_OID_HEXSZ + 1], *p;

	assert_int_equal(git_revparse_single(&obj, mvc__repo_git(f->repo), spec), 0);
	git_oid_tostr(hex, sizeof(hex), git_object_id(obj));
	git_object_free(obj);
	if (asprintf(&p, "%s/objects/%.2s/%s", mvc_repo_path(f->repo), hex, hex + 2) < 0)
		fail_msg("out of memory");
	return p;
}

/* Packs into loose objects, so that single objects can be damaged. */
static void explode_packs(fx *f)
{
	char *packdir = path_join(mvc_repo_path(f->repo), "objects/pack");
	DIR *dir = opendir(packdir);
	struct dirent *de;
	char *names[16];
	size_t n = 0;

	assert_non_null(dir);
	while ((de = readdir(dir)) && n < 16) {
		size_t l = strlen(de->d_name);

		if (l > 5 && !strcmp(de->d_name + l - 5, ".pack"))
			names[n++] = strndup(de->d_name, l - 5);
	}
	closedir(dir);
	for (size_t i = 0; i < n; i++) {
		char *pack, *idx, *moved, *cmd;

		assert_true(asprintf(&pack, "%s/%s.pack", packdir, names[i]) > 0);
		assert_true(asprintf(&idx, "%s/%s.idx", packdir, names[i]) > 0);
		assert_true(asprintf(&moved, "%s/%s.pack", f->tmp, names[i]) > 0);
		assert_int_equal(rename(pack, moved), 0);
		assert_int_equal(unlink(idx), 0);
		assert_true(asprintf(&cmd, "git --git-dir='%s' unpack-objects -q < '%s'",
		    mvc_repo_path(f->repo), moved) > 0);
		if (system(cmd) != 0)
			fail_msg("'%s' failed", cmd);
		unlink(moved);
		free(pack); free(idx); free(moved); free(cmd); free(names[i]);
	}
	free(packdir);
	/* a fresh handle: nothing cached from before */
	mvc_repo_free(f->repo);
	f->repo = NULL;
	assert_ok(mvc_repo_open(&f->repo, f->work));
}

/* An unchanged tensor is settled by its digest: its chunks may be missing
 * from the store and the diff still works; --stat reads no chunk at all.
 * A damaged chunk of a changed tensor is an error that names it. */
static void test_unchanged_not_read(void **state)
{
	fx *f = *state;
	float big[4096], small[64], small2[64];
	tdef ts[2] = {
		{ "big", "F32", 2, { 64, 64 }, big },
		{ "small", "F32", 1, { 64 }, small },
	};
	mvc_diff_options o = MVC_DIFF_OPTIONS_INIT;
	mvc_diff *d;
	char spec[128];

	set_chunk_size(f, 1024);   /* big: 16 chunks */
	fill_f32(big, 4096, 51, 1);
	fill_f32(small, 64, 52, 1);
	memcpy(small2, small, sizeof(small));
	small2[3] += 1;
	put(f, MODEL, ts, 2, NULL);
	commit_all(f, "v1");
	ts[1].data = small2;
	put(f, MODEL, ts, 2, NULL);
	commit_all(f, "v2");
	explode_packs(f);
	/* every chunk of the unchanged tensor disappears */
	for (int c = 0; c < 16; c++) {
		char *p;

		snprintf(spec, sizeof(spec), "HEAD:" MODEL "/t/000000/%06d", c);
		p = loose_path(f, spec);
		assert_int_equal(unlink(p), 0);
		free(p);
	}
	d = diff_versions(f, "HEAD~1", "HEAD", 0);
	assert_int_equal(entry(d, "big")->status, MVC_DIFF_UNCHANGED);
	assert_int_equal(entry(d, "small")->elements_changed, 1);
	assert_int_equal(d->summary.chunks_decoded, 2);  /* small, old and new */
	mvc_diff_free(d);
	/* the working file against HEAD~1: only small is read */
	d = diff_work(f, "HEAD~1", 0);
	assert_int_equal(entry(d, "big")->status, MVC_DIFF_UNCHANGED);
	assert_int_equal(d->summary.chunks_decoded, 1);
	mvc_diff_free(d);

	/* --stat: not even the changed tensor's chunks */
	for (const char *rev = "HEAD~1"; rev; rev = strcmp(rev, "HEAD~1") ? NULL : "HEAD") {
		char *p;

		snprintf(spec, sizeof(spec), "%s:" MODEL "/t/000001/000000", rev);
		p = loose_path(f, spec);
		if (access(p, F_OK) == 0)
			assert_int_equal(unlink(p), 0);
		free(p);
	}
	o.stat = 1;
	mvc_error_clear();
	assert_ok(mvc_diff_versions(&d, f->repo, "HEAD~1", "HEAD", NULL, 0, &o));
	assert_int_equal(entry(d, "small")->status, MVC_DIFF_CHANGED);
	assert_int_equal(entry(d, "small")->chunks_changed, 1);
	assert_int_equal(entry(d, "small")->compared, MVC_DIFF_COMPARE_NONE);
	assert_int_equal(d->summary.chunks_decoded, 0);
	mvc_diff_free(d);
	/* without --stat the missing chunk is an error naming it */
	o.stat = 0;
	assert_err(mvc_diff_versions(&d, f->repo, "HEAD~1", "HEAD", NULL, 0, &o), MVC_ECORRUPT,
	    "tensor 'small': chunk 0");
	assert_null(d);
}

/* A damaged chunk (its object swapped for another) fails its digest. */
static void test_corrupt_chunk(void **state)
{
	fx *f = *state;
	float w[256], w2[256];
	tdef ts[1] = { { "w", "F32", 2, { 16, 16 }, w } };
	mvc_diff_options o = MVC_DIFF_OPTIONS_INIT;
	mvc_diff *d = NULL;
	char *victim, *donor;
	size_t len = 0;
	unsigned char *bytes;

	set_chunk_size(f, 256);  /* 4 chunks */
	fill_f32(w, 256, 61, 1);
	memcpy(w2, w, sizeof(w));
	for (int i = 0; i < 256; i += 3)
		w2[i] *= 2;
	put(f, MODEL, ts, 1, NULL);
	commit_all(f, "v1");
	ts[0].data = w2;
	put(f, MODEL, ts, 1, NULL);
	commit_all(f, "v2");
	explode_packs(f);
	victim = loose_path(f, "HEAD~1:" MODEL "/t/000000/000002");
	donor = loose_path(f, "HEAD~1:" MODEL "/t/000000/000001");
	bytes = read_bytes(donor, &len);
	assert_non_null(bytes);
	assert_int_equal(unlink(victim), 0);
	write_bytes(victim, bytes, len);
	free(bytes);
	mvc_repo_free(f->repo);
	assert_ok(mvc_repo_open(&f->repo, f->work));
	/* (when the old chunk is the new one's delta base, the new one fails) */
	assert_err(mvc_diff_versions(&d, f->repo, "HEAD~1", "HEAD", NULL, 0, &o), MVC_ECORRUPT,
	    "tensor 'w': chunk 2: fails its BLAKE2b digest");
	/* against the working file the old chunk itself fails */
	assert_err(mvc_diff_workdir(&d, f->repo, "HEAD~1", NULL, 0, &o), MVC_ECORRUPT,
	    "'HEAD~1:" MODEL "': tensor 'w': chunk 2: fails its BLAKE2b digest");
	assert_null(d);
	free(victim);
	free(donor);
}

/* The same tensor under two chunk plans (the chunk size changed while it
 * was absent): compared by value, byte ranges that straddle chunks. */
static void test_other_chunk_plan(void **state)
{
	fx *f = *state;
	float w[1000], w2[1000], k[8];
	tdef with[2] = { { "w", "F32", 2, { 100, 10 }, w }, { "k", "F32", 1, { 8 }, k } };
	tdef without[1] = { { "k", "F32", 1, { 8 }, k } };
	mvc_diff *d;
	ref r;

	fill_f32(w, 1000, 71, 1);
	fill_f32(k, 8, 72, 1);
	memcpy(w2, w, sizeof(w));
	for (int i = 0; i < 1000; i += 7)
		w2[i] += 0.5f;
	set_chunk_size(f, 120);        /* 3 rows a chunk */
	put(f, MODEL, with, 2, NULL);
	commit_all(f, "v1");
	put(f, MODEL, without, 1, NULL);
	commit_all(f, "v2");
	set_chunk_size(f, 280);        /* 7 rows a chunk */
	put(f, MODEL, with, 2, NULL);
	commit_all(f, "v3 (w again, same values)");
	with[0].data = w2;
	put(f, MODEL, with, 2, NULL);
	commit_all(f, "v4 (w changed)");

	/* equal values, different digests: unchanged after all */
	d = diff_versions(f, "HEAD~3", "HEAD~1", 2);
	assert_int_equal(entry(d, "w")->status, MVC_DIFF_UNCHANGED);
	assert_int_equal(d->summary.tensors_changed, 0);
	mvc_diff_free(d);
	d = diff_versions(f, "HEAD~3", "HEAD", 2);
	memset(&r, 0, sizeof(r));
	ref_f32(&r, w, w2, 1000);
	assert_int_equal(entry(d, "w")->status, MVC_DIFF_CHANGED);
	assert_stats(entry(d, "w"), &r);
	assert_int_equal(entry(d, "w")->chunks_changed, entry(d, "w")->chunks);
	mvc_diff_free(d);
}

/* The working files: modified, missing, added since the old version, and
 * a clean file that the stat cache vouches for (not even hashed). */
static void test_workdir(void **state)
{
	fx *f = *state;
	float w[64], w2[64];
	tdef ts[1] = { { "w", "F32", 1, { 64 }, w } };
	const char *paths[] = { "second.safetensors" };
	mvc_commit_options co = MVC_COMMIT_OPTIONS_INIT;
	mvc_diff_options o = MVC_DIFF_OPTIONS_INIT;
	mvc_status_list *sl = NULL;
	char *second = path_join(f->work, "second.safetensors");
	mvc_oid id;
	mvc_diff *d;

	fill_f32(w, 64, 81, 1);
	memcpy(w2, w, sizeof(w));
	w2[10] = 3;
	put(f, MODEL, ts, 1, NULL);
	commit_all(f, "v1");
	put(f, "second.safetensors", ts, 1, NULL);
	co.message = "v2";
	assert_ok(mvc_commit(&id, NULL, f->repo, paths, 1, &co));

	d = diff_work(f, "HEAD", 0);
	assert_int_equal(d->summary.differs, 0);
	assert_int_equal(d->summary.files, 2);
	mvc_diff_free(d);
	/* HEAD~1 lacks second.safetensors: added */
	d = diff_work(f, "HEAD~1", 0);
	assert_int_equal(d->count, 2);
	assert_int_equal(d->files[1].status, MVC_DIFF_ADDED);
	assert_int_equal(d->files[0].status, MVC_DIFF_UNCHANGED);
	mvc_diff_free(d);

	ts[0].data = w2;
	put(f, MODEL, ts, 1, NULL);
	assert_int_equal(unlink(second), 0);
	d = diff_work(f, "HEAD", 0);
	assert_int_equal(d->files[0].status, MVC_DIFF_CHANGED);
	assert_int_equal(entry(d, "w")->elements_changed, 1);
	assert_close(entry(d, "w")->max_abs_diff, fabs(3.0 - w[10]), 0);
	assert_int_equal(d->files[1].status, MVC_DIFF_REMOVED);
	assert_int_equal(d->summary.differs, 1);
	mvc_diff_free(d);
	d = diff_work(f, "HEAD", 1);
	assert_int_equal(entry(d, "w")->chunks_changed, 1);
	assert_int_equal(d->summary.chunks_decoded, 0);
	mvc_diff_free(d);
	/* paths limit the files */
	assert_ok(mvc_diff_workdir(&d, f->repo, "HEAD", paths, 1, &o));
	assert_int_equal(d->count, 1);
	assert_int_equal(d->files[0].status, MVC_DIFF_REMOVED);
	mvc_diff_free(d);

	/* back to HEAD's bytes; status records the file; diff trusts that
	 * record: with the stored chunks gone it still says unchanged */
	ts[0].data = w;
	put(f, MODEL, ts, 1, NULL);
	{
		/* the record is trusted only for a file older than a second */
		struct timespec pause = { 1, 100000000 };

		nanosleep(&pause, NULL);
	}
	assert_ok(mvc_status(&sl, f->repo, 1));
	mvc_status_free(sl);
	explode_packs(f);
	{
		char *p = loose_path(f, "HEAD:" MODEL "/t/000000/000000");

		assert_int_equal(unlink(p), 0);
		free(p);
	}
	d = diff_work(f, "HEAD", 0);
	assert_int_equal(d->files[0].status, MVC_DIFF_UNCHANGED);
	assert_true(d->files[0].new_manifest == d->files[0].old_manifest);
	mvc_diff_free(d);
	free(second);
}

/* Tolerance: a float tensor that moved by at most it is no difference. */
static void test_tolerance(void **state)
{
	fx *f = *state;
	float w[100], w2[100];
	tdef ts[1] = { { "w", "F32", 1, { 100 }, w } };
	mvc_diff_options o = MVC_DIFF_OPTIONS_INIT;
	mvc_diff *d;

	fill_f32(w, 100, 91, 1);
	memcpy(w2, w, sizeof(w));
	w2[50] = w[50] + 1e-4f;
	put(f, MODEL, ts, 1, NULL);
	commit_all(f, "v1");
	ts[0].data = w2;
	put(f, MODEL, ts, 1, NULL);
	commit_all(f, "v2");
	d = diff_versions(f, "HEAD~1", "HEAD", 0);
	assert_int_equal(d->summary.differs, 1);
	assert_true(entry(d, "w")->max_abs_diff > 0.9e-4 && entry(d, "w")->max_abs_diff < 1.1e-4);
	mvc_diff_free(d);
	o.tolerance = 1e-3;
	assert_ok(mvc_diff_versions(&d, f->repo, "HEAD~1", "HEAD", NULL, 0, &o));
	assert_int_equal(d->summary.differs, 0);
	assert_int_equal(d->summary.tensors_changed, 1);  /* changed, within tolerance */
	mvc_diff_free(d);
	o.tolerance = 1e-5;
	assert_ok(mvc_diff_versions(&d, f->repo, "HEAD~1", "HEAD", NULL, 0, &o));
	assert_int_equal(d->summary.differs, 1);
	mvc_diff_free(d);
}

static void test_bad_input(void **state)
{
	fx *f = *state;
	float w[4] = { 1, 2, 3, 4 };
	tdef ts[1] = { { "w", "F32", 1, { 4 }, w } };
	mvc_diff_options o = MVC_DIFF_OPTIONS_INIT, bad = MVC_DIFF_OPTIONS_INIT;
	const char *nosuch[] = { "nosuch.safetensors" };
	char *model2 = path_join(f->tmp, "m2.safetensors"), *junk = path_join(f->tmp, "junk.bin");
	char *missing = path_join(f->tmp, "missing.safetensors");
	mvc_diff *d = NULL;

	assert_err(mvc_diff_workdir(&d, f->repo, "HEAD", NULL, 0, &o), MVC_ENOTFOUND,
	    "no version committed yet");
	put(f, MODEL, ts, 1, NULL);
	commit_all(f, "v1");
	assert_err(mvc_diff_versions(&d, f->repo, "nosuch", "HEAD", NULL, 0, &o), MVC_ENOTFOUND,
	    "unknown revision 'nosuch'");
	assert_err(mvc_diff_versions(&d, f->repo, "HEAD", "HEAD", nosuch, 1, &o), MVC_ENOTFOUND,
	    "'nosuch.safetensors' is not tracked in 'HEAD' or 'HEAD'");
	assert_err(mvc_diff_workdir(&d, f->repo, "HEAD", nosuch, 1, &o), MVC_ENOTFOUND,
	    "'nosuch.safetensors' is not tracked in 'HEAD'");
	bad.version = 99;
	assert_err(mvc_diff_versions(&d, f->repo, "HEAD", "HEAD", NULL, 0, &bad), MVC_EINVALID,
	    "bad diff options version");
	bad = o;
	bad.tolerance = -1;
	assert_err(mvc_diff_files(&d, f->model, f->model, &bad), MVC_EINVALID, "tolerance");
	bad.tolerance = NAN;
	assert_err(mvc_diff_files(&d, f->model, f->model, &bad), MVC_EINVALID, "tolerance");

	/* loose files */
	write_bytes(junk, "not a model at all\n", 19);
	put(f, "../m2.safetensors", ts, 1, NULL);
	assert_err(mvc_diff_files(&d, model2, junk, &o), MVC_EUNSUPPORTED,
	    "cannot compare");
	assert_err(mvc_diff_files(&d, junk, model2, &o), MVC_EUNSUPPORTED,
	    "cannot compare '");  /* an opaque file with a safetensors one */
	assert_err(mvc_diff_files(&d, model2, missing, &o), MVC_ENOTFOUND, "cannot open");
	assert_err(mvc_diff_files(&d, f->tmp, model2, &o), MVC_EINVALID, "not a regular file");
	/* a working file that no longer parses */
	write_bytes(f->model, "garbage", 7);
	assert_err(mvc_diff_workdir(&d, f->repo, "HEAD", NULL, 0, &o), MVC_EUNSUPPORTED,
	    "is not a model file");
	assert_null(d);
	/* same file twice: no difference */
	assert_ok(mvc_diff_files(&d, model2, model2, &o));
	assert_int_equal(d->summary.differs, 0);
	mvc_diff_free(d);
	mvc_diff_free(NULL);
	free(model2);
	free(junk);
	free(missing);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_half_conversion),
		T(test_stats_million),
		T(test_zero_tensors),
		T(test_nan_inf),
		T(test_half_and_double),
		T(test_exact_and_bytes),
		T(test_statuses),
		T(test_unchanged_not_read),
		T(test_corrupt_chunk),
		T(test_other_chunk_plan),
		T(test_workdir),
		T(test_tolerance),
		T(test_bad_input),
	};

	setenv("HOME", "/nonexistent-mvc-test-home", 1);
	setenv("XDG_CONFIG_HOME", "/nonexistent-mvc-test-home", 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_AUTHOR_NAME", "Unit Tester", 1);
	setenv("GIT_AUTHOR_EMAIL", "unit@example.com", 1);
	setenv("GIT_COMMITTER_NAME", "Unit Tester", 1);
	setenv("GIT_COMMITTER_EMAIL", "unit@example.com", 1);
	unsetenv("MVC_DIR");
	unsetenv("MVC_WORK_TREE");
	umask(022);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
