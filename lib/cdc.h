#ifndef MVC_CDC_H
#define MVC_CDC_H
/*
 * Content-defined chunking of files mvc does not parse (FastCDC: a gear
 * rolling hash with normalised chunking).  A cut falls where the hash of
 * the last 64 bytes has its top bits zero, so a change in the middle of
 * a file moves only the cuts near it and the chunks elsewhere keep their
 * bytes, and digests, from one version to the next.
 *
 * All sizes derive from the largest chunk `max` (what the manifest
 * records as the tensor's chunk_size): chunks are at least max / 16
 * bytes (but the last), about max / 4 on average, and at most max.  The
 * writer uses max = 4 x mvc.chunkSize (1 MiB: 256 KiB / 1 MiB / 4 MiB),
 * and a file keeps the max of its parent version so its cuts do not move
 * when the setting changes.  Readers never recompute cuts: they take the
 * chunk lengths from the manifest.
 */
#include "internal.h"

/* The largest chunk for a target chunk size (mvc.chunkSize). */
uint64_t mvc__cdc_max(uint64_t target);

/*
 * The length of the chunk that starts at p[0], of the `n` bytes there
 * (n is at least `max`, or all that is left of the data).
 */
uint64_t mvc__cdc_next(const unsigned char *p, uint64_t n, uint64_t max);

/*
 * Cut `len` bytes held in memory: the chunk lengths into *out (the
 * caller frees), their number into *count.
 */
int mvc__cdc_cut_mem(uint64_t **out, size_t *count, const unsigned char *data, size_t len,
                     uint64_t max);

/*
 * Cut bytes [off, off + len) of the file on `fd`: the offsets of the
 * chunks relative to `off`, count + 1 of them (the last is len), into
 * *offsets.  Memory: one buffer of `max` bytes.
 */
int mvc__cdc_cut_fd(uint64_t **offsets, uint64_t *count, int fd, uint64_t off, uint64_t len,
                    uint64_t max, const char *what);

#endif
