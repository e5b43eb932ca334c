/*
 * The inputs of an aggregate streamed and combined, chunk by chunk.
 *
 * Every tensor of every file is cut into work items ("units") of one
 * chunk when all sides share the tensor's chunk plan (they do when the
 * versions descend from one another); otherwise of the largest chunk size
 * among them, each side reading the bytes it needs from its own chunks.
 * Items run on all cores through the ordered pool: a worker decodes the
 * chunks of the item (a chunk whose digest another input shares is
 * decoded once), combines them block by block in double precision and
 * rounds the result back; the calling thread takes the items in order,
 * merges their partial sums (so numbers do not depend on the thread
 * count) and appends the bytes to the result file.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "combine.h"
#include "pool.h"
#include "float.h"
#include "robust.h"

enum { W_REUSED = 1, W_COMPUTED, W_COPIED };

typedef struct tctx {
	mvc_codec *codec;
	unsigned char **in;        /* per side: one unit */
	unsigned char *scratch;    /* a chunk of another plan */
	double *x;                 /* per side: BLOCK values */
	double *res;               /* BLOCK: the result as written, widened again */
	double *acc;
	long double *lacc;
	double *vals;              /* one coordinate of every input */
	double *noise;
	unsigned char *noisebytes;
	unsigned char *dry;         /* a dry run's result bytes, thrown away */
	size_t *rep;               /* per side: the first side with the same chunk */
	long double *part;         /* per side: a partial sum */
	unsigned char *need;       /* per side: its chunk is read */
} tctx;

typedef struct slot {
	size_t tensor;
	uint64_t off;
	size_t len;
	unsigned char *out;
	long double *ssq;          /* the pass's sums (see agg.nacc) */
	long double rssq;          /* result - base */
	int differed;
	int work;
	uint64_t decoded;
} slot;

static uint64_t chunk_len(const mvc_manifest_tensor *mt, uint64_t c)
{
	return mvc_manifest_chunk_len(mt, c);
}

static const unsigned char *chunk_digest(const mvc_manifest_tensor *mt, uint64_t c)
{
	return mt->chunk_digests + c * MVC_DIGEST_SIZE;
}

/* ---- reading and converting ---- */

static int chunk_error(const agg *a, const atensor *T, size_t s, uint64_t c, int error)
{
	char why[512], tq[MVC_QUOTE_MAX], pq[MVC_QUOTE_MAX], rq[MVC_QUOTE_MAX];

	snprintf(why, sizeof(why), "%s", mvc_error_last());
	return mvc__err(error, "'%s:%s': tensor '%s': chunk %llu: %s", side_name(a, s, rq),
	    agg_quote(pq, a->files[T->file].path), agg_quote(tq, T->mt[s]->t.name),
	    (unsigned long long)c, why);
}

/* Bytes [off, off + len) of tensor T on side s into dst, every chunk
 * checked against its digest. */
static int load(const agg *a, tctx *t, const atensor *T, size_t s, uint64_t off, size_t len,
                unsigned char *dst, uint64_t *decoded)
{
	const mvc_manifest_tensor *mt = T->mt[s];
	unsigned char d[MVC_DIGEST_SIZE];
	int error;

	while (len) {
		uint64_t c = mvc_manifest_chunk_at(mt, off), coff = off - mvc_manifest_chunk_offset(mt, c);
		size_t clen = (size_t)chunk_len(mt, c), k = clen - coff < len ? (size_t)(clen - coff) : len;
		unsigned char *buf = coff == 0 && k == clen ? dst : t->scratch;

		if ((error = mvc__chunk_load(a->odb, t->codec, &T->oids[s][c], buf, clen, NULL, NULL,
		         NULL)) < 0)
			return chunk_error(a, T, s, c, error);
		(*decoded)++;
		mvc_blake2b(d, buf, clen);
		if (memcmp(d, chunk_digest(mt, c), MVC_DIGEST_SIZE)) {
			mvc__err(MVC_ECORRUPT, "fails its BLAKE2b digest (corrupt object)");
			return chunk_error(a, T, s, c, MVC_ECORRUPT);
		}
		if (buf != dst)
			memcpy(dst, buf + coff, k);
		dst += k;
		off += k;
		len -= k;
	}
	return 0;
}

/* For unit u of an aligned tensor: rep[s] is the first side whose chunk
 * has the same digest (sides below `upto`); else every side stands alone. */
static void group(const atensor *T, uint64_t u, size_t upto, size_t *rep)
{
	for (size_t s = 0; s < upto; s++) {
		rep[s] = s;
		if (!T->aligned)
			continue;
		for (size_t r = 0; r < s; r++)
			if (rep[r] == r && !memcmp(chunk_digest(T->mt[s], u), chunk_digest(T->mt[r], u),
			        MVC_DIGEST_SIZE)) {
				rep[s] = r;
				break;
			}
	}
}

static void widen(double *x, mvc_dtype dt, const unsigned char *p, size_t b)
{
	const float *f16 = mvc__f16_table();

	switch (dt) {
	case MVC_DTYPE_F32:
		for (size_t k = 0; k < b; k++) {
			float f;

			memcpy(&f, p + 4 * k, 4);
			x[k] = f;
		}
		break;
	case MVC_DTYPE_F64:
		memcpy(x, p, 8 * b);
		break;
	case MVC_DTYPE_F16:
		for (size_t k = 0; k < b; k++) {
			uint16_t h;

			memcpy(&h, p + 2 * k, 2);
			x[k] = f16[h];
		}
		break;
	default: /* BF16 */
		for (size_t k = 0; k < b; k++) {
			uint16_t h;

			memcpy(&h, p + 2 * k, 2);
			x[k] = mvc_bf16_to_float(h);
		}
		break;
	}
}

/* Round r to the dtype into p (to nearest, ties to even), and keep the
 * value written, widened again, in back. */
static void narrow(unsigned char *p, mvc_dtype dt, const double *r, size_t b, double *back)
{
	switch (dt) {
	case MVC_DTYPE_F32:
		for (size_t k = 0; k < b; k++) {
			float f = (float)r[k];

			memcpy(p + 4 * k, &f, 4);
			back[k] = f;
		}
		break;
	case MVC_DTYPE_F64:
		memcpy(p, r, 8 * b);
		memcpy(back, r, 8 * b);
		break;
	case MVC_DTYPE_F16: {
		const float *f16 = mvc__f16_table();

		for (size_t k = 0; k < b; k++) {
			uint16_t h = mvc__f16_from_double(r[k]);

			memcpy(p + 2 * k, &h, 2);
			back[k] = f16[h];
		}
		break;
	}
	default:
		for (size_t k = 0; k < b; k++) {
			uint16_t h = mvc__bf16_from_double(r[k]);

			memcpy(p + 2 * k, &h, 2);
			back[k] = mvc_bf16_to_float(h);
		}
		break;
	}
}

static double sqdist(const double *x, const double *y, size_t b)
{
	double s0 = 0, s1 = 0;
	size_t k = 0;

	for (; k + 2 <= b; k += 2) {
		double d0 = x[k] - y[k], d1 = x[k + 1] - y[k + 1];

		s0 += d0 * d0;
		s1 += d1 * d1;
	}
	if (k < b)
		s0 += (x[k] - y[k]) * (x[k] - y[k]);
	return s0 + s1;
}

/* Standard normal values from the keyed stream of one block (Box-Muller). */
static void gaussian(const agg *a, tctx *t, const atensor *T, uint64_t u, size_t block, size_t b)
{
	unsigned char key[randombytes_SEEDBYTES], msg[32];
	size_t pairs = (b + 1) / 2;
	uint64_t v[4] = { T->file, T->idx, u, block };

	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 8; j++)
			msg[8 * i + j] = (unsigned char)(v[i] >> (8 * j));
	crypto_generichash(key, sizeof(key), msg, sizeof(msg), a->master, sizeof(a->master));
	randombytes_buf_deterministic(t->noisebytes, 16 * pairs, key);
	for (size_t p = 0; p < pairs; p++) {
		uint64_t x, y;
		double u1, u2, rad;

		memcpy(&x, t->noisebytes + 16 * p, 8);
		memcpy(&y, t->noisebytes + 16 * p + 8, 8);
		u1 = ((double)(x >> 11) + 0.5) * (1.0 / 9007199254740992.0);  /* (0, 1) */
		u2 = (double)(y >> 11) * (1.0 / 9007199254740992.0);          /* [0, 1) */
		rad = sqrt(-2 * log(u1));
		t->noise[2 * p] = rad * cos(6.283185307179586 * u2);
		if (2 * p + 1 < b)
			t->noise[2 * p + 1] = rad * sin(6.283185307179586 * u2);
	}
	explicit_bzero(key, sizeof(key));
}

/* ---- the work of one item ---- */

static size_t find_tensor(const agg *a, size_t item)
{
	size_t lo = 0, hi = a->nplist;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (a->ts[a->plist[mid]].first <= item)
			lo = mid;
		else
			hi = mid;
	}
	return a->plist[lo];
}

/* Pass 1: krum's pairwise distances (and distances to the base), or the
 * norms of the updates for clipping. */
static int work_pass1(agg *a, tctx *t, slot *sl, const atensor *T, uint64_t u)
{
	size_t n = a->n, nel = sl->len / T->width, *rep = t->rep, rb;
	size_t boff = a->o->method == MVC_AGGREGATE_KRUM ? n * n : 0;
	int krum = a->o->method == MVC_AGGREGATE_KRUM, error;
	unsigned char *need = t->need;

	group(T, u, a->nsides, rep);
	rb = a->has_base ? rep[a->n] : SIZE_MAX;
	/* which chunks to read: an input equal to the base has no update */
	memset(need, 0, a->nsides);
	for (size_t s = 0; s < n; s++)
		if (rep[s] == s && rep[s] != rb) {
			need[s] = 1;
			if (a->has_base)
				need[rb] = 1;
		} else if (rep[s] == s && krum) {
			need[s] = 1;
		}
	for (size_t s = 0; s < a->nsides; s++)
		if (need[s] && (error = load(a, t, T, s, sl->off, sl->len, t->in[s], &sl->decoded)) < 0)
			return error;
	for (size_t k0 = 0; k0 < nel; k0 += BLOCK) {
		size_t b = nel - k0 < BLOCK ? nel - k0 : BLOCK;

		for (size_t s = 0; s < a->nsides; s++)
			if (need[s])
				widen(t->x + s * BLOCK, T->dtype, t->in[s] + k0 * T->width, b);
		if (krum)
			for (size_t i = 0; i < n; i++)
				for (size_t j = i + 1; j < n; j++)
					if (rep[i] == i && rep[j] == j)
						sl->ssq[i * n + j] += sqdist(t->x + i * BLOCK, t->x + j * BLOCK, b);
		if (a->has_base)
			for (size_t i = 0; i < n; i++)
				if (rep[i] == i && i != rb)
					sl->ssq[boff + i] += sqdist(t->x + i * BLOCK, t->x + rb * BLOCK, b);
	}
	/* inputs equal to a representative share its sums */
	if (krum) {
		for (size_t i = 0; i < n; i++)
			for (size_t j = i + 1; j < n; j++) {
				size_t ri = rep[i], rj = rep[j];

				sl->ssq[i * n + j] = ri == rj ? 0 : sl->ssq[(ri < rj ? ri : rj) * n +
				                                             (ri < rj ? rj : ri)];
			}
		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < i; j++)
				sl->ssq[i * n + j] = sl->ssq[j * n + i];
	}
	if (a->has_base)
		for (size_t i = 0; i < n; i++)
			if (rep[i] != i)
				sl->ssq[boff + i] = sl->ssq[boff + rep[i]];
	return 0;
}

/* Combine block [k0, k0 + b) of a float item. */
static void combine(agg *a, tctx *t, const atensor *T, uint64_t u, size_t k0, size_t b, double *r)
{
	const mvc_aggregate_options *o = a->o;
	size_t n = a->n, *rep = t->rep;
	const double *xb = a->has_base ? t->x + rep[a->n] * BLOCK : NULL;
	int f64 = T->dtype == MVC_DTYPE_F64;

#define X(i) (t->x + rep[i] * BLOCK)
	switch (o->method) {
	case MVC_AGGREGATE_MEDIAN:
	case MVC_AGGREGATE_TRIMMED_MEAN: {
		size_t trim = o->method == MVC_AGGREGATE_TRIMMED_MEAN ? a->r->trimmed : 0;

		for (size_t k = 0; k < b; k++) {
			for (size_t i = 0; i < n; i++)
				t->vals[i] = X(i)[k];
			mvc__sort_values(t->vals, n);
			r[k] = o->method == MVC_AGGREGATE_MEDIAN ? mvc__median_sorted(t->vals, n)
			                                         : mvc__trimmed_mean_sorted(t->vals, n, trim);
		}
		return;
	}
	case MVC_AGGREGATE_TASK_ARITHMETIC:
		/* base + lambda * sum_i (m_i - base) */
		if (f64) {
			for (size_t k = 0; k < b; k++)
				t->lacc[k] = 0;
			for (size_t i = 0; i < n; i++)
				for (size_t k = 0; k < b; k++)
					t->lacc[k] += (long double)X(i)[k] - xb[k];
			for (size_t k = 0; k < b; k++)
				r[k] = (double)(xb[k] + (long double)o->lambda * t->lacc[k]);
		} else {
			for (size_t k = 0; k < b; k++)
				t->acc[k] = 0;
			for (size_t i = 0; i < n; i++) {
				const double *x = X(i);

				for (size_t k = 0; k < b; k++)
					t->acc[k] += x[k] - xb[k];
			}
			for (size_t k = 0; k < b; k++)
				r[k] = xb[k] + o->lambda * t->acc[k];
		}
		return;
	default:
		break;
	}
	if (a->dp) {
		/* base + sum_i (c_i / n) (m_i - base) + noise */
		if (a->noise_std > 0)
			gaussian(a, t, T, u, k0 / BLOCK, b);
		if (f64) {
			for (size_t k = 0; k < b; k++)
				t->lacc[k] = 0;
			for (size_t i = 0; i < n; i++)
				if (a->clipf[i] > 0)
					for (size_t k = 0; k < b; k++)
						t->lacc[k] += (long double)a->clipf[i] * ((long double)X(i)[k] - xb[k]);
			for (size_t k = 0; k < b; k++)
				r[k] = (double)(xb[k] + t->lacc[k] +
				    (a->noise_std > 0 ? (long double)a->noise_std * t->noise[k] : 0));
		} else {
			for (size_t k = 0; k < b; k++)
				t->acc[k] = 0;
			for (size_t i = 0; i < n; i++) {
				const double *x = X(i);
				double c = a->clipf[i];

				if (c > 0)
					for (size_t k = 0; k < b; k++)
						t->acc[k] += c * (x[k] - xb[k]);
			}
			for (size_t k = 0; k < b; k++)
				r[k] = xb[k] + t->acc[k] + (a->noise_std > 0 ? a->noise_std * t->noise[k] : 0);
		}
		return;
	}
	/* fedavg, mean, interpolate: sum_i w_i m_i, in input order */
	if (f64) {
		for (size_t k = 0; k < b; k++)
			t->lacc[k] = 0;
		for (size_t i = 0; i < n; i++)
			for (size_t k = 0; k < b; k++)
				t->lacc[k] += (long double)a->w[i] * X(i)[k];
		for (size_t k = 0; k < b; k++)
			r[k] = (double)t->lacc[k];
	} else {
		for (size_t k = 0; k < b; k++)
			t->acc[k] = 0;
		for (size_t i = 0; i < n; i++) {
			const double *x = X(i);
			double w = a->w[i];

			for (size_t k = 0; k < b; k++)
				t->acc[k] += w * x[k];
		}
		memcpy(r, t->acc, b * sizeof(*r));
	}
#undef X
}

/* Pass 2, a float tensor the method combines. */
static int work_float(agg *a, tctx *t, slot *sl, const atensor *T, uint64_t u)
{
	size_t n = a->n, *rep = t->rep, nel = sl->len / T->width;
	int krum = a->o->method == MVC_AGGREGATE_KRUM;
	/* the norms come from pass 1 for krum and DP; else from here */
	int norms = !krum && !a->dp;
	int all_equal = 1, base_equal = 0, error;
	const double *xb;

	group(T, u, a->nsides, rep);
	for (size_t s = 1; s < n; s++)
		all_equal &= T->aligned && rep[s] == 0;
	base_equal = a->has_base && T->aligned && rep[a->n] == 0;
	if (krum) {
		/* the selected input's chunk, as it is */
		sl->work = all_equal ? W_REUSED : W_COMPUTED;
		if (!a->dry && (error = load(a, t, T, a->primary, sl->off, sl->len, sl->out,
		                     &sl->decoded)) < 0)
			return error;
		return 0;
	}
	if (all_equal && a->noise_std == 0 && (!a->uses_base || base_equal)) {
		/* equal in every input: that is the result; nothing to compute */
		sl->work = W_REUSED;
		if (!a->dry && (error = load(a, t, T, 0, sl->off, sl->len, sl->out, &sl->decoded)) < 0)
			return error;
		if (!a->has_base || base_equal || !norms)
			return 0;
		/* the updates against a base (for the report only) */
		if (a->dry && (error = load(a, t, T, 0, sl->off, sl->len, t->in[0], &sl->decoded)) < 0)
			return error;
		if ((error = load(a, t, T, a->n, sl->off, sl->len, t->in[a->n], &sl->decoded)) < 0)
			return error;
		for (size_t k0 = 0; k0 < nel; k0 += BLOCK) {
			size_t b = nel - k0 < BLOCK ? nel - k0 : BLOCK;
			double d;

			widen(t->x, T->dtype, (a->dry ? t->in[0] : sl->out) + k0 * T->width, b);
			widen(t->x + a->n * BLOCK, T->dtype, t->in[a->n] + k0 * T->width, b);
			d = sqdist(t->x, t->x + a->n * BLOCK, b);
			for (size_t i = 0; i < n; i++)
				sl->ssq[i] += d;
			sl->rssq += d;
		}
		return 0;
	}
	sl->work = W_COMPUTED;
	for (size_t s = 0; s < a->nsides; s++)
		if (rep[s] == s && (error = load(a, t, T, s, sl->off, sl->len, t->in[s], &sl->decoded)) < 0)
			return error;
	for (size_t k0 = 0; k0 < nel; k0 += BLOCK) {
		size_t b = nel - k0 < BLOCK ? nel - k0 : BLOCK;
		unsigned char *dst = a->dry ? t->dry : sl->out + k0 * T->width;
		double rs[BLOCK];

		for (size_t s = 0; s < a->nsides; s++)
			if (rep[s] == s)
				widen(t->x + s * BLOCK, T->dtype, t->in[s] + k0 * T->width, b);
		combine(a, t, T, u, k0, b, rs);
		/* in a dry run the bytes go to scratch space: only the norms count */
		narrow(dst, T->dtype, rs, b, t->res);
		xb = a->has_base ? t->x + rep[a->n] * BLOCK : NULL;
		if (xb)
			sl->rssq += sqdist(t->res, xb, b);
		if (!norms)
			continue;
		for (size_t i = 0; i < n; i++) {
			if (rep[i] != i)
				continue;
			t->part[i] = sqdist(t->x + i * BLOCK, xb ? xb : t->res, b);
		}
		for (size_t i = 0; i < n; i++)
			sl->ssq[i] += t->part[rep[i]];
	}
	return 0;
}

/* Largest of each element (integer dtypes; BOOL: or). */
static void int_max(unsigned char *dst, const unsigned char *src, size_t len, mvc_dtype dt)
{
	size_t w = mvc_dtype_bits(dt) / 8;

	for (size_t k = 0; k + w <= len; k += w) {
		const unsigned char *x = src + k;
		unsigned char *y = dst + k;
		int more;

		switch (dt) {
		case MVC_DTYPE_I8: { int8_t p, c; memcpy(&p, y, 1); memcpy(&c, x, 1); more = c > p; break; }
		case MVC_DTYPE_I16: { int16_t p, c; memcpy(&p, y, 2); memcpy(&c, x, 2); more = c > p; break; }
		case MVC_DTYPE_U16: { uint16_t p, c; memcpy(&p, y, 2); memcpy(&c, x, 2); more = c > p; break; }
		case MVC_DTYPE_I32: { int32_t p, c; memcpy(&p, y, 4); memcpy(&c, x, 4); more = c > p; break; }
		case MVC_DTYPE_U32: { uint32_t p, c; memcpy(&p, y, 4); memcpy(&c, x, 4); more = c > p; break; }
		case MVC_DTYPE_I64: { int64_t p, c; memcpy(&p, y, 8); memcpy(&c, x, 8); more = c > p; break; }
		case MVC_DTYPE_U64: { uint64_t p, c; memcpy(&p, y, 8); memcpy(&c, x, 8); more = c > p; break; }
		default: more = *x > *y; break;   /* BOOL, U8 */
		}
		if (more)
			memcpy(y, x, w);
	}
}

/* --int-policy error, for tensors whose chunk plans differ (others were
 * refused before any work). */
static int refuse_differing(const agg *a, const atensor *T, const slot *sl)
{
	char tq[MVC_QUOTE_MAX], pq[MVC_QUOTE_MAX];

	if (!sl->differed || T->excluded || a->o->int_policy != MVC_INT_POLICY_ERROR)
		return 0;
	return mvc__err(MVC_EINVALID,
	    "the inputs differ in tensor '%s' of '%s' (%s, never averaged; --int-policy error)",
	    agg_quote(tq, T->mt[0]->t.name), agg_quote(pq, a->files[T->file].path),
	    mvc_dtype_name(T->dtype));
}

/* Pass 2, a tensor taken as it is: excluded, integer, other dtypes. */
static int work_copy(agg *a, tctx *t, slot *sl, const atensor *T, uint64_t u)
{
	size_t n = a->n, *rep = t->rep, src = a->primary;
	int error, need_all = !T->aligned;
	int max = T->kind == K_INT && !T->excluded && a->o->int_policy == MVC_INT_POLICY_MAX;

	sl->work = W_COPIED;
	group(T, u, n, rep);
	if (T->aligned)
		for (size_t s = 1; s < n; s++)
			sl->differed |= rep[s] != 0;
	if (need_all || (max && sl->differed)) {
		/* compare (or combine) the values themselves */
		for (size_t s = 0; s < n; s++)
			if (rep[s] == s &&
			    (error = load(a, t, T, s, sl->off, sl->len, t->in[s], &sl->decoded)) < 0)
				return error;
		for (size_t s = 1; s < n && need_all; s++)
			sl->differed |= memcmp(t->in[s], t->in[0], sl->len) != 0;
		if ((error = refuse_differing(a, T, sl)) < 0)
			return error;
		if (a->dry)
			return 0;
		memcpy(sl->out, t->in[max ? 0 : rep[src]], sl->len);
		if (max)
			for (size_t s = 1; s < n; s++)
				if (rep[s] == s)
					int_max(sl->out, t->in[s], sl->len, T->dtype);
		return 0;
	}
	if ((error = refuse_differing(a, T, sl)) < 0)
		return error;
	if (a->dry)
		return 0;
	return load(a, t, T, src, sl->off, sl->len, sl->out, &sl->decoded);
}

static int agg_work(void *p, size_t item, unsigned thread)
{
	agg *a = p;
	size_t ti = find_tensor(a, item);
	const atensor *T = &a->ts[ti];
	tctx *t = &a->threads[thread];
	slot *sl = &a->slots[item % a->window];
	uint64_t u = item - T->first;

	sl->tensor = ti;
	sl->off = u * T->unit;
	sl->len = (size_t)(T->mt[0]->t.size - sl->off < T->unit ? T->mt[0]->t.size - sl->off
	                                                        : T->unit);
	sl->rssq = 0;
	sl->differed = 0;
	sl->work = 0;
	sl->decoded = 0;
	for (size_t k = 0; k < a->nacc; k++)
		sl->ssq[k] = 0;
	if (a->pass == 1)
		return work_pass1(a, t, sl, T, u);
	if (T->kind == K_FLOAT && !T->excluded)
		return work_float(a, t, sl, T, u);
	return work_copy(a, t, sl, T, u);
}

/* Non-tensor bytes of the first input up to file position `to`. */
int mvc__combine_gap(afile *f, uint64_t to)
{
	const unsigned char *h = git_blob_rawcontent(f->header);
	uint64_t gap = to - f->pos;
	int error;

	if (to == f->pos)
		return 0;
	if (to < f->pos || f->hpos + gap > (uint64_t)git_blob_rawsize(f->header))
		return mvc__err(MVC_ECORRUPT, "'%s': the stored header is shorter than its gaps",
		    f->path);
	if ((error = mvc_write_all(f->fd, h + f->hpos, (size_t)gap, f->path)) < 0)
		return error;
	f->hpos += gap;
	f->pos = to;
	return 0;
}

static int agg_done(void *p, size_t item)
{
	agg *a = p;
	slot *sl = &a->slots[item % a->window];
	atensor *T = &a->ts[sl->tensor];
	mvc_aggregate_summary *sum = &a->r->summary;
	int error;

	for (size_t k = 0; k < a->nacc; k++)
		a->tot[k] += sl->ssq[k];
	a->rtot += sl->rssq;
	sum->chunks_decoded += sl->decoded;
	if (a->pass == 1)
		return 0;
	T->differed |= sl->differed;
	sum->chunks++;
	sum->chunks_reused += sl->work == W_REUSED;
	sum->chunks_computed += sl->work == W_COMPUTED;
	sum->chunks_copied += sl->work == W_COPIED;
	if (a->dry)
		return 0;
	{
		afile *f = &a->files[T->file];

		if ((error = mvc__combine_gap(f, T->mt[0]->t.offset + sl->off)) < 0)
			return error;
		if ((error = mvc_write_all(f->fd, sl->out, sl->len, f->path)) < 0)
			return error;
		f->pos += sl->len;
	}
	return 0;
}

/* ---- passes ---- */

static void free_threads(agg *a)
{
	for (unsigned i = 0; a->threads && i < a->nthreads; i++) {
		tctx *t = &a->threads[i];

		mvc_codec_free(t->codec);
		for (size_t s = 0; t->in && s < a->nsides; s++)
			free(t->in[s]);
		free(t->in);
		free(t->scratch);
		free(t->x);
		free(t->res);
		free(t->acc);
		free(t->lacc);
		free(t->vals);
		free(t->noise);
		free(t->noisebytes);
		free(t->dry);
		free(t->rep);
		free(t->part);
		free(t->need);
	}
	free(a->threads);
	a->threads = NULL;
	for (size_t i = 0; a->slots && i < a->window; i++) {
		free(a->slots[i].out);
		free(a->slots[i].ssq);
	}
	free(a->slots);
	a->slots = NULL;
}

static int alloc_threads(agg *a, size_t nitems)
{
	unsigned nt = a->o->threads ? a->o->threads : mvc__pool_threads();
	size_t unit = (size_t)a->maxunit, scratch = (size_t)(a->maxchunk > a->maxunit ? a->maxchunk
	                                                                               : a->maxunit);

	if (nt > nitems)
		nt = nitems ? (unsigned)nitems : 1;
	a->nthreads = nt;
	a->window = 2 * (size_t)nt + 2;
	if (!(a->threads = mvc__calloc(nt, sizeof(*a->threads))) ||
	    !(a->slots = mvc__calloc(a->window, sizeof(*a->slots))))
		return MVC_ENOMEM;
	for (unsigned i = 0; i < nt; i++) {
		tctx *t = &a->threads[i];
		int error;

		if ((error = mvc_codec_new(&t->codec)) < 0)
			return error;
		if (!(t->in = mvc__calloc(a->nsides, sizeof(*t->in))) ||
		    !(t->scratch = mvc__malloc(scratch ? scratch : 1)) ||
		    !(t->x = mvc__calloc(a->nsides * BLOCK, sizeof(double))) ||
		    !(t->res = mvc__calloc(BLOCK, sizeof(double))) ||
		    !(t->acc = mvc__calloc(BLOCK, sizeof(double))) ||
		    !(t->lacc = mvc__calloc(BLOCK, sizeof(long double))) ||
		    !(t->vals = mvc__calloc(a->nsides, sizeof(double))) ||
		    !(t->noise = mvc__calloc(BLOCK + 1, sizeof(double))) ||
		    !(t->noisebytes = mvc__malloc(16 * (BLOCK / 2 + 1))) ||
		    !(t->dry = mvc__malloc(8 * BLOCK)) ||
		    !(t->rep = mvc__calloc(a->nsides, sizeof(size_t))) ||
		    !(t->part = mvc__calloc(a->nsides, sizeof(long double))) ||
		    !(t->need = mvc__calloc(a->nsides, 1)))
			return MVC_ENOMEM;
		for (size_t s = 0; s < a->nsides; s++)
			if (!(t->in[s] = mvc__malloc(unit ? unit : 1)))
				return MVC_ENOMEM;
	}
	for (size_t i = 0; i < a->window; i++) {
		if (!(a->slots[i].ssq = mvc__calloc(a->nacc + 1, sizeof(long double))))
			return MVC_ENOMEM;
		if (a->pass == 2 && !a->dry && !(a->slots[i].out = mvc__malloc(unit ? unit : 1)))
			return MVC_ENOMEM;
	}
	return 0;
}

int mvc__combine_pass(agg *a, int pass)
{
	size_t nitems = 0;
	int error;

	a->pass = pass;
	a->nplist = 0;
	for (size_t k = 0; k < a->nts; k++) {
		atensor *T = &a->ts[k];

		if (pass == 1 && (T->kind != K_FLOAT || T->excluded))
			continue;
		if (!T->nunits)
			continue;
		T->first = nitems;
		nitems += (size_t)T->nunits;
		a->plist[a->nplist++] = k;
	}
	a->nacc = pass == 1 && a->o->method == MVC_AGGREGATE_KRUM ? a->n * a->n + a->n : a->n;
	free(a->tot);
	if (!(a->tot = mvc__calloc(a->nacc + 1, sizeof(*a->tot))))
		return MVC_ENOMEM;
	a->rtot = 0;
	if ((error = alloc_threads(a, nitems)) < 0)
		goto done;
	error = mvc__pool_run(nitems, a->nthreads, a->window, agg_work, agg_done, a);
done:
	free_threads(a);
	return error;
}
