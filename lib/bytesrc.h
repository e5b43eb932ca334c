#ifndef MVC_BYTESRC_H
#define MVC_BYTESRC_H
/*
 * The bytes of a model file being parsed, for the parsers of lib/gguf.c
 * and lib/npy.c: a descriptor, or a buffer holding the first `memlen`
 * bytes of the file (tests and fuzzing).  Every read is checked against
 * the file's size and the buffer's length before it is made, so a parser
 * never reads past what it was given.
 */
#include "internal.h"

typedef struct mvc__src {
	const unsigned char *mem;   /* NULL: read from fd */
	size_t memlen;
	int fd;
	uint64_t size;              /* of the whole file */
	const char *what;           /* the file, for messages */
	const char *kind;           /* "GGUF", "NumPy", ... for messages */
} mvc__src;

/* `len` bytes at `off` into `buf`; MVC_EFORMAT ("truncated") when they
 * lie beyond the end of the file or of the buffer. */
int mvc__src_read(const mvc__src *s, void *buf, size_t len, uint64_t off);

/* A pointer to `len` bytes at `off`: into the buffer, or read into
 * `scratch` (of at least `len` bytes) from the descriptor. */
int mvc__src_view(const unsigned char **out, const mvc__src *s, unsigned char *scratch,
                  size_t len, uint64_t off);

static inline uint16_t mvc__le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t mvc__le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t mvc__le64(const unsigned char *p)
{
	return (uint64_t)mvc__le32(p) | (uint64_t)mvc__le32(p + 4) << 32;
}

/* Is s[0..len) valid UTF-8 without NUL bytes (tensor names go into JSON
 * and C strings)? */
bool mvc__utf8_ok(const unsigned char *s, size_t len);

/* Sort the tensors of a layout by offset (size, then name, for tensors
 * of 0 bytes) and check that they do not overlap and are uniquely named;
 * `what` and `kind` name the file in messages. */
int mvc__layout_sort_check(mvc_layout *l, const char *what);

/* Readers of the formats behind a descriptor (lib/gguf.c, lib/npy.c). */
int mvc__gguf_read(mvc_layout **out, int fd, uint64_t file_size, const char *what);
int mvc__npy_read(mvc_layout **out, int fd, uint64_t file_size, const char *what);
/* The dtype of ggml type number `type`, or MVC_DTYPE_UNKNOWN. */
mvc_dtype mvc__ggml_dtype(uint32_t type);
int mvc__npz_read(mvc_layout **out, int fd, uint64_t file_size, const char *what);

#endif
