/*
 * Packed panels and the score kernels (see gemm.h).  The x86 kernels are
 * compiled for their instruction set with target attributes and picked at
 * run time, so one build runs everywhere and uses what the CPU has.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "gemm.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define MVC_X86 1
#endif

#define NR MVC__NR
#define MR MVC__MR

int mvc__panels_init(mvc__panels *p, size_t n, size_t d, int with_inv)
{
	uint64_t floats, bytes;

	memset(p, 0, sizeof(*p));
	p->n = n;
	p->d = d;
	p->npanels = (n + NR - 1) / NR;
	if (!mvc_mul_u64(&floats, (uint64_t)p->npanels * NR, d) ||
	    !mvc_mul_u64(&bytes, floats, sizeof(float)) || bytes > SIZE_MAX - 64)
		return mvc__err(MVC_ENOMEM, "a table of %zu rows of %zu is too large", n, d);
	/* aligned for the vector loads; whole cache lines */
	if (!(p->v = aligned_alloc(64, ((size_t)bytes + 63) / 64 * 64 + 64)))
		return mvc__err(MVC_ENOMEM, "out of memory for a table of %zu rows of %zu", n, d);
	memset(p->v, 0, (size_t)bytes);
	if (with_inv && !(p->inv = mvc__calloc(p->npanels * NR + 1, sizeof(float)))) {
		mvc__panels_free(p);
		return MVC_ENOMEM;
	}
	return 0;
}

void mvc__panels_set(mvc__panels *p, size_t r, const float *row)
{
	float *dst = p->v + (r / NR) * p->d * NR + r % NR;
	double ss = 0;

	for (size_t k = 0; k < p->d; k++) {
		dst[k * NR] = row[k];
		ss += (double)row[k] * row[k];
	}
	if (p->inv)
		p->inv[r] = ss > 0 ? (float)(1 / sqrt(ss)) : 0;
}

void mvc__panels_get(const mvc__panels *p, size_t r, float *row)
{
	const float *src = p->v + (r / NR) * p->d * NR + r % NR;

	for (size_t k = 0; k < p->d; k++)
		row[k] = src[k * NR];
}

void mvc__panels_free(mvc__panels *p)
{
	if (!p)
		return;
	free(p->v);
	free(p->inv);
	memset(p, 0, sizeof(*p));
}

void mvc__pack_queries(float *out, const float *const *rows, size_t d)
{
	for (size_t k = 0; k < d; k++)
		for (size_t i = 0; i < MR; i++)
			out[k * MR + i] = rows[i] ? rows[i][k] : 0;
}

/* ---- portable C ---- */

static unsigned k_generic(const float *q, const float *panel, const float *inv, size_t d,
                          unsigned nvalid, float *out, const float *thr, const float *sb,
                          uint32_t *cnt)
{
	float acc[MR][NR];
	unsigned mask = 0;

	memset(acc, 0, sizeof(acc));
	for (size_t k = 0; k < d; k++) {
		const float *b = panel + k * NR;

		for (unsigned i = 0; i < MR; i++) {
			float a = q[k * MR + i];

			for (unsigned j = 0; j < NR; j++)
				acc[i][j] += a * b[j];
		}
	}
	for (unsigned i = 0; i < MR; i++) {
		for (unsigned j = 0; j < NR; j++) {
			float s = acc[i][j];

			if (inv)
				s = s * inv[j];
			out[i * NR + j] = s;
			if (!thr || j >= nvalid)
				continue;
			cnt[i] += s > sb[i];
			if (s > thr[i] || s == sb[i])
				mask |= 1u << i;
		}
	}
	return mask;
}

#ifdef MVC_X86

/* ---- AVX-512: all 8 queries x 32 lanes in 16 registers ---- */

__attribute__((target("avx512f")))
static unsigned k_avx512(const float *q, const float *panel, const float *inv, size_t d,
                         unsigned nvalid, float *out, const float *thr, const float *sb,
                         uint32_t *cnt)
{
	__m512 a0 = _mm512_setzero_ps(), b0 = a0, c0 = a0, d0 = a0, e0 = a0, f0 = a0, g0 = a0,
	       h0 = a0, a1 = a0, b1 = a0, c1 = a0, d1 = a0, e1 = a0, f1 = a0, g1 = a0, h1 = a0;
	__mmask16 v0, v1;
	unsigned mask = 0;

	for (size_t k = 0; k < d; k++) {
		const float *u = q + k * MR;
		__m512 x0 = _mm512_load_ps(panel + k * NR), x1 = _mm512_load_ps(panel + k * NR + 16), y;

#define STEP(i, A, B) y = _mm512_set1_ps(u[i]); A = _mm512_fmadd_ps(y, x0, A); \
		B = _mm512_fmadd_ps(y, x1, B)
		STEP(0, a0, a1); STEP(1, b0, b1); STEP(2, c0, c1); STEP(3, d0, d1);
		STEP(4, e0, e1); STEP(5, f0, f1); STEP(6, g0, g1); STEP(7, h0, h1);
#undef STEP
	}
	if (inv) {
		__m512 s0 = _mm512_loadu_ps(inv), s1 = _mm512_loadu_ps(inv + 16);

		a0 = _mm512_mul_ps(a0, s0); a1 = _mm512_mul_ps(a1, s1);
		b0 = _mm512_mul_ps(b0, s0); b1 = _mm512_mul_ps(b1, s1);
		c0 = _mm512_mul_ps(c0, s0); c1 = _mm512_mul_ps(c1, s1);
		d0 = _mm512_mul_ps(d0, s0); d1 = _mm512_mul_ps(d1, s1);
		e0 = _mm512_mul_ps(e0, s0); e1 = _mm512_mul_ps(e1, s1);
		f0 = _mm512_mul_ps(f0, s0); f1 = _mm512_mul_ps(f1, s1);
		g0 = _mm512_mul_ps(g0, s0); g1 = _mm512_mul_ps(g1, s1);
		h0 = _mm512_mul_ps(h0, s0); h1 = _mm512_mul_ps(h1, s1);
	}
	v0 = (__mmask16)(nvalid >= 16 ? 0xffff : (1u << nvalid) - 1);
	v1 = (__mmask16)(nvalid >= 32 ? 0xffff : nvalid > 16 ? (1u << (nvalid - 16)) - 1 : 0);
#define ROW(i, A, B) do {                                                              \
		_mm512_storeu_ps(out + (i) * NR, A);                                   \
		_mm512_storeu_ps(out + (i) * NR + 16, B);                              \
		if (thr) {                                                             \
			__m512 t = _mm512_set1_ps(thr[i]), s = _mm512_set1_ps(sb[i]);  \
			__mmask16 g0_ = _mm512_mask_cmp_ps_mask(v0, A, s, _CMP_GT_OQ); \
			__mmask16 g1_ = _mm512_mask_cmp_ps_mask(v1, B, s, _CMP_GT_OQ); \
			cnt[i] += (uint32_t)__builtin_popcount(g0_) +                  \
			    (uint32_t)__builtin_popcount(g1_);                         \
			if (_mm512_mask_cmp_ps_mask(v0, A, t, _CMP_GT_OQ) |            \
			    _mm512_mask_cmp_ps_mask(v1, B, t, _CMP_GT_OQ) |            \
			    _mm512_mask_cmp_ps_mask(v0, A, s, _CMP_EQ_OQ) |            \
			    _mm512_mask_cmp_ps_mask(v1, B, s, _CMP_EQ_OQ))             \
				mask |= 1u << (i);                                     \
		}                                                                      \
	} while (0)
	ROW(0, a0, a1); ROW(1, b0, b1); ROW(2, c0, c1); ROW(3, d0, d1);
	ROW(4, e0, e1); ROW(5, f0, f1); ROW(6, g0, g1); ROW(7, h0, h1);
#undef ROW
	return mask;
}

/* ---- AVX2 + FMA: 4 queries x 16 lanes at a time, four times ---- */

__attribute__((target("avx2,fma")))
static unsigned k_avx2(const float *q, const float *panel, const float *inv, size_t d,
                       unsigned nvalid, float *out, const float *thr, const float *sb,
                       uint32_t *cnt)
{
	unsigned mask = 0;

	for (unsigned ih = 0; ih < MR; ih += 4)
		for (unsigned jh = 0; jh < NR; jh += 16) {
			__m256 a0 = _mm256_setzero_ps(), a1 = a0, b0 = a0, b1 = a0, c0 = a0, c1 = a0,
			       d0 = a0, d1 = a0;

			for (size_t k = 0; k < d; k++) {
				const float *u = q + k * MR + ih;
				__m256 x0 = _mm256_load_ps(panel + k * NR + jh);
				__m256 x1 = _mm256_load_ps(panel + k * NR + jh + 8), y;

				y = _mm256_broadcast_ss(u + 0);
				a0 = _mm256_fmadd_ps(y, x0, a0); a1 = _mm256_fmadd_ps(y, x1, a1);
				y = _mm256_broadcast_ss(u + 1);
				b0 = _mm256_fmadd_ps(y, x0, b0); b1 = _mm256_fmadd_ps(y, x1, b1);
				y = _mm256_broadcast_ss(u + 2);
				c0 = _mm256_fmadd_ps(y, x0, c0); c1 = _mm256_fmadd_ps(y, x1, c1);
				y = _mm256_broadcast_ss(u + 3);
				d0 = _mm256_fmadd_ps(y, x0, d0); d1 = _mm256_fmadd_ps(y, x1, d1);
			}
			if (inv) {
				__m256 s0 = _mm256_loadu_ps(inv + jh), s1 = _mm256_loadu_ps(inv + jh + 8);

				a0 = _mm256_mul_ps(a0, s0); a1 = _mm256_mul_ps(a1, s1);
				b0 = _mm256_mul_ps(b0, s0); b1 = _mm256_mul_ps(b1, s1);
				c0 = _mm256_mul_ps(c0, s0); c1 = _mm256_mul_ps(c1, s1);
				d0 = _mm256_mul_ps(d0, s0); d1 = _mm256_mul_ps(d1, s1);
			}
			_mm256_storeu_ps(out + (ih + 0) * NR + jh, a0);
			_mm256_storeu_ps(out + (ih + 0) * NR + jh + 8, a1);
			_mm256_storeu_ps(out + (ih + 1) * NR + jh, b0);
			_mm256_storeu_ps(out + (ih + 1) * NR + jh + 8, b1);
			_mm256_storeu_ps(out + (ih + 2) * NR + jh, c0);
			_mm256_storeu_ps(out + (ih + 2) * NR + jh + 8, c1);
			_mm256_storeu_ps(out + (ih + 3) * NR + jh, d0);
			_mm256_storeu_ps(out + (ih + 3) * NR + jh + 8, d1);
		}
	if (!thr)
		return 0;
	/* the tests on the stored tile: a small fraction of the work */
	for (unsigned i = 0; i < MR; i++) {
		const float *s = out + i * NR;
		__m256 t = _mm256_set1_ps(thr[i]), b = _mm256_set1_ps(sb[i]);

		for (unsigned j = 0; j < NR; j += 8) {
			__m256 x = _mm256_loadu_ps(s + j);
			unsigned valid = nvalid >= j + 8 ? 0xffu : nvalid > j ? (1u << (nvalid - j)) - 1 : 0;
			unsigned gt = (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(x, b, _CMP_GT_OQ)) & valid;
			unsigned hit = (unsigned)_mm256_movemask_ps(_mm256_or_ps(
			    _mm256_cmp_ps(x, t, _CMP_GT_OQ), _mm256_cmp_ps(x, b, _CMP_EQ_OQ))) & valid;

			cnt[i] += (uint32_t)__builtin_popcount(gt);
			if (hit)
				mask |= 1u << i;
		}
	}
	return mask;
}

#endif

/* ---- dispatch ---- */

typedef unsigned (*kernel_fn)(const float *, const float *, const float *, size_t, unsigned,
                              float *, const float *, const float *, uint32_t *);

static kernel_fn kernel;
static const char *kernel_name;
static pthread_once_t kernel_once = PTHREAD_ONCE_INIT;

static void kernel_pick(void)
{
	kernel = k_generic;
	kernel_name = "generic";
#ifdef MVC_X86
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f")) {
		kernel = k_avx512;
		kernel_name = "avx512";
	} else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
		kernel = k_avx2;
		kernel_name = "avx2";
	}
#endif
}

unsigned mvc__kernel(const float *q, const float *panel, const float *inv, size_t d,
                     unsigned nvalid, float *out, const float *thr, const float *sb,
                     uint32_t *cnt)
{
	pthread_once(&kernel_once, kernel_pick);
	return kernel(q, panel, inv, d, nvalid, out, thr, sb, cnt);
}

const char *mvc__kernel_isa(void)
{
	pthread_once(&kernel_once, kernel_pick);
	return kernel_name;
}

int mvc__kernel_force(const char *isa)
{
	pthread_once(&kernel_once, kernel_pick);
	if (!strcmp(isa, "generic")) {
		kernel = k_generic;
		kernel_name = "generic";
		return 0;
	}
#ifdef MVC_X86
	if (!strcmp(isa, "avx512") && __builtin_cpu_supports("avx512f")) {
		kernel = k_avx512;
		kernel_name = "avx512";
		return 0;
	}
	if (!strcmp(isa, "avx2") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
		kernel = k_avx2;
		kernel_name = "avx2";
		return 0;
	}
#endif
	return -1;
}
