/* Order statistics for aggregate: medians, trimmed means, Krum, z-scores. */
#include <math.h>
#include <stdlib.h>
#include "internal.h"
#include "robust.h"

/* a < b with NaN above everything */
static inline int before(double a, double b)
{
	if (isnan(a))
		return 0;
	return isnan(b) || a < b;
}

void mvc__sort_values(double *v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		double x = v[i];
		size_t j = i;

		while (j > 0 && before(x, v[j - 1])) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = x;
	}
}

double mvc__median_sorted(const double *v, size_t n)
{
	if (n % 2)
		return v[n / 2];
	double a = v[n / 2 - 1], b = v[n / 2];

	/*
	 * Without overflow, in plain double arithmetic (long double is no
	 * wider under valgrind, nor on every machine): a + b cannot overflow
	 * when the signs differ or both are small; otherwise each half is
	 * exact and their sum is rounded once, as (a + b) / 2 would be.
	 */
	if ((a < 0) != (b < 0) || (fabs(a) < 1 && fabs(b) < 1))
		return (a + b) / 2;
	return a / 2 + b / 2;
}

double mvc__trimmed_mean_sorted(const double *v, size_t n, size_t k)
{
	long double s = 0;

	for (size_t i = k; i < n - k; i++)
		s += v[i];
	return (double)(s / (long double)(n - 2 * k));
}

static int cmp_ld(const void *a, const void *b)
{
	long double x = *(const long double *)a, y = *(const long double *)b;

	if (isnan(x))
		return isnan(y) ? 0 : 1;
	if (isnan(y))
		return -1;
	return x < y ? -1 : x > y;
}

size_t mvc__krum_select(const long double *d, size_t n, size_t f, double *scores)
{
	long double *row = malloc((n + 1) * sizeof(*row));
	size_t best = 0, keep = n - f - 2;

	for (size_t i = 0; i < n; i++) {
		size_t m = 0;
		long double s = 0;

		if (!row) {
			scores[i] = NAN;
			continue;
		}
		for (size_t j = 0; j < n; j++)
			if (j != i)
				row[m++] = d[i * n + j];
		qsort(row, m, sizeof(*row), cmp_ld);
		for (size_t j = 0; j < keep; j++)
			s += isnan(row[j]) ? (long double)INFINITY : row[j];
		scores[i] = (double)s;
	}
	free(row);
	/* the lowest score wins, the first on a tie; NaN never beats a number */
	for (size_t i = 1; i < n; i++)
		if (before(scores[i], scores[best]))
			best = i;
	return best;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

void mvc__modified_z(const double *x, size_t n, double *z, int *defined)
{
	double *v = malloc((n + 1) * sizeof(*v)), med, mad, meanad = 0;
	size_t m = 0;

	for (size_t i = 0; i < n; i++) {
		z[i] = 0;
		defined[i] = 0;
	}
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		if (isfinite(x[i]))
			v[m++] = x[i];
	if (m < 3) {
		free(v);
		return;
	}
	qsort(v, m, sizeof(*v), cmp_d);
	med = mvc__median_sorted(v, m);
	for (size_t i = 0; i < m; i++) {
		v[i] = fabs(v[i] - med);
		meanad += v[i];
	}
	meanad /= (double)m;
	qsort(v, m, sizeof(*v), cmp_d);
	mad = mvc__median_sorted(v, m);
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(x[i]))
			continue;
		defined[i] = 1;
		if (mad > 0)
			z[i] = 0.6745 * (x[i] - med) / mad;
		else if (meanad > 0)
			z[i] = (x[i] - med) / (1.253314 * meanad);
	}
	free(v);
}
