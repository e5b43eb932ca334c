/* Buffers, checked allocation, I/O and small conversions. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sodium.h>
#include "internal.h"

void *mvc__malloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		mvc__err(MVC_ENOMEM, "out of memory (%zu bytes)", n);
	return p;
}

void *mvc__calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		mvc__err(MVC_ENOMEM, "out of memory (%zu x %zu bytes)", n, size);
	return p;
}

char *mvc__strndup(const char *s, size_t n)
{
	char *p = mvc__malloc(n + 1);

	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

char *mvc__strdup(const char *s)
{
	return mvc__strndup(s, strlen(s));
}

int mvc_buf_grow(mvc_buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (__builtin_add_overflow(b->len, extra, &need) || need == SIZE_MAX)
		return mvc__err(MVC_ENOMEM, "buffer size overflow");
	need++;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if (!(p = realloc(b->ptr, cap)))
		return mvc__err(MVC_ENOMEM, "out of memory (%zu bytes)", cap);
	b->ptr = p;
	b->cap = cap;
	return 0;
}

int mvc_buf_put(mvc_buf *b, const void *data, size_t len)
{
	int error;

	if ((error = mvc_buf_grow(b, len)) < 0)
		return error;
	if (len)
		memcpy(b->ptr + b->len, data, len);
	b->len += len;
	b->ptr[b->len] = '\0';
	return 0;
}

int mvc_buf_puts(mvc_buf *b, const char *s)
{
	return mvc_buf_put(b, s, strlen(s));
}

int mvc_buf_printf(mvc_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, error;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return mvc__err(MVC_ERROR, "formatting failed");
	if ((error = mvc_buf_grow(b, (size_t)n)) < 0)
		return error;
	va_start(ap, fmt);
	vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

char *mvc_buf_detach(mvc_buf *b)
{
	char *p = b->ptr;

	if (!p)
		p = calloc(1, 1);
	b->ptr = NULL;
	b->len = b->cap = 0;
	return p;
}

void mvc_buf_free(mvc_buf *b)
{
	if (!b)
		return;
	free(b->ptr);
	b->ptr = NULL;
	b->len = b->cap = 0;
}

int mvc_read_at(int fd, void *buf, size_t len, uint64_t off, const char *what)
{
	unsigned char *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return mvc__err_sys("cannot read '%s'", what);
		}
		if (n == 0)
			return mvc__err(MVC_EFORMAT, "'%s' is truncated (it changed while being read?)", what);
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

int mvc_write_all(int fd, const void *buf, size_t len, const char *what)
{
	const unsigned char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return mvc__err_sys("cannot write '%s'", what);
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void mvc_blake2b(unsigned char out[MVC_DIGEST_SIZE], const void *data, size_t len)
{
	crypto_generichash(out, MVC_DIGEST_SIZE, data, len, NULL, 0);
}

void mvc_digest_hex(char *out, const unsigned char digest[MVC_DIGEST_SIZE])
{
	sodium_bin2hex(out, MVC_DIGEST_HEXSZ + 1, digest, MVC_DIGEST_SIZE);
}

int mvc_hex_to_digest(unsigned char out[MVC_DIGEST_SIZE], const char *hex)
{
	size_t binlen = 0;
	const char *end = NULL;

	if (strlen(hex) != MVC_DIGEST_HEXSZ ||
	    sodium_hex2bin(out, MVC_DIGEST_SIZE, hex, MVC_DIGEST_HEXSZ, NULL, &binlen, &end) != 0 ||
	    binlen != MVC_DIGEST_SIZE)
		return -1;
	return 0;
}

void mvc_oid_fmt(char out[MVC_OID_HEXSZ + 1], const mvc_oid *oid)
{
	sodium_bin2hex(out, MVC_OID_HEXSZ + 1, oid->id, sizeof(oid->id));
}

const char *mvc_quote(char *buf, size_t bufsz, const char *s)
{
	size_t o = 0;

	for (; *s && o + 8 < bufsz; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f || c == '\\' || c == '\'')
			o += (size_t)snprintf(buf + o, bufsz - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	if (*s && bufsz > 4) {
		/* cut, but never in the middle of a UTF-8 sequence */
		while (o > 0 && ((unsigned char)buf[o - 1] & 0xc0) == 0x80)
			o--;
		if (o > 0 && ((unsigned char)buf[o - 1] & 0xc0) == 0xc0)
			o--;
		memcpy(buf + (o > bufsz - 4 ? bufsz - 4 : o), "...", 4);
		return buf;
	}
	buf[o] = '\0';
	return buf;
}

void mvc__index_name(char out[24], uint64_t i)
{
	snprintf(out, 24, "%06llu", (unsigned long long)i);
}

void mvc__writeback(int fd, uint64_t *flushed, uint64_t written)
{
	/* Start writing back what is written so far, without waiting: the
	 * fsync at the end then has little left to do, and the disk works
	 * while the cores encode. */
	if (written - *flushed < MVC_WRITEBACK_STEP)
		return;
#ifdef SYNC_FILE_RANGE_WRITE
	sync_file_range(fd, (off_t)*flushed, (off_t)(written - *flushed), SYNC_FILE_RANGE_WRITE);
#endif
	*flushed = written;
}
