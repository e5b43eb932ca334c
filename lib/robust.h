#ifndef MVC_ROBUST_H
#define MVC_ROBUST_H
/*
 * The order statistics behind aggregate's robust methods and its outlier
 * flags (lib/robust.c).  NaN sorts above +infinity, so a NaN counts as
 * the most extreme value there is: a few NaN inputs are trimmed away or
 * outvoted like any other outlier instead of poisoning the result.
 */
#include <stddef.h>

/* Sort v[0..n) ascending, NaN last (n is the number of inputs: small). */
void mvc__sort_values(double *v, size_t n);

/* Of sorted values: the median (of an even count, the mean of the two
 * middle values), and the mean of v[k..n-k). */
double mvc__median_sorted(const double *v, size_t n);
double mvc__trimmed_mean_sorted(const double *v, size_t n, size_t k);

/*
 * Krum (Blanchard et al. 2017): d is the n x n matrix of squared
 * distances between inputs (row-major; NaN counts as +infinity).  The
 * score of input i sums the n - f - 2 smallest d[i][j], j != i; the input
 * with the lowest score is selected, the first one on a tie.  Needs
 * n >= 2f + 3.  scores gets every score.  Returns the selected index.
 */
size_t mvc__krum_select(const long double *d, size_t n, size_t f, double *scores);

/*
 * Modified z-scores (Iglewicz and Hoaglin 1993) of x[0..n):
 * z_i = 0.6745 (x_i - median) / MAD, MAD the median of |x_i - median|.
 * When MAD is 0 the mean absolute deviation stands in for it
 * (z_i = (x_i - median) / (1.253314 MeanAD)); when that is 0 too, every
 * value is equal and every z is 0.  Values that are not finite get no
 * score (defined[i] = 0) and are left out of the median.  Undefined for
 * all when fewer than 3 values are finite.
 */
void mvc__modified_z(const double *x, size_t n, double *z, int *defined);

#endif
