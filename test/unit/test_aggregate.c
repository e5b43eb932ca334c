/*
 * lib/aggregate.c through the public API: every method against a
 * reference computed here, element by element, from the definitions, on
 * small random models cut into many chunks; rounding to F16 and BF16 at
 * the edges against a search over every value of the format; digests
 * that spare the work; integer policies, exclusion, DP clipping and
 * noise; and inputs that must be refused with nothing written.
 */
#include <dirent.h>
#include <math.h>
#include "unit.h"
#include "internal.h"
#include "float.h"
#include "robust.h"

#define MODEL "model.safetensors"
#define NT 7        /* tensors of the test model */
#define MAXIN 8     /* inputs at most */

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
	f->tmp = tmpdir_new("aggregate");
	f->work = path_join(f->tmp, "w");
	f->model = path_join(f->work, MODEL);
	if (mvc_repo_init(&f->repo, f->work) < 0)
		return -1;
	/* small chunks: every tensor spans several */
	if (git_repository_config(&cfg, mvc__repo_git(f->repo)) < 0 ||
	    git_config_set_int64(cfg, "mvc.chunkSize", 256) < 0)
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

/* ---- the test model: one table of tensors, several versions of it ---- */

typedef struct {
	const char *name;
	const char *dtype;
	mvc_dtype dt;
	unsigned ndim;
	uint64_t shape[2];
	size_t width;
} tdef;

static const tdef model_def[NT] = {
	{ "w32", "F32", MVC_DTYPE_F32, 2, { 64, 16 }, 4 },      /* 4 KiB: 16 chunks */
	{ "w16", "F16", MVC_DTYPE_F16, 2, { 32, 8 }, 2 },
	{ "wbf", "BF16", MVC_DTYPE_BF16, 2, { 32, 8 }, 2 },
	{ "w64", "F64", MVC_DTYPE_F64, 2, { 16, 8 }, 8 },
	{ "step", "I64", MVC_DTYPE_I64, 0, { 0, 0 }, 8 },
	{ "mask", "BOOL", MVC_DTYPE_BOOL, 1, { 24, 0 }, 1 },
	{ "q8", "F8_E4M3", MVC_DTYPE_F8_E4M3, 1, { 40, 0 }, 1 },
};

static size_t nelem(const tdef *t)
{
	size_t n = 1;

	for (unsigned d = 0; d < t->ndim; d++)
		n *= t->shape[d];
	return n;
}

/* A version of the model: the bytes of each tensor. */
typedef struct {
	unsigned char *data[NT];
	size_t len[NT];
	size_t off[NT];       /* absolute offsets in the file */
	size_t file_len;
} version;

static void version_free(version *v)
{
	for (int i = 0; i < NT; i++)
		free(v->data[i]);
	memset(v, 0, sizeof(*v));
}

static double unif(uint64_t *s)
{
	return (double)(rnd_next(s) >> 11) / 9007199254740992.0;
}

static uint16_t ref_f16_bits(double x);
static uint16_t ref_bf16_bits(double x);

/*
 * Version k of the model: every float element is the base value plus
 * (for k > 0) a site's change, except rows 0..`frozen` of w32, which no
 * site changes (whole chunks equal in every version).
 */
static void make_version(version *v, unsigned k, unsigned frozen, double spread)
{
	for (int t = 0; t < NT; t++) {
		const tdef *d = &model_def[t];
		size_t n = nelem(d);
		uint64_t sb = 1000 + (uint64_t)t, sk = 77 * (uint64_t)(k + 1) + (uint64_t)t;

		v->len[t] = n * d->width;
		v->data[t] = calloc(v->len[t] + 1, 1);
		assert_non_null(v->data[t]);
		for (size_t e = 0; e < n; e++) {
			double base = (unif(&sb) - 0.5) * 0.2, x = base;
			unsigned char *p = v->data[t] + e * d->width;

			if (k > 0 && !(t == 0 && e < frozen * 16))
				x += (unif(&sk) - 0.5) * spread;
			switch (d->dt) {
			case MVC_DTYPE_F32: { float f = (float)x; memcpy(p, &f, 4); break; }
			case MVC_DTYPE_F64: memcpy(p, &x, 8); break;
			case MVC_DTYPE_F16: { uint16_t h = ref_f16_bits(x); memcpy(p, &h, 2); break; }
			case MVC_DTYPE_BF16: { uint16_t h = ref_bf16_bits(x); memcpy(p, &h, 2); break; }
			case MVC_DTYPE_I64: { int64_t i = 1000 + (int64_t)k; memcpy(p, &i, 8); break; }
			case MVC_DTYPE_BOOL: p[0] = (unsigned char)((e + k) % 3 == 0); break;
			default: p[0] = (unsigned char)(e * 3 + 1); break;   /* the same in every version */
			}
		}
	}
}

/* The safetensors bytes of a version (and its tensors' offsets), its
 * tensors in table order or reversed. */
static unsigned char *build_order(version *v, const char *meta, int reverse)
{
	char hdr[4096];
	size_t h = 0, off = 0, total = 0;
	unsigned char *out;

	h += (size_t)snprintf(hdr + h, sizeof(hdr) - h, "{\"__metadata__\":{\"note\":\"%s\"}",
	    meta ? meta : "v");
	for (int k = 0; k < NT; k++) {
		int t = reverse ? NT - 1 - k : k;
		const tdef *d = &model_def[t];
		char shape[64] = "";

		for (unsigned dim = 0; dim < d->ndim; dim++)
			snprintf(shape + strlen(shape), sizeof(shape) - strlen(shape), "%s%llu",
			    dim ? "," : "", (unsigned long long)d->shape[dim]);
		h += (size_t)snprintf(hdr + h, sizeof(hdr) - h,
		    ",\"%s\":{\"dtype\":\"%s\",\"shape\":[%s],\"data_offsets\":[%zu,%zu]}",
		    d->name, d->dtype, shape, off, off + v->len[t]);
		off += v->len[t];
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
	off = 8 + h;
	for (int k = 0; k < NT; k++) {
		int t = reverse ? NT - 1 - k : k;

		v->off[t] = off;
		memcpy(out + off, v->data[t], v->len[t]);
		off += v->len[t];
	}
	v->file_len = off;
	return out;
}

static unsigned char *build(version *v, const char *meta)
{
	return build_order(v, meta, 0);
}

static void put(const fx *f, version *v, const char *meta)
{
	unsigned char *p = build(v, meta);

	write_bytes(f->model, p, v->file_len);
	free(p);
}

/* Commit the working model with `examples` as num-examples (0: none). */
static mvc_oid commit_model(const fx *f, const char *msg, unsigned long examples)
{
	mvc_commit_options o = MVC_COMMIT_OPTIONS_INIT;
	const char *paths[] = { MODEL };
	char kv[64];
	const char *meta[] = { kv };
	mvc_oid id;

	snprintf(kv, sizeof(kv), "num-examples=%lu", examples);
	o.message = msg;
	o.meta = meta;
	o.nmeta = examples ? 1 : 0;
	o.allow_empty = 1;
	mvc_error_clear();
	assert_ok(mvc_commit(&id, NULL, f->repo, paths, 1, &o));
	return id;
}

static char *hex_of(const mvc_oid *id)
{
	char *h = malloc(MVC_OID_HEXSZ + 1);

	assert_non_null(h);
	mvc_oid_fmt(h, id);
	return h;
}

/* n inputs committed one after another on the current branch (after a
 * base version when `with_base`); ids[] gets their ids as hex. */
static void commit_inputs(const fx *f, version *vs, char **ids, size_t n, unsigned frozen,
                          double spread, const unsigned long *examples)
{
	for (size_t i = 0; i < n; i++) {
		mvc_oid id;
		char msg[32];

		make_version(&vs[i], (unsigned)i + 1, frozen, spread);
		put(f, &vs[i], "site");
		snprintf(msg, sizeof(msg), "site %zu", i);
		id = commit_model(f, msg, examples ? examples[i] : 0);
		ids[i] = hex_of(&id);
	}
}

/* The bytes of file MODEL of version `hex`. */
static unsigned char *result_bytes(const fx *f, const char *hex, size_t *len)
{
	mvc_checkout_options co = MVC_CHECKOUT_OPTIONS_INIT;
	char *out = path_join(f->tmp, "result.safetensors");
	unsigned char *p;

	mvc_error_clear();
	assert_ok(mvc_checkout_to(f->repo, hex, MODEL, out, &co));
	p = read_bytes(out, len);
	assert_non_null(p);
	unlink(out);
	free(out);
	return p;
}

static mvc_aggregate_result *run(const fx *f, char **ids, size_t n, const mvc_aggregate_options *o)
{
	mvc_aggregate_result *r = NULL;

	mvc_error_clear();
	assert_ok(mvc_aggregate(&r, f->repo, (const char *const *)ids, n, NULL, 0, o));
	assert_non_null(r);
	return r;
}

static void free_ids(char **ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
}

/* ---- reference numbers ---- */

/* Half and bfloat16 from their definitions, in double arithmetic. */
static double half_val(uint16_t h)
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

static double bf16_val(uint16_t h)
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

/*
 * Round to nearest, ties to even, by searching the format's values: the
 * positive finite values are increasing in their bit patterns up to
 * `maxbits`; infinity stands, for rounding, at the value one unit above
 * the largest finite one (IEEE 754: overflow when the exponent-unbounded
 * result is at least that).
 */
static uint16_t ref_round(double x, double (*val)(uint16_t), uint16_t maxbits, double inf_at,
                          uint16_t qnan)
{
	uint16_t sign = signbit(x) ? 0x8000 : 0, lo = 0, hi = maxbits, pick;
	double a = fabs(x), vlo, vhi;

	if (isnan(x))
		return (uint16_t)(sign | qnan);
	if (a >= inf_at)
		return (uint16_t)(sign | (maxbits + 1));
	/* the largest pattern whose value is <= a */
	while (lo < hi) {
		uint16_t mid = (uint16_t)((lo + hi + 1) / 2);

		if (val(mid) <= a)
			lo = mid;
		else
			hi = (uint16_t)(mid - 1);
	}
	vlo = val(lo);
	vhi = lo == maxbits ? inf_at : val((uint16_t)(lo + 1));
	if (a - vlo < vhi - a)
		pick = lo;
	else if (a - vlo > vhi - a)
		pick = (uint16_t)(lo + 1);
	else
		pick = lo % 2 == 0 ? lo : (uint16_t)(lo + 1);
	return (uint16_t)(sign | pick);
}

static uint16_t ref_f16_bits(double x)
{
	return ref_round(x, half_val, 0x7bff, 65536.0, 0x7e00);
}

static uint16_t ref_bf16_bits(double x)
{
	return ref_round(x, bf16_val, 0x7f7f, ldexp(1, 128), 0x7fc0);
}

/* A tensor element as double. */
static double elem(const tdef *d, const unsigned char *p, size_t e)
{
	p += e * d->width;
	switch (d->dt) {
	case MVC_DTYPE_F32: { float x; memcpy(&x, p, 4); return x; }
	case MVC_DTYPE_F64: { double x; memcpy(&x, p, 8); return x; }
	case MVC_DTYPE_F16: { uint16_t h; memcpy(&h, p, 2); return half_val(h); }
	default: { uint16_t h; memcpy(&h, p, 2); return bf16_val(h); }
	}
}

/* The bytes of value x in the dtype, rounded by the reference. */
static void store(const tdef *d, unsigned char *p, double x)
{
	switch (d->dt) {
	case MVC_DTYPE_F32: { float v = (float)x; memcpy(p, &v, 4); break; }
	case MVC_DTYPE_F64: memcpy(p, &x, 8); break;
	case MVC_DTYPE_F16: { uint16_t h = ref_f16_bits(x); memcpy(p, &h, 2); break; }
	default: { uint16_t h = ref_bf16_bits(x); memcpy(p, &h, 2); break; }
	}
}

static int is_float(const tdef *d)
{
	return d->dt == MVC_DTYPE_F32 || d->dt == MVC_DTYPE_F64 || d->dt == MVC_DTYPE_F16 ||
	    d->dt == MVC_DTYPE_BF16;
}

typedef double (*combine_fn)(const double *x, size_t n, const void *ctx);

/* The reference result of a per-element method; f64 tells the function
 * the dtype is F64 (accumulate in long double). */
typedef struct {
	const double *w;
	int f64;
	size_t trim;
	const double *base;   /* one value: the base's element */
	double lambda;
} refctx;

static double ref_linear(const double *x, size_t n, const void *p)
{
	const refctx *c = p;

	if (c->f64) {
		long double s = 0;

		for (size_t i = 0; i < n; i++)
			s += (long double)c->w[i] * x[i];
		return (double)s;
	}
	double s = 0;

	for (size_t i = 0; i < n; i++)
		s += c->w[i] * x[i];
	return s;
}

static int cmp_nan_last(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	if (isnan(x))
		return isnan(y) ? 0 : 1;
	if (isnan(y))
		return -1;
	return x < y ? -1 : x > y;
}

static double ref_median(const double *x, size_t n, const void *p)
{
	double v[MAXIN];

	(void)p;
	memcpy(v, x, n * sizeof(double));
	qsort(v, n, sizeof(double), cmp_nan_last);
	return n % 2 ? v[n / 2] : (double)(((long double)v[n / 2 - 1] + v[n / 2]) / 2);
}

static double ref_trimmed(const double *x, size_t n, const void *p)
{
	const refctx *c = p;
	double v[MAXIN];
	long double s = 0;

	memcpy(v, x, n * sizeof(double));
	qsort(v, n, sizeof(double), cmp_nan_last);
	for (size_t i = c->trim; i < n - c->trim; i++)
		s += v[i];
	return (double)(s / (long double)(n - 2 * c->trim));
}

static double ref_task(const double *x, size_t n, const void *p)
{
	const refctx *c = p;
	double b = *c->base;

	if (c->f64) {
		long double s = 0;

		for (size_t i = 0; i < n; i++)
			s += (long double)x[i] - b;
		return (double)(b + (long double)c->lambda * s);
	}
	double s = 0;

	for (size_t i = 0; i < n; i++)
		s += x[i] - b;
	return b + c->lambda * s;
}

/*
 * The expected result of a per-element method over versions vs[0..n):
 * float tensors combined element by element, the others copied from
 * vs[first].  `base` (may be NULL) feeds the method's ctx.
 */
static void expect_result(version *out, version *vs, size_t n, combine_fn fn, refctx *c,
                          const version *base, size_t first)
{
	for (int t = 0; t < NT; t++) {
		const tdef *d = &model_def[t];
		size_t ne = nelem(d);

		out->len[t] = vs[0].len[t];
		out->data[t] = malloc(out->len[t] + 1);
		assert_non_null(out->data[t]);
		if (!is_float(d)) {
			memcpy(out->data[t], vs[first].data[t], out->len[t]);
			continue;
		}
		c->f64 = d->dt == MVC_DTYPE_F64;
		for (size_t e = 0; e < ne; e++) {
			double x[MAXIN], b = 0;

			for (size_t i = 0; i < n; i++)
				x[i] = elem(d, vs[i].data[t], e);
			if (base) {
				b = elem(d, base->data[t], e);
				c->base = &b;
			}
			store(d, out->data[t] + e * d->width, fn(x, n, c));
		}
	}
}

/* The result file holds exactly the expected tensors, and the first
 * input's bytes everywhere else. */
static void assert_result(const fx *f, const char *hex, version *want, version *first)
{
	size_t len;
	unsigned char *got = result_bytes(f, hex, &len), *ref = build(first, "site");

	assert_int_equal(len, first->file_len);
	assert_memory_equal(got, ref, first->off[0]);     /* header bytes */
	for (int t = 0; t < NT; t++)
		if (memcmp(got + first->off[t], want->data[t], want->len[t])) {
			for (size_t e = 0; e < want->len[t] / model_def[t].width; e++) {
				size_t w = model_def[t].width;

				if (memcmp(got + first->off[t] + e * w, want->data[t] + e * w, w))
					fail_msg("tensor %s element %zu differs from the reference",
					    model_def[t].name, e);
			}
		}
	free(got);
	free(ref);
}

static void assert_close_(double got, double want, double rel, const char *what, int line)
{
	double tol = rel * fabs(want) + 1e-300;

	if (!(fabs(got - want) <= tol))
		fail_msg("line %d: %s = %.17g, reference %.17g", line, what, got, want);
}
#define assert_close(got, want, rel) assert_close_((got), (want), (rel), #got, __LINE__)

/* L2 norm of a - b over the float tensors (a version and the result, or
 * the base); `skip` names a tensor left out (or NULL). */
static double ref_norm(const version *a, const version *b, const char *skip)
{
	long double s = 0;

	for (int t = 0; t < NT; t++) {
		const tdef *d = &model_def[t];

		if (!is_float(d) || (skip && !strcmp(skip, d->name)))
			continue;
		for (size_t e = 0; e < nelem(d); e++) {
			double x = elem(d, a->data[t], e) - elem(d, b->data[t], e);

			s += x * x;
		}
	}
	return (double)sqrtl(s);
}

/* How many objects and refs the store has, and whether temporary files
 * were left: the fingerprint of "nothing written". */
static unsigned long store_fingerprint(const fx *f)
{
	char *store = path_join(f->work, ".mvc");
	char *cmd;
	unsigned long n = 0;
	FILE *p;

	if (asprintf(&cmd, "{ git --git-dir='%s' for-each-ref; git --git-dir='%s' count-objects -v;"
	    " find '%s/objects' -type f | sort; ls '%s' | grep tmp_ ; } 2>/dev/null | cksum",
	    store, store, store, store) < 0)
		fail_msg("out of memory");
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_int_equal(fscanf(p, "%lu", &n), 1);
	pclose(p);
	free(cmd);
	free(store);
	return n;
}

/* ---- tests ---- */

/* Rounding from double: every F16 and BF16 value maps to itself, the
 * midpoints between neighbours go to the even one, and the edges --
 * subnormals, the largest finite value, overflow, zeros, NaN -- agree
 * with the reference search; then random doubles of every magnitude. */
static void test_rounding(void **state)
{
	uint64_t s = 42;

	(void)state;
	for (uint32_t i = 0; i < 65536; i++) {
		uint16_t h = (uint16_t)i;
		double v = half_val(h), vb = bf16_val(h);

		if (isnan(v)) {
			uint16_t r = mvc__f16_from_double(v);

			assert_true((r & 0x7c00) == 0x7c00 && (r & 0x3ff) && (r & 0x200));
			assert_int_equal(r & 0x8000, h & 0x8000);
		} else {
			assert_int_equal(mvc__f16_from_double(v), h);
		}
		if (isnan(vb)) {
			uint16_t r = mvc__bf16_from_double(vb);

			assert_true((r & 0x7f80) == 0x7f80 && (r & 0x40));
		} else {
			assert_int_equal(mvc__bf16_from_double(vb), h);
		}
		/* the midpoint to the next pattern (same sign), and either side of it */
		if ((h & 0x7fff) < 0x7bff) {
			double mid = (v + half_val((uint16_t)(h + 1))) / 2;

			assert_int_equal(mvc__f16_from_double(mid), ref_f16_bits(mid));
			assert_int_equal(mvc__f16_from_double(mid), (h & 1) ? h + 1 : h);
			assert_int_equal(mvc__f16_from_double(nextafter(mid, 0)), ref_f16_bits(nextafter(mid, 0)));
			assert_int_equal(mvc__f16_from_double(nextafter(mid, INFINITY * (signbit(v) ? -1 : 1))),
			    ref_f16_bits(nextafter(mid, INFINITY * (signbit(v) ? -1 : 1))));
		}
		if ((h & 0x7fff) < 0x7f7f) {
			double mid = (vb + bf16_val((uint16_t)(h + 1))) / 2;

			assert_int_equal(mvc__bf16_from_double(mid), (h & 1) ? h + 1 : h);
			assert_int_equal(mvc__bf16_from_double(nextafter(mid, 0)),
			    ref_bf16_bits(nextafter(mid, 0)));
		}
	}
	/* by name */
	assert_int_equal(mvc__f16_from_double(65504.0), 0x7bff);            /* largest finite */
	assert_int_equal(mvc__f16_from_double(65519.99), 0x7bff);           /* below the tie */
	assert_int_equal(mvc__f16_from_double(65520.0), 0x7c00);            /* tie: to even = inf */
	assert_int_equal(mvc__f16_from_double(1e300), 0x7c00);
	assert_int_equal(mvc__f16_from_double(-1e300), 0xfc00);
	assert_int_equal(mvc__f16_from_double(INFINITY), 0x7c00);
	assert_int_equal(mvc__f16_from_double(ldexp(1, -24)), 0x0001);       /* smallest subnormal */
	assert_int_equal(mvc__f16_from_double(ldexp(1, -25)), 0x0000);       /* half of it: tie to 0 */
	assert_int_equal(mvc__f16_from_double(nextafter(ldexp(1, -25), 1)), 0x0001);
	assert_int_equal(mvc__f16_from_double(ldexp(3, -26)), 0x0001);       /* 0.75 of it */
	assert_int_equal(mvc__f16_from_double(ldexp(3, -25)), 0x0002);       /* 1.5: tie to even 2 */
	assert_int_equal(mvc__f16_from_double(ldexp(5, -25)), 0x0002);       /* 2.5: tie to even 2 */
	assert_int_equal(mvc__f16_from_double(ldexp(1023.5, -24)), 0x0400); /* to the smallest normal */
	assert_int_equal(mvc__f16_from_double(-0.0), 0x8000);
	assert_int_equal(mvc__f16_from_double(1e-300), 0x0000);
	assert_int_equal(mvc__f16_from_double(-4.9e-324), 0x8000);           /* a double subnormal */
	assert_int_equal(mvc__f16_from_double(1.0 + ldexp(1, -11)), 0x3c00); /* tie: stays 1 */
	assert_int_equal(mvc__f16_from_double(1.0 + ldexp(3, -11)), 0x3c02); /* tie: up to even */
	assert_int_equal(mvc__f16_from_double(NAN) & 0x7e00, 0x7e00);
	assert_int_equal(mvc__f16_from_double(-NAN) & 0xfe00, 0xfe00);
	assert_int_equal(mvc__bf16_from_double(1.0), 0x3f80);
	assert_int_equal(mvc__bf16_from_double(1.0 + ldexp(1, -8)), 0x3f80); /* tie: stays 1 */
	assert_int_equal(mvc__bf16_from_double(1.0 + ldexp(3, -8)), 0x3f82); /* tie: up to even */
	assert_int_equal(mvc__bf16_from_double(ldexp(1, -133)), 0x0001);
	assert_int_equal(mvc__bf16_from_double(ldexp(1, -134)), 0x0000);
	assert_int_equal(mvc__bf16_from_double(ldexp(255.0, 120)), 0x7f7f);  /* 2^127 * 1.9921875 */
	assert_int_equal(mvc__bf16_from_double(ldexp(511.0, 119)), 0x7f80);  /* tie above the largest: inf */
	assert_int_equal(mvc__bf16_from_double(nextafter(ldexp(511.0, 119), 0)), 0x7f7f);
	assert_int_equal(mvc__bf16_from_double(3.4e38), 0x7f80);
	assert_int_equal(mvc__bf16_from_double(-INFINITY), 0xff80);
	assert_int_equal(mvc__bf16_from_double(NAN) & 0x7fc0, 0x7fc0);
	/* against the float route, where it does not round twice: every
	 * float that is exactly a double rounds the same both ways */
	for (int i = 0; i < 200000; i++) {
		double x = ldexp(unif(&s) * 2 - 1, (int)(unif(&s) * 300) - 150);

		if (mvc__f16_from_double(x) != ref_f16_bits(x))
			fail_msg("f16 of %.17g: 0x%04x, reference 0x%04x", x, mvc__f16_from_double(x),
			    ref_f16_bits(x));
		if (mvc__bf16_from_double(x) != ref_bf16_bits(x))
			fail_msg("bf16 of %.17g: 0x%04x, reference 0x%04x", x, mvc__bf16_from_double(x),
			    ref_bf16_bits(x));
	}
	{
		/* double rounding through float would get this one wrong: just
		 * above a bf16 tie by less than a float's half unit */
		double x = 1.0 + ldexp(1, -8) + ldexp(1, -40);

		assert_int_equal(mvc__bf16_from_double(x), 0x3f81);
		assert_int_equal(ref_bf16_bits((float)x), 0x3f80);
	}
}

/* FedAvg by num-examples: the result against the reference, bit for bit;
 * the version's parents, trailers and working file; the report. */
static void test_fedavg(void **state)
{
	fx *f = *state;
	version vs[3], want;
	char *ids[3];
	unsigned long ex[3] = { 100, 300, 600 };
	double w[3];
	refctx c = { 0 };
	mvc_aggregate_options o = MVC_AGGREGATE_OPTIONS_INIT;
	mvc_aggregate_result *r;
	mvc_version *v;
	char *hex;

	memset(&want, 0, sizeof(want));
	commit_inputs(f, vs, ids, 3, 4, 0.05, ex);
	for (int i = 0; i < 3; i++)
		w[i] = (double)ex[i] / 1000.0;
	c.w = w;
	r = run(f, ids, 3, &o);
	assert_int_equal(r->committed, 1);
	assert_int_equal(r->checked_out, 1);
	assert_int_equal(r->ninputs, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(r->inputs[i].has_weight, 1);
		assert_true(r->inputs[i].weight == w[i]);
		assert_int_equal(r->inputs[i].has_examples, 1);
		assert_int_equal(r->inputs[i].examples, ex[i]);
	}
	hex = hex_of(&r->id);
	expect_result(&want, vs, 3, ref_linear, &c, NULL, 0);
	assert_result(f, hex, &want, &vs[0]);
	/* norms against the result */
	for (int i = 0; i < 3; i++)
		assert_close(r->inputs[i].norm, ref_norm(&vs[i], &want, NULL), 1e-9);
	assert_int_equal(r->norm_vs_base, 0);
	/* the tensors not combined: step differs, mask differs, q8 does not */
	assert_int_equal(r->ntensors, 3);
	assert_string_equal(r->tensors[0].name, "step");
	assert_int_equal(r->tensors[0].flags, MVC_AGGREGATE_TENSOR_INTEGER | MVC_AGGREGATE_TENSOR_DIFFERED);
	assert_string_equal(r->tensors[1].name, "mask");
	assert_int_equal(r->tensors[1].flags, MVC_AGGREGATE_TENSOR_INTEGER | MVC_AGGREGATE_TENSOR_DIFFERED);
	assert_string_equal(r->tensors[2].name, "q8");
	assert_int_equal(r->tensors[2].flags, MVC_AGGREGATE_TENSOR_OTHER);
	assert_int_equal(r->summary.tensors, NT);
	assert_int_equal(r->summary.tensors_combined, 4);
	/* rows 0..3 of w32 are frozen: its first chunk (4 rows of 64 bytes) */
	assert_int_equal(r->summary.chunks_reused, 1);
	assert_int_equal(r->summary.chunks, r->summary.chunks_reused + r->summary.chunks_computed +
	    r->summary.chunks_copied);
	assert_int_equal(r->nfiles, 1);
	assert_string_equal(r->files[0], MODEL);

	/* the version: parents HEAD (the last input) then the other inputs */
	assert_ok(mvc_version_lookup(&v, f->repo, "HEAD"));
	assert_memory_equal(mvc_version_id(v), &r->id, sizeof(mvc_oid));
	assert_int_equal(mvc_version_parentcount(v), 3);
	{
		mvc_oid p;
		char ph[MVC_OID_HEXSZ + 1];

		assert_ok(mvc_version_parent_id(&p, v, 0));
		mvc_oid_fmt(ph, &p);
		assert_string_equal(ph, ids[2]);
		assert_ok(mvc_version_parent_id(&p, v, 1));
		mvc_oid_fmt(ph, &p);
		assert_string_equal(ph, ids[0]);
		assert_ok(mvc_version_parent_id(&p, v, 2));
		mvc_oid_fmt(ph, &p);
		assert_string_equal(ph, ids[1]);
	}
	{
		const char *msg = mvc_version_message(v);
		char line[160];

		assert_string_equal(mvc_version_summary(v), "Aggregate 3 versions (fedavg)");
		assert_non_null(strstr(msg, "\nAggregate-Method: fedavg\n"));
		snprintf(line, sizeof(line), "\nAggregate-Input: %s weight=0.1 num-examples=100\n", ids[0]);
		assert_non_null(strstr(msg, line));
		snprintf(line, sizeof(line), "\nAggregate-Input: %s weight=0.6 num-examples=600\n", ids[2]);
		assert_non_null(strstr(msg, line));
	}
	mvc_version_free(v);
	/* the working file is the result, and clean */
	{
		size_t len;
		unsigned char *got = result_bytes(f, hex, &len);

		assert_true(file_equals(f->model, got, len));
		free(got);
	}
	{
		mvc_status_list *st;

		assert_ok(mvc_status(&st, f->repo, 1));
		assert_int_equal(st->entries[0].state, MVC_FILE_CLEAN);
		mvc_status_free(st);
	}
	free(hex);
	mvc_aggregate_result_free(r);
	version_free(&want);
	for (int i = 0; i < 3; i++)
		version_free(&vs[i]);
	free_ids(ids, 3);
}

/* Explicit weights (normalised), and the plain mean; a dry run writes
 * nothing and gives the same numbers. */
static void test_weights_mean(void **state)
{
	fx *f = *state;
	version vs[4], want;
	char *ids[4];
	double wgiven[4] = { 3, 1, 1, 0 }, w[4];
	refctx c = { 0 };
	mvc_aggregate_options o = MVC_AGGREGATE_OPTIONS_INIT;
	mvc_aggregate_result *r, *dry;
	unsigned long before;
	char *hex;

	memset(&want, 0, sizeof(want));
	commit_inputs(f, vs, ids, 4, 0, 0.1, NULL);   /* no num-examples at all */
	for (int i = 0; i < 4; i++)
		w[i] = wgiven[i] / 5.0;
	o.weights = wgiven;
	o.nweights = 4;
	o.checkout = 0;
	o.dry_run = 1;
	before = store_fingerprint(f);
	dry = run(f, ids, 4, &o);
	assert_int_equal(store_fingerprint(f), before);
	assert_int_equal(dry->committed, 0);
	o.dry_run = 0;
	r = run(f, ids, 4, &o);
	hex = hex_of(&r->id);
	c.w = w;
	expect_result(&want, vs, 4, ref_linear, &c, NULL, 0);
	assert_result(f, hex, &want, &vs[0]);
	for (int i = 0; i < 4; i++) {
		assert_true(r->inputs[i].weight == w[i]);
		assert_int_equal(r->inputs[i].has_examples, 0);
		/* the dry run's numbers are the same, to the bit */
		assert_memory_equal(&dry->inputs[i].norm, &r->inputs[i].norm, sizeof(double));
	}
	assert_int_equal(dry->summary.chunks_computed, r->summary.chunks_computed);
	free(hex);
	mvc_aggregate_result_free(r);
	mvc_aggregate_result_free(dry);
	version_free(&want);

	/* mean: equal weights */
	o.weights = NULL;
	o.nweights = 0;
	o.method = MVC_AGGREGATE_MEAN;
	r = run(f, ids, 4, &o);
	hex = hex_of(&r->id);
	for (int i = 0; i < 4; i++)
		w[i] = 0.25;
	expect_result(&want, vs, 4, ref_linear, &c, NULL, 0);
	assert_result(f, hex, &want, &vs[0]);
	free(hex);
	mvc_aggregate_result_free(r);
	version_free(&want);
	for (int i = 0; i < 4; i++)
		version_free(&vs[i]);
	free_ids(ids, 4);
}

/* Median of an odd and an even count, trimmed means; the result against
 * the reference, bit for bit. */
static void test_median_trimmed(void **state)
{
	fx *f = *state;
	version vs[6], want;
	char *ids[6];
	refctx c = { 0 };
	mvc_aggregate_options o = MVC_AGGREGATE_OPTIONS_INIT;
	mvc_aggregate_result *r;
	char *hex;

	memset(&want, 0, sizeof(want));
	commit_inputs(f, vs, ids, 6, 2, 0.1, NULL);
	o.checkout = 0;
	o.method = MVC_AGGREGATE_MEDIAN;
	for (size_t n = 4; n <= 5; n++) {   /* even, odd */
		r = run(f, ids, n, &o);
		hex = hex_of(&r->id);
		expect_result(&want, vs, n, ref_median, &c, NULL, 0);
		assert_result(f, hex, &want, &vs[0]);
		assert_int_equal(r->inputs[0].has_weight, 0);
		for (size_t i = 0; i < n; i++)
			assert_close(r->inputs[i].norm, ref_norm(&vs[i], &want, NULL), 1e-9);
		free(hex);
		mvc_aggregate_result_free(r);
		version_free(&want);
	}
	o.method = MVC_AGGREGATE_TRIMMED_MEAN;
	{
		static const struct { double trim; size_t n, k; } cases[] = {
			{ 0.2, 6, 1 },    /* floor(1.2) = 1 */
			{ 0.34, 6, 2 },   /* floor(2.04) = 2 */
			{ 0.0, 5, 0 },    /* the mean */
			{ 0.49, 5, 2 },   /* the median of 5 */
		};

		for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
			o.trim = cases[k].trim;
			c.trim = cases[k].k;
			r = run(f, ids, cases[k].n, &o);
			assert_int_equal(r->trimmed, cases[k].k);
			hex = hex_of(&r->id);
			expect_result(&want, vs, cases[k].n, ref_trimmed, &c, NULL, 0);
			assert_result(f, hex, &want, &vs[0]);
			free(hex);
			mvc_aggregate_result_free(r);
			version_free(&want);
		}
	}
	o.trim = 0.5;
	assert_err(mvc_aggregate(&r, f->repo, (const char *const *)ids, 6, NULL, 0, &o),
	    MVC_EINVALID, "below 0.5");
	for (int i = 0; i < 6; i++)
		version_free(&vs[i]);
	free_ids(ids, 6);
}

/* Krum: scores from pairwise distances computed here; the selected input
 * is the result (integers too); too few inputs are refused. */
static void test_krum(void **state)
{
	fx *f = *state;
	version vs[6];
	char *ids[6];
	mvc_aggregate_options o = MVC_AGGREGATE_OPTIONS_INIT;
	mvc_aggregate_result *r;
	double d[6][6], score[6];
	size_t best = 0;
	char *hex;

	commit_inputs(f, vs, ids, 6, 1, 0.05, NULL);
	/* input 4 is far away: a Byzantine site */
	for (size_t e = 0; e < 1024; e++) {
		float x;

		memcpy(&x, vs[4].data[0] + 4 * e, 4);
		x += 5.0f;
		memcpy(vs[4].data[0] + 4 * e, &x, 4);
	}
	put(f, &vs[4], "site");
	{
		mvc_oid id = commit_model(f, "byzantine", 0);

		free(ids[4]);
		ids[4] = hex_of(&id);
	}
	for (int i = 0; i < 6; i++)
		for (int j = 0; j < 6; j++)
			d[i][j] = pow(ref_norm(&vs[i], &vs[j], NULL), 2);
	for (int i = 0; i < 6; i++) {
		double row[5];
		int m = 0;

		for (int j = 0; j < 6; j++)
			if (j != i)
				row[m++] = d[i][j];
		qsort(row, 5, sizeof(double), cmp_nan_last);
		score[i] = 0;
		for (int j = 0; j < 6 - 1 - 2; j++)   /* n - f - 2 with f = 1 */
			score[i] += row[j];
		if (score[i] < score[best])
			best = (size_t)i;
	}
	o.method = MVC_AGGREGATE_KRUM;
	o.byzantine = 1;
	o.checkout = 0;
	r = run(f, ids, 6, &o);
	assert_int_equal(r->has_selected, 1);
	assert_int_equal(r->selected, best);
	assert_int_not_equal(r->selected, 4);
	for (int i = 0; i < 6; i++) {
		assert_close(r->inputs[i].score, score[i], 1e-9);
		assert_int_equal(r->inputs[i].selected, (size_t)i == best);
		assert_close(r->inputs[i].norm, sqrt(d[i][best]), 1e-9);
	}
	assert_int_equal(r->inputs[4].outlier, 1);
	for (int i = 0; i < 6; i++)
		if (i != 4)
			assert_int_equal(r->inputs[i].outlier, 0);
	hex = hex_of(&r->id);
	assert_result(f, hex, &vs[best], &vs[0]);   /* every tensor of the selected input */
	free(hex);
	mvc_aggregate_result_free(r);
	/* n >= 2f + 3 */
	o.byzantine = 2;
	assert_err(mvc_aggregate(&r, f->repo, (const char *const *)ids, 6, NULL, 0, &o),
	    MVC_EINVALID, "needs at least 7 inputs (2f + 3), not 6");
	o.byzantine = 0;
	assert_err(mvc_aggregate(&r, f->repo, (const char *const *)ids, 2, NULL, 0, &o),
	    MVC_EINVALID, "needs at least 3 inputs");
	/* identical inputs tie: the first wins */
	o.byzantine = 0;
	{
		char *same[3] = { ids[1], ids[1], ids[1] };

		r = run(f, same, 3, &o);
		assert_int_equal(r->selected, 0);
		mvc_aggregate_result_free(r);
	}
	for (int i = 0; i < 6; i++)
		version_free(&vs[i]);
	free_ids(ids, 6);
}

/* Interpolate (first input the base) and task arithmetic (with --base). */
static void test_interpolate_task(void **state)
{
	fx *f = *state;
	version base, vs[3], want;
	char *ids[3], *bhex;
	double w[2];
	refctx c = { 0 };
	mvc_aggregate_options o = MVC_AGGREGATE_OPTIONS_INIT;
	mvc_aggregate_result *r;
	mvc_oid bid;
	char *hex;

	memset(&want, 0, sizeof(want));
	make_version(&base, 0, 0, 0);
	put(f, &base, "site");
	bid = commit_model(f, "base", 0);
	bhex = hex_of(&bid);
	commit_inputs(f, vs, ids, 3, 3, 0.1, NULL);
	o.checkout = 0;
	o.method = MVC_AGGREGATE_INTERPOLATE;
	o.alpha = 0.3;
	r = run(f, ids, 2, &o);
	hex = hex_of(&r->id);
	w[0] = 1 - 0.3;
	w[1] = 0.3;
	c.w = w;
	expect_result(&want, vs, 2, ref_linear, &c, NULL, 0);
	assert_result(f, hex, &want, &vs[0]);
	assert_true(r->inputs[1].weight == 0.3);
	free(hex);
	mvc_aggregate_result_free(r);
	version_free(&want);
	assert_err(mvc_aggregate(&r, f->repo, (const char *const *)ids, 3, NULL, 0, &o),
	    MVC_EINVALID, "exactly two versions");
	o.alpha = 1.5;
	assert_err(mvc_aggregate(&r, f->repo, (const char *const *)ids, 2, NULL, 0, &o),
	    MVC_EINVALID, "between 0 and 1");

	o.method = MVC_AGGREGATE_TASK_ARITHMETIC;
	o.lambda = 0.4;
	o.base = bhex;
	r = run(f, ids, 3, &o);
	hex = hex_of(&r->id);
	c.lambda = 0.4;
	expect_result(&want, vs, 3, ref_task, &c, &base, 0);
	assert_result(f, hex, &want, &vs[0]);
	assert_int_equal(r->norm_vs_base, 1);
	for (int i = 0; i < 3; i++)
		assert_close(r->inputs[i].norm, ref_norm(&vs[i], &base, NULL), 1e-9);
	assert_close(r->result_norm, ref_norm(&want, &base, NULL), 1e-9);
	/* frozen rows equal the base too: reused */
	assert_int_equal(r->summary.chunks_reused, 0);  /* 3 rows: not a whole chunk of 4 */
	free(hex);
	mvc_aggregate_result_free(r);
	version_free(&want);
	o.base = NULL;
	assert_err(mvc_aggregate(&r, f->repo, (const char *const *)ids, 3, NULL, 0, &o),
	    MVC_EINVALID, "needs a base");
	version_free(&base);
	for (int i = 0; i < 3; i++)
		version_free(&vs[i]);
	free_ids(ids, 3);
	free(bhex);
}

/* Identical inputs: every chunk recognised by its digest, nothing
 * computed or (in a dry run) decoded, and the result bit-identical --
 * with the current version among the inputs, the very same tree. */
static void test_identical(void **state)
{
	fx *f = *state;
	version v;
	char *ids[3];
	mvc_aggregate_options o = MVC_AGGREGATE_OPTIONS_INIT;
	mvc_aggregate_result *r;
	mvc_manifest *mi, *mr;
	mvc_version *vi, *vr;

	make_version(&v, 1, 0, 0.1);
	put(f, &v, "site");
	for (int i = 0; i < 3; i++) {
		char msg[32];
		mvc_oid id;

		snprintf(msg, sizeof(msg), "same %d", i);
		id = commit_model(f, msg, 10);
		ids[i] = hex_of(&id);
	}
	for (int m = MVC_AGGREGATE_FEDAVG; m <= MVC_AGGREGATE_TRIMMED_MEAN; m++) {
		o.method = (mvc_aggregate_method)m;
		o.dry_run = 1;
		r = run(f, ids, 3, &o);
		assert_int_equal(r->summary.chunks_computed, 0);
		assert_int_equal(r->summary.chunks_decoded, 0);
		assert_int_equal(r->summary.chunks_reused + r->summary.chunks_copied, r->summary.chunks);
		for (int i = 0; i < 3; i++)
			assert_true(r->inputs[i].norm == 0);
		mvc_aggregate_result_free(r);
	}
	o.method = MVC_AGGREGATE_FEDAVG;
	o.dry_run = 0;
	r = run(f, ids, 3, &o);
	assert_int_equal(r->summary.chunks_computed, 0);
	/* each chunk read once, from one input, for the file */
	assert_int_equal(r->summary.chunks_decoded, r->summary.chunks);
	assert_ok(mvc_version_lookup(&vi, f->repo, ids[0]));
	assert_ok(mvc_version_lookup(&vr, f->repo, "HEAD"));
	assert_ok(mvc_version_manifest(&mi, vi, MODEL));
	assert_ok(mvc_version_manifest(&mr, vr, MODEL));
	assert_memory_equal(mi->digest, mr->digest, MVC_DIGEST_SIZE);
	/* parents: HEAD (= input 3) once, then inputs 1 and 2 */
	assert_int_equal(mvc_version_parentcount(vr), 3);
	{
		git_commit *c1 = NULL, *c2 = NULL;
		git_tree *t1 = NULL, *t2 = NULL;
		git_oid o1, o2;

		git_oid_fromstr(&o1, ids[2]);
		mvc__oid_to_git(&o2, mvc_version_id(vr));
		assert_int_equal(git_commit_lookup(&c1, mvc__repo_git(f->repo), &o1), 0);
		assert_int_equal(git_commit_lookup(&c2, mvc__repo_git(f->repo), &o2), 0);
		assert_int_equal(git_commit_tree(&t1, c1), 0);
		assert_int_equal(git_commit_tree(&t2, c2), 0);
		/* every chunk reused from the parent: the same tree */
		assert_true(git_oid_equal(git_tree_id(t1), git_tree_id(t2)));
		git_tree_free(t1);
		git_tree_free(t2);
		git_commit_free(c1);
		git_commit_free(c2);
	}
	mvc_manifest_free(mi);
	mvc_manifest_free(mr);
	mvc_version_free(vi);
	mvc_version_free(vr);
	mvc_aggregate_result_free(r);
	version_free(&v);
	free_ids(ids, 3);
}

/* Integer policies: first (the differing tensors named), max, error
 * (refused before anything is written). */
static void test_int_policies(void **state)
{
	fx *f = *state;
	version vs[3];
	char *ids[3];
	mvc_aggregate_options o = MVC_AGGREGATE_OPTIONS_INIT;
	mvc_aggregate_result *r;
	unsigned long before;
	size_t len;
	unsigned char *got;
	char *hex;

	commit_inputs(f, vs, ids, 3, 0, 0.1, NULL);
	o.method = MVC_AGGREGATE_MEAN;
	o.checkout = 0;
	o.int_policy = MVC_INT_POLICY_MAX;
	r = run(f, ids, 3, &o);
	hex = hex_of(&r->id);
	got = result_bytes(f, hex, &len);
	{
		int64_t step;

		memcpy(&step, got + vs[0].off[4], 8);
		assert_int_equal(step, 1003);            /* 1001, 1002, 1003 */
		for (size_t e = 0; e < 24; e++)          /* BOOL: or */
			assert_int_equal(got[vs[0].off[5] + e],
			    vs[0].data[5][e] | vs[1].data[5][e] | vs[2].data[5][e]);
	}
	free(got);
	free(hex);
	mvc_aggregate_result_free(r);

	o.int_policy = MVC_INT_POLICY_ERROR;
	before = store_fingerprint(f);
	assert_err(mvc_aggregate(&r, f->repo, (const char *const *)ids, 3, NULL, 0, &o),
	    MVC_EINVALID, "the inputs differ in tensor 'step' of 'model.safetensors' (I64, never averaged)");
	assert_int_equal(store_fingerprint(f), before);
	/* excluded integer tensors are not the policy's business */
	{
		const char *ex[] = { "step", "mask" };

		o.exclude = ex;
		o.nexclude = 2;
		r = run(f, ids, 3, &o);
		assert_int_equal(r->tensors[0].flags,
		    MVC_AGGREGATE_TENSOR_EXCLUDED | MVC_AGGREGATE_TENSOR_INTEGER | MVC_AGGREGATE_TENSOR_DIFFERED);
		mvc_aggregate_result_free(r);
		o.exclude = NULL;
		o.nexclude = 0;
	}
	for (int i = 0; i < 3; i++)
		version_free(&vs[i]);
	free_ids(ids, 3);
}

/* --exclude: matching tensors come from the first input, unaveraged. */
static void test_exclude(void **state)
{
	fx *f = *state;
	version vs[3], want;
	char *ids[3];
	double w[3] = { 1.0 / 3, 1.0 / 3, 1.0 / 3 };
	refctx c = { 0 };
	const char *ex[] = { "w1*", "wb?" };
	mvc_aggregate_options o = MVC_AGGREGATE_OPTIONS_INIT;
	mvc_aggregate_result *r;
	char *hex;

	memset(&want, 0, sizeof(want));
	commit_inputs(f, vs, ids, 3, 0, 0.1, NULL);
	o.method = MVC_AGGREGATE_MEAN;
	o.exclude = ex;
	o.nexclude = 2;
	o.checkout = 0;
	r = run(f, ids, 3, &o);
	hex = hex_of(&r->id);
	c.w = w;
	expect_result(&want, vs, 3, ref_linear, &c, NULL, 0);
	memcpy(want.data[1], vs[0].data[1], want.len[1]);   /* w16 */
	memcpy(want.data[2], vs[0].data[2], want.len[2]);   /* wbf */
	assert_result(f, hex, &want, &vs[0]);
	assert_int_equal(r->summary.tensors_combined, 2);
	assert_string_equal(r->tensors[0].name, "w16");
	assert_int_equal(r->tensors[0].flags, MVC_AGGREGATE_TENSOR_EXCLUDED | MVC_AGGREGATE_TENSOR_DIFFERED);
	assert_string_equal(r->tensors[1].name, "wbf");
	/* norms leave the excluded tensors out */
	{
		version tmp = want;

		for (int i = 0; i < 3; i++) {
			long double s = 0;

			for (int t = 0; t < NT; t++) {
				if (t != 0 && t != 3)
					continue;
				for (size_t e = 0; e < nelem(&model_def[t]); e++) {
					double x = elem(&model_def[t], vs[i].data[t], e) -
					    elem(&model_def[t], tmp.data[t], e);

					s += x * x;
				}
			}
			assert_close(r->inputs[i].norm, (double)sqrtl(s), 1e-9);
		}
	}
	free(hex);
	mvc_aggregate_result_free(r);
	version_free(&want);
	for (int i = 0; i < 3; i++)
		version_free(&vs[i]);
	free_ids(ids, 3);
}

/* DP-FedAvg: clipping norms against the reference, the noise-free result
 * bit for bit, and the noise's statistics with a fixed seed. */
static void test_dp(void **state)
{
	fx *f = *state;
	version base, vs[4], want;
	char *ids[4], *bhex, *hex;
	mvc_aggregate_options o = MVC_AGGREGATE_OPTIONS_INIT;
	mvc_aggregate_result *r, *r2;
	mvc_oid bid;
	double norm[4], cf[4], clip = 0.5;
	const char *ex[] = { "w64" };

	memset(&want, 0, sizeof(want));
	make_version(&base, 0, 0, 0);
	put(f, &base, "site");
	bid = commit_model(f, "base", 0);
	bhex = hex_of(&bid);
	commit_inputs(f, vs, ids, 4, 2, 0.1, NULL);
	for (int i = 0; i < 4; i++) {
		norm[i] = ref_norm(&vs[i], &base, "w64");
		cf[i] = norm[i] <= clip ? 1 : clip / norm[i];
	}
	assert_true(norm[0] > clip);   /* some are clipped */
	o.clip = clip;
	o.base = bhex;
	o.exclude = ex;
	o.nexclude = 1;
	o.checkout = 0;
	r = run(f, ids, 4, &o);
	assert_int_equal(r->dp, 1);
	assert_true(r->noise_std == 0);
	for (int i = 0; i < 4; i++) {
		assert_close(r->inputs[i].norm, norm[i], 1e-9);
		assert_close(r->inputs[i].clip_factor, cf[i], 1e-12);
		assert_true(r->inputs[i].weight == 0.25);
	}
	/* base + sum_i (c_i / n)(m_i - base), element by element */
	hex = hex_of(&r->id);
	for (int t = 0; t < NT; t++) {
		const tdef *d = &model_def[t];

		want.len[t] = vs[0].len[t];
		want.data[t] = malloc(want.len[t] + 1);
		if (!is_float(d) || t == 3) {
			memcpy(want.data[t], vs[0].data[t], want.len[t]);
			continue;
		}
		for (size_t e = 0; e < nelem(d); e++) {
			double b = elem(d, base.data[t], e), s = 0;

			for (int i = 0; i < 4; i++) {
				double c = (r->inputs[i].clip_factor) / 4;

				s += c * (elem(d, vs[i].data[t], e) - b);
			}
			store(d, want.data[t] + e * d->width, b + s + 0);
		}
	}
	assert_result(f, hex, &want, &vs[0]);
	free(hex);
	mvc_aggregate_result_free(r);
	version_free(&want);

	/* noise: inputs equal to the base, so the result minus the base is
	 * the noise alone; std = z * C / n */
	{
		char *same[4] = { bhex, bhex, bhex, bhex };
		double z = 2.0, std = z * clip / 4, s1 = 0, s2 = 0;
		size_t len, cnt = 0;
		unsigned char *got, *got2;

		o.noise_multiplier = z;
		o.seed = 7;
		o.has_seed = 1;
		o.exclude = NULL;
		o.nexclude = 0;
		r = run(f, same, 4, &o);
		assert_close(r->noise_std, std, 1e-15);
		assert_int_equal(r->summary.chunks_reused, 0);   /* noise everywhere */
		hex = hex_of(&r->id);
		got = result_bytes(f, hex, &len);
		free(hex);
		/* w32 (F32) and w64 (F64): result - base */
		for (int t = 0; t < 4; t += 3) {
			const tdef *d = &model_def[t];

			for (size_t e = 0; e < nelem(d); e++) {
				double x = elem(d, got + base.off[t], e) - elem(d, base.data[t], e);

				s1 += x;
				s2 += x * x;
				cnt++;
			}
		}
		{
			double mean = s1 / (double)cnt, sd = sqrt(s2 / (double)cnt - mean * mean);

			assert_true(fabs(mean) < 4 * std / sqrt((double)cnt));
			assert_true(fabs(sd - std) < 0.05 * std);
		}
		/* the same seed: the same bytes; another seed: others */
		r2 = run(f, same, 4, &o);
		hex = hex_of(&r2->id);
		got2 = result_bytes(f, hex, &len);
		assert_memory_equal(got, got2, len);
		free(got2);
		free(hex);
		mvc_aggregate_result_free(r2);
		o.seed = 8;
		r2 = run(f, same, 4, &o);
		hex = hex_of(&r2->id);
		got2 = result_bytes(f, hex, &len);
		assert_memory_not_equal(got + base.off[0], got2 + base.off[0], base.len[0]);
		free(got2);
		free(hex);
		mvc_aggregate_result_free(r2);
		/* no seed: the system's generator, different every time */
		o.has_seed = 0;
		r2 = run(f, same, 4, &o);
		hex = hex_of(&r2->id);
		got2 = result_bytes(f, hex, &len);
		assert_memory_not_equal(got + base.off[0], got2 + base.off[0], base.len[0]);
		free(got2);
		free(hex);
		mvc_aggregate_result_free(r2);
		free(got);
		mvc_aggregate_result_free(r);
	}
	/* bad combinations */
	o.noise_multiplier = 1;
	o.base = NULL;
	assert_err(mvc_aggregate(&r, f->repo, (const char *const *)ids, 4, NULL, 0, &o),
	    MVC_EINVALID, "clipping needs a base");
	o.base = bhex;
	o.method = MVC_AGGREGATE_MEDIAN;
	assert_err(mvc_aggregate(&r, f->repo, (const char *const *)ids, 4, NULL, 0, &o),
	    MVC_EINVALID, "go with fedavg or mean");
	o.method = MVC_AGGREGATE_FEDAVG;
	o.clip = 0;
	assert_err(mvc_aggregate(&r, f->repo, (const char *const *)ids, 4, NULL, 0, &o),
	    MVC_EINVALID, "noise needs clipping");
	version_free(&base);
	for (int i = 0; i < 4; i++)
		version_free(&vs[i]);
	free_ids(ids, 4);
	free(bhex);
}

/* Inputs that disagree are refused, naming the first disagreement, with
 * nothing written; so are bad options and missing counts. */
static void test_refused(void **state)
{
	fx *f = *state;
	version vs[2];
	char *ids[3];
	mvc_aggregate_options o = MVC_AGGREGATE_OPTIONS_INIT;
	mvc_aggregate_result *r = NULL;
	unsigned long before;
	double w2[2] = { 1, 1 }, wneg[3] = { 1, -1, 1 }, wzero[3] = { 0, 0, 0 };

	commit_inputs(f, vs, ids, 2, 0, 0.1, NULL);
	/* a third version where w16 has another shape */
	{
		char hdr[2048];
		unsigned char *p = build(&vs[1], "site"), *q;
		size_t hl, len;
		mvc_oid id;

		memcpy(&hl, p, 8);
		memcpy(hdr, p + 8, hl);
		hdr[hl] = '\0';
		q = (unsigned char *)strstr(hdr, "\"shape\":[32,8]");
		assert_non_null(q);
		memcpy(q, "\"shape\":[8,32]", 14);   /* the same size, another shape */
		memcpy(p + 8, hdr, hl);
		len = vs[1].file_len;
		write_bytes(f->model, p, len);
		free(p);
		id = commit_model(f, "reshaped", 0);
		ids[2] = hex_of(&id);
	}
	o.method = MVC_AGGREGATE_MEAN;
	before = store_fingerprint(f);
	assert_err(mvc_aggregate(&r, f->repo, (const char *const *)ids, 3, NULL, 0, &o),
	    MVC_EINVALID, "inputs disagree: tensor 'w16' of 'model.safetensors' has shape [32, 8] in");
	{
		char want[256];

		snprintf(want, sizeof(want), "in '%s' but [8, 32] in '%s'", ids[0], ids[2]);
		assert_non_null(strstr(mvc_error_last(), want));
	}
	assert_null(r);
	assert_int_equal(store_fingerprint(f), before);
	/* fedavg without counts */
	o.method = MVC_AGGREGATE_FEDAVG;
	assert_err(mvc_aggregate(&r, f->repo, (const char *const *)ids, 2, NULL, 0, &o),
	    MVC_EINVALID, "has no num-examples metadata");
	/* weights: count, sign, sum; and with another method */
	o.weights = w2;
	o.nweights = 2;
	assert_err(mvc_aggregate(&r, f->repo, (const char *const *)ids, 3, NULL, 0, &o),
	    MVC_EINVALID, "2 weights for 3 inputs");
	o.weights = wneg;
	o.nweights = 3;
	assert_err(mvc_aggregate(&r, f->repo, (const char *const *)ids, 3, NULL, 0, &o),
	    MVC_EINVALID, "weight 2 is -1");
	o.weights = wzero;
	assert_err(mvc_aggregate(&r, f->repo, (const char *const *)ids, 3, NULL, 0, &o),
	    MVC_EINVALID, "at least one must be above 0");
	o.method = MVC_AGGREGATE_MEDIAN;
	assert_err(mvc_aggregate(&r, f->repo, (const char *const *)ids, 3, NULL, 0, &o),
	    MVC_EINVALID, "weights apply to fedavg only");
	o.weights = NULL;
	o.nweights = 0;
	assert_int_equal(store_fingerprint(f), before);
	/* an unknown revision, an untracked path, no inputs */
	{
		const char *bad[] = { ids[0], "nosuch" };
		const char *paths[] = { "other.safetensors" };

		assert_err(mvc_aggregate(&r, f->repo, bad, 2, NULL, 0, &o), MVC_ENOTFOUND,
		    "unknown revision 'nosuch'");
		assert_err(mvc_aggregate(&r, f->repo, (const char *const *)ids, 2, paths, 1, &o),
		    MVC_ENOTFOUND, "'other.safetensors' is not tracked in");
		assert_err(mvc_aggregate(&r, f->repo, bad, 0, NULL, 0, &o), MVC_EINVALID,
		    "name at least one version");
	}
	/* a tensor missing, and a dtype changed */
	{
		char *sub[2] = { ids[0], NULL };
		unsigned char *p = build(&vs[1], "site");
		size_t hl;
		char *dt;
		mvc_oid id;

		memcpy(&hl, p, 8);
		dt = memmem(p + 8, hl, "\"dtype\":\"BF16\"", 14);
		assert_non_null(dt);
		memcpy(dt, "\"dtype\":\"F16\" ", 14);
		write_bytes(f->model, p, vs[1].file_len);
		free(p);
		id = commit_model(f, "retyped", 0);
		sub[1] = hex_of(&id);
		assert_err(mvc_aggregate(&r, f->repo, (const char *const *)sub, 2, NULL, 0, &o),
		    MVC_EINVALID, "tensor 'wbf' of 'model.safetensors' is BF16 in");
		free(sub[1]);
	}
	o.version = 99;
	assert_err(mvc_aggregate(&r, f->repo, (const char *const *)ids, 2, NULL, 0, &o),
	    MVC_EINVALID, "options version");
	for (int i = 0; i < 2; i++)
		version_free(&vs[i]);
	free_ids(ids, 3);
}

/* A working file with uncommitted changes stops the aggregate before it
 * starts, unless the working files are left alone. */
static void test_dirty(void **state)
{
	fx *f = *state;
	version vs[2];
	char *ids[2];
	mvc_aggregate_options o = MVC_AGGREGATE_OPTIONS_INIT;
	mvc_aggregate_result *r;
	unsigned long before;

	commit_inputs(f, vs, ids, 2, 0, 0.1, NULL);
	vs[0].data[0][0] ^= 1;
	put(f, &vs[0], "site");
	o.method = MVC_AGGREGATE_MEAN;
	before = store_fingerprint(f);
	assert_err(mvc_aggregate(&r, f->repo, (const char *const *)ids, 2, NULL, 0, &o),
	    MVC_EDIRTY, "has uncommitted changes");
	assert_int_equal(store_fingerprint(f), before);
	o.checkout = 0;
	r = run(f, ids, 2, &o);
	assert_int_equal(r->checked_out, 0);
	mvc_aggregate_result_free(r);
	for (int i = 0; i < 2; i++)
		version_free(&vs[i]);
	free_ids(ids, 2);
}

/* Inputs chunked differently (another mvc.chunkSize on an unrelated
 * branch) give the same result as inputs chunked alike; and the thread
 * count changes no bit of anything. */
static void test_plans_threads(void **state)
{
	fx *f = *state;
	version vs[3], want;
	char *ids[3];
	double w[3] = { 0.5, 0.25, 0.25 }, wg[3] = { 2, 1, 1 };
	refctx c = { 0 };
	mvc_aggregate_options o = MVC_AGGREGATE_OPTIONS_INIT;
	mvc_aggregate_result *r1, *r3;
	git_reference *ref = NULL;
	git_config *cfg = NULL;
	char *h1, *h3;
	size_t l1, l3;
	unsigned char *b1, *b3;

	memset(&want, 0, sizeof(want));
	commit_inputs(f, vs, ids, 2, 1, 0.1, NULL);
	/* an orphan branch, 96-byte chunks: w32 rows of 64 bytes, one a chunk */
	assert_int_equal(git_reference_symbolic_create(&ref, mvc__repo_git(f->repo), "HEAD",
	    "refs/heads/other", 1, NULL), 0);
	git_reference_free(ref);
	assert_int_equal(git_repository_config(&cfg, mvc__repo_git(f->repo)), 0);
	assert_int_equal(git_config_set_int64(cfg, "mvc.chunkSize", 96), 0);
	make_version(&vs[2], 3, 1, 0.1);
	put(f, &vs[2], "site");
	{
		mvc_oid id = commit_model(f, "other plan", 0);

		ids[2] = hex_of(&id);
	}
	assert_int_equal(git_config_set_int64(cfg, "mvc.chunkSize", 256), 0);
	git_config_free(cfg);
	{
		mvc_version *v;
		mvc_manifest *m0, *m2;

		assert_ok(mvc_version_lookup(&v, f->repo, ids[0]));
		assert_ok(mvc_version_manifest(&m0, v, MODEL));
		mvc_version_free(v);
		assert_ok(mvc_version_lookup(&v, f->repo, ids[2]));
		assert_ok(mvc_version_manifest(&m2, v, MODEL));
		mvc_version_free(v);
		assert_true(m0->tensors[0].chunk_size != m2->tensors[0].chunk_size);
		mvc_manifest_free(m0);
		mvc_manifest_free(m2);
	}
	o.weights = wg;
	o.nweights = 3;
	o.checkout = 0;
	o.threads = 1;
	r1 = run(f, ids, 3, &o);
	o.threads = 3;
	r3 = run(f, ids, 3, &o);
	h1 = hex_of(&r1->id);
	h3 = hex_of(&r3->id);
	c.w = w;
	expect_result(&want, vs, 3, ref_linear, &c, NULL, 0);
	assert_result(f, h1, &want, &vs[0]);
	b1 = result_bytes(f, h1, &l1);
	b3 = result_bytes(f, h3, &l3);
	assert_int_equal(l1, l3);
	assert_memory_equal(b1, b3, l1);
	for (int i = 0; i < 3; i++) {
		assert_memory_equal(&r1->inputs[i].norm, &r3->inputs[i].norm, sizeof(double));
		assert_close(r1->inputs[i].norm, ref_norm(&vs[i], &want, NULL), 1e-9);
	}
	/* no chunk can be matched by digest across two plans */
	assert_int_equal(r1->summary.chunks_reused, 0);
	/* step differs (another plan: found by value) */
	assert_true(r1->tensors[0].flags & MVC_AGGREGATE_TENSOR_DIFFERED);
	assert_false(r1->tensors[2].flags & MVC_AGGREGATE_TENSOR_DIFFERED);
	free(b1);
	free(b3);
	free(h1);
	free(h3);
	mvc_aggregate_result_free(r1);
	mvc_aggregate_result_free(r3);
	version_free(&want);
	for (int i = 0; i < 3; i++)
		version_free(&vs[i]);
	free_ids(ids, 3);
}

/* Inputs laid out differently (another header, tensors in another
 * order): tensors are matched by name, and the result has the first
 * input's layout, header bytes included. */
static void test_layouts(void **state)
{
	fx *f = *state;
	version vs[3], want;
	char *ids[3], *hex;
	double w[3] = { 1.0 / 3, 1.0 / 3, 1.0 / 3 };
	refctx c = { 0 };
	mvc_aggregate_options o = MVC_AGGREGATE_OPTIONS_INIT;
	mvc_aggregate_result *r;
	static const char *notes[3] = { "first", "a much longer note in the second header", "3" };

	memset(&want, 0, sizeof(want));
	for (int i = 0; i < 3; i++) {
		unsigned char *p;
		mvc_oid id;
		char msg[32];

		make_version(&vs[i], (unsigned)i + 1, 0, 0.1);
		p = build_order(&vs[i], notes[i], i == 2);
		write_bytes(f->model, p, vs[i].file_len);
		free(p);
		snprintf(msg, sizeof(msg), "site %d", i);
		id = commit_model(f, msg, 0);
		ids[i] = hex_of(&id);
	}
	o.method = MVC_AGGREGATE_MEAN;
	o.checkout = 0;
	r = run(f, ids, 3, &o);
	hex = hex_of(&r->id);
	c.w = w;
	expect_result(&want, vs, 3, ref_linear, &c, NULL, 0);
	{
		size_t len;
		unsigned char *got = result_bytes(f, hex, &len), *ref = build_order(&vs[0], "first", 0);

		assert_int_equal(len, vs[0].file_len);
		assert_memory_equal(got, ref, vs[0].off[0]);
		for (int t = 0; t < NT; t++)
			assert_memory_equal(got + vs[0].off[t], want.data[t], want.len[t]);
		free(got);
		free(ref);
	}
	free(hex);
	mvc_aggregate_result_free(r);
	version_free(&want);
	for (int i = 0; i < 3; i++)
		version_free(&vs[i]);
	free_ids(ids, 3);
}

/* The order statistics and outlier scores on their own: NaN sorts last
 * and is outvoted or trimmed away; Krum breaks ties by input order; the
 * modified z-score and its fallbacks. */
static void test_robust_helpers(void **state)
{
	double v[5] = { 3, NAN, -1, INFINITY, 2 }, z[6], s[4];
	int def[6];
	long double d[16];

	(void)state;
	mvc__sort_values(v, 5);
	assert_true(v[0] == -1 && v[1] == 2 && v[2] == 3 && isinf(v[3]) && isnan(v[4]));
	assert_true(mvc__median_sorted(v, 5) == 3);                 /* one NaN outvoted */
	assert_true(mvc__trimmed_mean_sorted(v, 5, 2) == 3);
	{
		double e[4] = { 1, 2, 4, NAN };

		mvc__sort_values(e, 4);
		assert_true(mvc__median_sorted(e, 4) == 3);          /* mean of the middle two */
		assert_true(mvc__trimmed_mean_sorted(e, 4, 1) == 3);
		assert_true(isnan(mvc__trimmed_mean_sorted(e, 4, 0)));
	}
	{
		double big[2] = { 1.5e308, 1.7e308 };                   /* no overflow */

		assert_true(mvc__median_sorted(big, 2) == 1.6e308);
	}
	/* krum, n = 4, f = 0: two nearest; inputs 0 and 1 tie, 0 wins */
	{
		double pts[4] = { 0, 1, 2, 10 };

		for (int i = 0; i < 4; i++)
			for (int j = 0; j < 4; j++)
				d[i * 4 + j] = (pts[i] - pts[j]) * (pts[i] - pts[j]);
		assert_int_equal(mvc__krum_select(d, 4, 0, s), 1);   /* 1: 1 + 1 = 2 */
		assert_true(s[0] == 5 && s[1] == 2 && s[2] == 5 && s[3] == 64 + 81);
		d[1 * 4 + 3] = d[3 * 4 + 1] = NAN;                   /* NaN counts as infinite */
		assert_int_equal(mvc__krum_select(d, 4, 0, s), 1);
		for (int i = 0; i < 16; i++)
			d[i] = 0;
		assert_int_equal(mvc__krum_select(d, 4, 0, s), 0);   /* all tie: the first */
	}
	/* z-scores */
	{
		double x[6] = { 1, 1.1, 0.9, 1.05, 0.95, 9 };

		mvc__modified_z(x, 6, z, def);
		for (int i = 0; i < 6; i++)
			assert_int_equal(def[i], 1);
		assert_true(z[5] > 3.5);
		for (int i = 0; i < 5; i++)
			assert_true(fabs(z[i]) <= 3.5);
		/* median 1.025, MAD 0.075: 0.6745 (9 - 1.025) / 0.075 */
		assert_close(z[5], 0.6745 * (9 - 1.025) / 0.075, 1e-12);
	}
	{
		double x[5] = { 1, 1, 1, 1, 4 };   /* MAD 0: the mean absolute deviation */

		mvc__modified_z(x, 5, z, def);
		assert_close(z[4], 3 / (1.253314 * 0.6), 1e-12);
		assert_true(z[0] == 0);
	}
	{
		double x[4] = { 2, 2, 2, 2 };      /* no spread: every z is 0 */

		mvc__modified_z(x, 4, z, def);
		for (int i = 0; i < 4; i++)
			assert_true(def[i] && z[i] == 0);
	}
	{
		double x[4] = { 1, NAN, 2, INFINITY };   /* under 3 finite: none defined */

		mvc__modified_z(x, 4, z, def);
		for (int i = 0; i < 4; i++)
			assert_int_equal(def[i], 0);
	}
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rounding),
		T(test_fedavg),
		T(test_weights_mean),
		T(test_median_trimmed),
		T(test_krum),
		T(test_interpolate_task),
		T(test_identical),
		T(test_int_policies),
		T(test_exclude),
		T(test_dp),
		T(test_refused),
		T(test_dirty),
		T(test_plans_threads),
		T(test_layouts),
		cmocka_unit_test(test_robust_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
