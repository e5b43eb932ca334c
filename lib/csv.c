/*
 * The data files of mvc score: CSV read line by line through a bounded
 * buffer, hashed (BLAKE2b-256) as they are read, every error naming the
 * file and the line.
 *
 * Accepted: fields separated by commas, spaces and tabs around a field
 * ignored, LF or CRLF line ends, blank lines skipped, and a header line
 * first when the first line starts with a letter, '_' or '"'.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "eval.h"

#define READ_SIZE ((size_t)1 << 20)
#define MAX_FIELDS 65536

typedef struct reader {
	int fd;
	char what[MVC_QUOTE_MAX];
	char *buf;
	size_t cap, len, pos;
	size_t line;           /* number of the line last returned */
	int eof;
	crypto_generichash_state h;
	unsigned char digest[MVC_DIGEST_SIZE];
} reader;

static int reader_open(reader *r, const char *path)
{
	struct stat st;

	memset(r, 0, sizeof(*r));
	mvc_quote(r->what, sizeof(r->what), path);
	if ((r->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return mvc__err_sys("cannot open '%s'", r->what);
	if (fstat(r->fd, &st) < 0 || S_ISDIR(st.st_mode)) {
		int error = S_ISDIR(st.st_mode) ? mvc__err(MVC_EINVALID, "'%s' is a directory", r->what)
		                                : mvc__err_sys("cannot read '%s'", r->what);
		close(r->fd);
		r->fd = -1;
		return error;
	}
	r->cap = READ_SIZE + MVC_SCORE_LINE_MAX + 2;
	if (!(r->buf = mvc__malloc(r->cap))) {
		close(r->fd);
		r->fd = -1;
		return MVC_ENOMEM;
	}
	crypto_generichash_init(&r->h, NULL, 0, MVC_DIGEST_SIZE);
	return 0;
}

static void reader_close(reader *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	free(r->buf);
	r->buf = NULL;
}

static void reader_digest(const reader *r, char *hex)
{
	mvc_digest_hex(hex, r->digest);
}

/* The next line, without its end, NUL-terminated in place: 0, 1 at the
 * end of the file, or an error. */
static int next_line(reader *r, char **out)
{
	for (;;) {
		char *nl = r->pos < r->len ? memchr(r->buf + r->pos, '\n', r->len - r->pos) : NULL;
		size_t n;
		ssize_t got;

		if (nl || (r->eof && r->pos < r->len)) {
			char *s = r->buf + r->pos, *end = nl ? nl : r->buf + r->len;

			r->line++;
			if ((size_t)(end - s) > MVC_SCORE_LINE_MAX)
				return mvc__err(MVC_EINVALID, "'%s' line %zu: longer than %d bytes", r->what,
				    r->line, MVC_SCORE_LINE_MAX);
			r->pos = (size_t)(end - r->buf) + (nl != NULL);
			if (end > s && end[-1] == '\r')
				end--;
			*end = '\0';
			if (memchr(s, '\0', (size_t)(end - s)) != NULL)
				return mvc__err(MVC_EINVALID, "'%s' line %zu: a NUL byte: not a text file",
				    r->what, r->line);
			*out = s;
			return 0;
		}
		if (r->eof) {
			crypto_generichash_final(&r->h, r->digest, MVC_DIGEST_SIZE);
			return 1;
		}
		if (r->len - r->pos > MVC_SCORE_LINE_MAX)
			return mvc__err(MVC_EINVALID, "'%s' line %zu: longer than %d bytes", r->what,
			    r->line + 1, MVC_SCORE_LINE_MAX);
		memmove(r->buf, r->buf + r->pos, r->len - r->pos);
		r->len -= r->pos;
		r->pos = 0;
		n = r->cap - 1 - r->len;
		if (n > READ_SIZE)
			n = READ_SIZE;
		do
			got = read(r->fd, r->buf + r->len, n);
		while (got < 0 && errno == EINTR);
		if (got < 0)
			return mvc__err_sys("cannot read '%s'", r->what);
		if (got == 0) {
			r->eof = 1;
			continue;
		}
		crypto_generichash_update(&r->h, (const unsigned char *)r->buf + r->len, (size_t)got);
		r->len += (size_t)got;
	}
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return s;
}

/* Split a line at commas (in place); at most `max` fields. */
static size_t split(char *line, char **f, size_t max)
{
	size_t n = 0;

	for (;;) {
		char *c = strchr(line, ',');

		if (n == max)
			return max + 1;
		if (c)
			*c = '\0';
		f[n++] = trim(line);
		if (!c)
			return n;
		line = c + 1;
	}
}

static bool blank(const char *s)
{
	return s[strspn(s, " \t")] == '\0';
}

static bool header_like(const char *s)
{
	s += strspn(s, " \t");
	return (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_' || *s == '"';
}

static int bad(const reader *r, const char *what, const char *field)
{
	char q[MVC_QUOTE_MAX];

	return mvc__err(MVC_EINVALID, "'%s' line %zu: %s '%s' is not %s", r->what, r->line, what,
	    mvc_quote(q, sizeof(q), field),
	    !strcmp(what, "weight") || !strcmp(what, "feature") || !strcmp(what, "label")
	        ? "a finite number" : "a non-negative integer");
}

static int parse_id(uint64_t *out, const char *s)
{
	uint64_t v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

static int parse_num(double *out, const char *s)
{
	char *end;

	if (!*s)
		return -1;
	errno = 0;
	*out = strtod(s, &end);
	if (*end || !isfinite(*out) || (errno == ERANGE && fabs(*out) > 1))
		return -1;
	return 0;
}

/* ---- interactions ---- */

typedef struct triple {
	uint64_t user, item;
	double w;
} triple;

static int cmp_triple(const void *x, const void *y)
{
	const triple *a = x, *b = y;

	if (a->user != b->user)
		return a->user < b->user ? -1 : 1;
	if (a->item != b->item)
		return a->item < b->item ? -1 : 1;
	return 0;
}

void mvc__inter_free(mvc__inter *in)
{
	if (!in)
		return;
	free(in->users);
	free(in->start);
	free(in->items);
	free(in->w);
	memset(in, 0, sizeof(*in));
}

long mvc__inter_find(const mvc__inter *in, uint64_t user)
{
	size_t lo = 0, hi = in->nusers;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (in->users[mid] < user)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < in->nusers && in->users[lo] == user ? (long)lo : -1;
}

int mvc__inter_read(mvc__inter *out, const char *path, uint64_t n_items, uint64_t n_users)
{
	triple *t = NULL;
	size_t n = 0, cap = 0, m = 0, nu = 0;
	char *line, *f[4];
	reader r;
	int error, first = 1;

	memset(out, 0, sizeof(*out));
	if ((error = reader_open(&r, path)) < 0)
		return error;
	while ((error = next_line(&r, &line)) == 0) {
		size_t nf;
		triple x;

		if (blank(line))
			continue;
		if (first && header_like(line)) {
			first = 0;
			continue;
		}
		first = 0;
		nf = split(line, f, 3);
		if (nf < 2 || nf > 3) {
			error = mvc__err(MVC_EINVALID,
			    "'%s' line %zu: %s; wanted user,item or user,item,weight", r.what, r.line,
			    nf > 3 ? "more than 3 fields" : "one field");
			goto done;
		}
		if (parse_id(&x.user, f[0]) < 0) {
			error = bad(&r, "user", f[0]);
			goto done;
		}
		if (parse_id(&x.item, f[1]) < 0) {
			error = bad(&r, "item", f[1]);
			goto done;
		}
		x.w = 1;
		if (nf == 3 && parse_num(&x.w, f[2]) < 0) {
			error = bad(&r, "weight", f[2]);
			goto done;
		}
		if (x.item >= n_items) {
			error = mvc__err(MVC_EINVALID,
			    "'%s' line %zu: item %llu is out of range: the item table has %llu rows",
			    r.what, r.line, (unsigned long long)x.item, (unsigned long long)n_items);
			goto done;
		}
		if (n_users && x.user >= n_users) {
			error = mvc__err(MVC_EINVALID,
			    "'%s' line %zu: user %llu is out of range: the user table has %llu rows",
			    r.what, r.line, (unsigned long long)x.user, (unsigned long long)n_users);
			goto done;
		}
		if (n == cap) {
			size_t nc = cap ? 2 * cap : 1024;
			triple *nt = realloc(t, nc * sizeof(*t));

			if (!nt) {
				error = mvc__err(MVC_ENOMEM, "out of memory reading '%s'", r.what);
				goto done;
			}
			t = nt;
			cap = nc;
		}
		t[n++] = x;
	}
	if (error < 0)
		goto done;
	error = 0;
	if (n == 0) {
		error = mvc__err(MVC_EINVALID, "'%s' %s", r.what,
		    r.line ? "has no interactions (user,item lines)" : "is empty");
		goto done;
	}
	qsort(t, n, sizeof(*t), cmp_triple);
	/* merge repeated pairs, count users */
	for (size_t i = 0; i < n; i++) {
		if (m && t[m - 1].user == t[i].user && t[m - 1].item == t[i].item) {
			t[m - 1].w += t[i].w;
			continue;
		}
		nu += !m || t[m - 1].user != t[i].user;
		t[m++] = t[i];
	}
	if (!(out->users = mvc__calloc(nu + 1, sizeof(uint64_t))) ||
	    !(out->start = mvc__calloc(nu + 1, sizeof(size_t))) ||
	    !(out->items = mvc__calloc(m + 1, sizeof(uint64_t))) ||
	    !(out->w = mvc__calloc(m + 1, sizeof(double)))) {
		error = MVC_ENOMEM;
		goto done;
	}
	for (size_t i = 0, u = 0; i < m; i++) {
		if (!i || t[i - 1].user != t[i].user) {
			out->users[u] = t[i].user;
			out->start[u++] = i;
		}
		out->items[i] = t[i].item;
		out->w[i] = t[i].w;
	}
	out->start[nu] = m;
	out->nusers = nu;
	out->n = m;
	reader_digest(&r, out->digest);
done:
	free(t);
	reader_close(&r);
	if (error < 0)
		mvc__inter_free(out);
	return error;
}

/* ---- classifier rows ---- */

void mvc__rows_free(mvc__rows *r)
{
	if (!r)
		return;
	free(r->x);
	free(r->y);
	memset(r, 0, sizeof(*r));
}

int mvc__rows_read(mvc__rows *out, const char *path)
{
	char *line, **f = NULL;
	size_t cap = 0;
	reader r;
	int error, first = 1;

	memset(out, 0, sizeof(*out));
	if ((error = reader_open(&r, path)) < 0)
		return error;
	if (!(f = mvc__calloc(MAX_FIELDS + 2, sizeof(char *)))) {
		error = MVC_ENOMEM;
		goto done;
	}
	while ((error = next_line(&r, &line)) == 0) {
		size_t nf;
		double v;

		if (blank(line))
			continue;
		if (first && header_like(line)) {
			first = 0;
			continue;
		}
		first = 0;
		nf = split(line, f, MAX_FIELDS);
		if (nf > MAX_FIELDS) {
			error = mvc__err(MVC_EINVALID, "'%s' line %zu: more than %d fields", r.what, r.line,
			    MAX_FIELDS);
			goto done;
		}
		if (!out->nfeat) {
			if (nf < 2) {
				error = mvc__err(MVC_EINVALID,
				    "'%s' line %zu: one field; wanted features then a label", r.what, r.line);
				goto done;
			}
			out->nfeat = nf - 1;
		}
		if (nf != out->nfeat + 1) {
			error = mvc__err(MVC_EINVALID, "'%s' line %zu: %zu fields where the first row has %zu",
			    r.what, r.line, nf, out->nfeat + 1);
			goto done;
		}
		if (out->n == cap) {
			size_t nc = cap ? 2 * cap : 256;
			float *nx;
			unsigned char *ny;
			uint64_t bytes;

			if (!mvc_mul_u64(&bytes, (uint64_t)nc * sizeof(float), out->nfeat) ||
			    bytes > SIZE_MAX / 2) {
				error = mvc__err(MVC_ENOMEM, "'%s' is too large", r.what);
				goto done;
			}
			if (!(nx = realloc(out->x, (size_t)bytes))) {
				error = mvc__err(MVC_ENOMEM, "out of memory reading '%s'", r.what);
				goto done;
			}
			out->x = nx;
			if (!(ny = realloc(out->y, nc))) {
				error = mvc__err(MVC_ENOMEM, "out of memory reading '%s'", r.what);
				goto done;
			}
			out->y = ny;
			cap = nc;
		}
		for (size_t i = 0; i < out->nfeat; i++) {
			if (parse_num(&v, f[i]) < 0 || fabs(v) > (double)__FLT_MAX__) {
				error = bad(&r, "feature", f[i]);
				goto done;
			}
			out->x[out->n * out->nfeat + i] = (float)v;
		}
		if (parse_num(&v, f[out->nfeat]) < 0 || (v != 0 && v != 1)) {
			char q[MVC_QUOTE_MAX];

			error = mvc__err(MVC_EINVALID, "'%s' line %zu: label '%s' is not 0 or 1", r.what,
			    r.line, mvc_quote(q, sizeof(q), f[out->nfeat]));
			goto done;
		}
		out->y[out->n++] = v == 1;
	}
	if (error < 0)
		goto done;
	error = 0;
	if (out->n == 0) {
		error = mvc__err(MVC_EINVALID, "'%s' %s", r.what,
		    r.line ? "has no rows (features then a label)" : "is empty");
		goto done;
	}
	reader_digest(&r, out->digest);
done:
	free(f);
	reader_close(&r);
	if (error < 0)
		mvc__rows_free(out);
	return error;
}
