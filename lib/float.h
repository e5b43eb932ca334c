#ifndef MVC_FLOAT_H
#define MVC_FLOAT_H
/*
 * Conversions between the float dtypes of model files and double, shared
 * by diff and aggregate.  Widening is exact; narrowing rounds to nearest,
 * ties to even, straight from double (never through float, which would
 * round twice), with subnormals, overflow to infinity and NaN handled as
 * IEEE 754 says.
 */
#include <stdint.h>

/* A table of all 65536 half values as float (filled once, thread-safe). */
const float *mvc__f16_table(void);

/* double to IEEE half precision and to bfloat16: round to nearest even.
 * A NaN stays a quiet NaN of the same sign. */
uint16_t mvc__f16_from_double(double x);
uint16_t mvc__bf16_from_double(double x);

#endif
