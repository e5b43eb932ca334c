/*
 * score_bench: users per second of mvc's retrieval scoring (the product,
 * the top-K selection and every metric) against the same product done by
 * cblas_sgemm from an optimised BLAS, in the same process on the same
 * data.  Built and run by bench/score.sh.
 *
 *   score_bench [ITEMS [DIM [USERS [ROUNDS]]]]   (default 1000000 64 2048 3)
 *
 * The BLAS side multiplies blocks of USERS_BLOCK users by tiles of
 * ITEM_TILE items (the users x items matrix never exists whole there
 * either) and does nothing with the result but touch it, so it is a floor
 * for any scorer built on sgemm.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cblas.h>
#include "eval.h"
#include "pool.h"

#define USERS_BLOCK 256
#define ITEM_TILE 2048

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t rng = 88172645463325252ull;

static float unif(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (float)((double)(rng >> 11) / 9007199254740992.0 - 0.5);
}

int main(int argc, char **argv)
{
	size_t ni = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
	size_t d = argc > 2 ? strtoul(argv[2], NULL, 10) : 64;
	size_t nu = argc > 3 ? strtoul(argv[3], NULL, 10) : 2048;
	int rounds = argc > 4 ? atoi(argv[4]) : 3;
	unsigned ks[] = { 10, 50 };
	float *V = malloc(ni * d * sizeof(float)), *U = malloc(nu * d * sizeof(float));
	float *C = malloc((size_t)USERS_BLOCK * ITEM_TILE * sizeof(float));
	uint64_t *titems = malloc(nu * 10 * sizeof(uint64_t));
	const uint64_t **tl = malloc(nu * sizeof(*tl));
	size_t *tn = malloc(nu * sizeof(size_t));
	double *per = malloc(nu * MVC__RETR_NMETRICS(2) * sizeof(double)), t0, t_mvc = 0, t_blas = 0, sink = 0, recall = 0;
	mvc__panels P;
	mvc__retr r;
	int rc;

	if (!V || !U || !C || !titems || !tl || !tn || !per) {
		fprintf(stderr, "score_bench: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < ni * d; i++)
		V[i] = unif();
	for (size_t i = 0; i < nu * d; i++)
		U[i] = unif();
	/* ten held-out items per user, ascending and distinct */
	for (size_t u = 0; u < nu; u++) {
		uint64_t *t = titems + u * 10;

		for (size_t k = 0; k < 10; k++)
			t[k] = (ni / 10) * k + (rng = rng * 6364136223846793005ull + 1, rng >> 33) % (ni / 10);
		tl[u] = t;
		tn[u] = 10;
	}
	if (mvc__panels_init(&P, ni, d, 1) < 0) {
		fprintf(stderr, "score_bench: %s\n", mvc_error_last());
		return 1;
	}
	for (size_t i = 0; i < ni; i++)
		mvc__panels_set(&P, i, V + i * d);
	memset(&r, 0, sizeof(r));
	r.items = &P;
	r.nusers = nu;
	r.d = d;
	r.u = U;
	r.test = tl;
	r.ntest = tn;
	r.k = ks;
	r.nk = 2;
	r.nthreads = mvc__pool_threads();

	printf("items %zu x %zu dims, %zu users, %u threads, kernel %s\n", ni, d, nu, r.nthreads,
	    mvc__kernel_isa());
	/* Rounds alternate the two, and the best of each counts: the machine
	 * may be shared, and both sides then meet the same conditions. */
	for (int round = 0; round < rounds; round++) {
		double t, tb;

		t0 = now();
		rc = mvc__retrieval_run(per, &r);
		t = now() - t0;
		if (rc < 0) {
			fprintf(stderr, "score_bench: %s\n", mvc_error_last());
			return 1;
		}
		/* BLAS: the same product, tile by tile */
		t0 = now();
		for (size_t u0 = 0; u0 < nu; u0 += USERS_BLOCK) {
			size_t m = nu - u0 < USERS_BLOCK ? nu - u0 : USERS_BLOCK;

			for (size_t j0 = 0; j0 < ni; j0 += ITEM_TILE) {
				size_t n = ni - j0 < ITEM_TILE ? ni - j0 : ITEM_TILE;

				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)n, (int)d,
				    1.0f, U + u0 * d, (int)d, V + j0 * d, (int)d, 0.0f, C, (int)n);
				sink += C[(m - 1) * n + n - 1];
			}
		}
		tb = now() - t0;
		printf("round %d: mvc %.3f s, sgemm %.3f s\n", round + 1, t, tb);
		if (round == 0 || t < t_mvc)
			t_mvc = t;
		if (round == 0 || tb < t_blas)
			t_blas = tb;
	}
	for (size_t u = 0; u < nu; u++)
		recall += per[u * MVC__RETR_NMETRICS(2) + 1];
	printf("mvc retrieval scoring   %10.0f users/s  (best %.3f s; product, top-50, 7 metrics)\n",
	    nu / t_mvc, t_mvc);
	printf("OpenBLAS sgemm product  %10.0f users/s  (best %.3f s; product only)\n", nu / t_blas,
	    t_blas);
	printf("mvc time / sgemm time   %10.2f\n", t_mvc / t_blas);
	printf("GFLOP/s: mvc %.1f, sgemm %.1f   (checksum %g, mean recall@50 %g)\n",
	    2.0 * nu * ni * d / t_mvc / 1e9, 2.0 * nu * ni * d / t_blas / 1e9, sink, recall / nu);
	mvc__panels_free(&P);
	free(V);
	free(U);
	free(C);
	free(titems);
	free(tl);
	free(tn);
	free(per);
	return 0;
}
