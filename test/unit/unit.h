/*
 * Helpers shared by the cmocka unit tests: fixtures built byte by byte,
 * temporary directories, and an assertion on libmvc's error convention
 * (a return code plus a message for the thread).
 */
#ifndef MVC_TEST_UNIT_H
#define MVC_TEST_UNIT_H
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#define UNUSED_FN __attribute__((unused))

/*
 * The call must fail with `code` and leave a message containing `frag`:
 * a test of an error path that only checked the code could pass on the
 * wrong error.
 */
#define assert_err(expr, code, frag) do {                                      \
	int rc_ = (expr);                                                      \
	if (rc_ != (code))                                                     \
		fail_msg("%s returned %d, wanted %d (%s); message: %s",        \
		    #expr, rc_, (int)(code), #code, mvc_error_last());         \
	if (!strstr(mvc_error_last(), (frag)))                                 \
		fail_msg("%s: message '%s' lacks '%s'", #expr,                 \
		    mvc_error_last(), (frag));                                 \
} while (0)

#define assert_ok(expr) do {                                                   \
	int rc_ = (expr);                                                      \
	if (rc_ != 0)                                                          \
		fail_msg("%s returned %d: %s", #expr, rc_, mvc_error_last());  \
} while (0)

/* A deterministic byte stream (splitmix64), so failures reproduce. */
static UNUSED_FN uint64_t rnd_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static UNUSED_FN void rnd_fill(void *buf, size_t len, uint64_t seed)
{
	unsigned char *p = buf;
	uint64_t s = seed, v = 0;

	for (size_t i = 0; i < len; i++) {
		if (i % 8 == 0)
			v = rnd_next(&s);
		p[i] = (unsigned char)(v >> (8 * (i % 8)));
	}
}

/* Small floats of similar magnitude: what trained weights look like. */
static UNUSED_FN void weights_fill(float *w, size_t n, uint64_t seed)
{
	uint64_t s = seed;

	for (size_t i = 0; i < n; i++)
		w[i] = (float)((double)(rnd_next(&s) >> 11) / 9007199254740992.0 - 0.5) * 0.02f;
}

/*
 * A safetensors file: 8-byte little-endian header length, the header
 * bytes exactly as given, then `dlen` bytes of data (NULL: a pattern).
 */
static UNUSED_FN unsigned char *st_build(size_t *outlen, const char *header, size_t hlen,
                                         const void *data, size_t dlen)
{
	unsigned char *p = malloc(8 + hlen + dlen + 1);

	assert_non_null(p);
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
	memcpy(p + 8, header, hlen);
	if (data)
		memcpy(p + 8 + hlen, data, dlen);
	else
		for (size_t i = 0; i < dlen; i++)
			p[8 + hlen + i] = (unsigned char)(i * 7 + 1);
	*outlen = 8 + hlen + dlen;
	return p;
}

static UNUSED_FN unsigned char *st_make(size_t *outlen, const char *header, size_t dlen)
{
	return st_build(outlen, header, strlen(header), NULL, dlen);
}

static UNUSED_FN void write_bytes(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	const unsigned char *p = data;

	if (fd < 0)
		fail_msg("cannot create %s: %s", path, strerror(errno));
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n <= 0)
			fail_msg("cannot write %s: %s", path, strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	assert_int_equal(close(fd), 0);
}

/* The whole file, NUL-terminated; NULL if it cannot be read. */
static UNUSED_FN unsigned char *read_bytes(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *p = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (p = malloc((size_t)n + 1)) && fread(p, 1, (size_t)n, f) == (size_t)n) {
		p[n] = '\0';
		*len = (size_t)n;
	} else {
		free(p);
		p = NULL;
	}
	fclose(f);
	return p;
}

static UNUSED_FN int file_equals(const char *path, const void *data, size_t len)
{
	size_t n = 0;
	unsigned char *p = read_bytes(path, &n);
	int same = p && n == len && memcmp(p, data, len) == 0;

	free(p);
	return same;
}

/* A fresh directory under $TMPDIR; the caller frees the string. */
static UNUSED_FN char *tmpdir_new(const char *tag)
{
	const char *base = getenv("TMPDIR");
	char *p;

	if (!base || !*base)
		base = "/tmp";
	if (asprintf(&p, "%s/mvc-unit-%s.XXXXXX", base, tag) < 0)
		fail_msg("out of memory");
	if (!mkdtemp(p))
		fail_msg("mkdtemp %s: %s", p, strerror(errno));
	/* the path the library will see after realpath() */
	{
		char *real = realpath(p, NULL);

		assert_non_null(real);
		free(p);
		p = real;
	}
	return p;
}

static UNUSED_FN int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	chmod(path, 0700); /* loose objects are read-only; keep going regardless */
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

static UNUSED_FN void rm_rf(const char *path)
{
	if (path)
		nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* "a" "/" "b" into a new string. */
static UNUSED_FN char *path_join(const char *a, const char *b)
{
	char *p;

	if (asprintf(&p, "%s/%s", a, b) < 0)
		fail_msg("out of memory");
	return p;
}

/* mkdir -p */
static UNUSED_FN void mkdirs(const char *path)
{
	char *p = strdup(path);

	for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		mkdir(p, 0777);
		*s = '/';
	}
	if (mkdir(p, 0777) < 0 && errno != EEXIST)
		fail_msg("mkdir %s: %s", p, strerror(errno));
	free(p);
}

#endif
