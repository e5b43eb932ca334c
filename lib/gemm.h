#ifndef MVC_GEMM_H
#define MVC_GEMM_H
/*
 * The inner products behind mvc score: MR query vectors against a panel
 * of NR packed rows at a time, in registers, with the threshold tests of a
 * top-K search done on the results while they are still there.
 *
 * Every score is computed by one accumulator summing over k = 0..d-1 in
 * order, whatever the position of the row in its panel or of the query in
 * its block, so the same pair always gets the same bits within a run:
 * scores computed in different passes can be compared exactly (tie
 * breaking depends on it).  Which instruction set is used (AVX-512, AVX2
 * with FMA, or portable C) is chosen once, from the CPU; results may
 * differ in the last bits between instruction sets.
 */
#include <stddef.h>
#include <stdint.h>

#define MVC__NR 32   /* rows per panel */
#define MVC__MR 8    /* queries per kernel call */

/*
 * Rows packed in panels of NR, each panel k-major (d x NR floats, lane j
 * is row p*NR + j); lanes past the last row are zero.  With `inv`, the
 * inverse L2 norm of each row (0 for a zero row), which scales scores into
 * cosines.
 */
typedef struct mvc__panels {
	float *v;
	float *inv;
	size_t n, d, npanels;
} mvc__panels;

int mvc__panels_init(mvc__panels *p, size_t n, size_t d, int with_inv);
/* Set row r (and its inverse norm); rows may be set from several threads. */
void mvc__panels_set(mvc__panels *p, size_t r, const float *row);
void mvc__panels_get(const mvc__panels *p, size_t r, float *row);
void mvc__panels_free(mvc__panels *p);

/* MR queries, k-major: q[k * MR + i] is element k of query i. */
void mvc__pack_queries(float *out, const float *const *rows, size_t d);

/*
 * out[i * NR + j] = (query i . row j) * inv[j] (no scaling when inv is
 * NULL), for the first `nvalid` lanes of the panel.  With `thr`, also: for
 * each query i, cnt[i] += the number of lanes with a score above sb[i],
 * and bit i of the result is set when a lane's score is above thr[i] or
 * equal to sb[i] (the caller looks at those rows).  Without `thr` the
 * result is 0.
 */
unsigned mvc__kernel(const float *q, const float *panel, const float *inv, size_t d,
                     unsigned nvalid, float *out, const float *thr, const float *sb,
                     uint32_t *cnt);

/* The instruction set in use: "avx512", "avx2" or "generic". */
const char *mvc__kernel_isa(void);
/* Use `isa` (one of the above) from now on, if the CPU has it: for tests.
 * 0, or -1 when it cannot. */
int mvc__kernel_force(const char *isa);

#endif
