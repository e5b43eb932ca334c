#ifndef MVC_POOL_H
#define MVC_POOL_H
/*
 * An ordered parallel map: `work` runs on worker threads for items
 * 0..n-1 in any order; `done` runs on the calling thread for each item in
 * order, as soon as it and every item before it are worked.  At most
 * `window` items are in flight, which bounds memory by window x item.
 * Output built by `done` is therefore the same whatever the thread count.
 */
#include <stddef.h>

typedef int (*mvc_pool_work)(void *ctx, size_t item, unsigned thread);
typedef int (*mvc_pool_done)(void *ctx, size_t item);

/* The number of worker threads to use: MVC_THREADS, else the cores. */
unsigned mvc__pool_threads(void);

/*
 * Returns the first error of either callback (and stops early), else 0.
 * With nthreads <= 1 everything runs on the calling thread.
 */
int mvc__pool_run(size_t n, unsigned nthreads, size_t window, mvc_pool_work work,
                  mvc_pool_done done, void *ctx);

#endif
