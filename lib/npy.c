/*
 * NumPy files: a single array (.npy) and a zip archive of .npy members
 * (.npz, as numpy.savez writes it: stored members, each with a ZIP64
 * extra field).
 *
 * .npy: "\x93NUMPY", major and minor version (1.0, 2.0, 3.0), the length
 * of the header (u16 for 1.0, u32 after), and the header: a Python dict
 * literal {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
 * padded with spaces and a newline; then the array's bytes.  A Fortran
 * array is recorded with its shape reversed, which is how its bytes lie
 * (its transpose in C order).  Big-endian arrays get the *_BE dtypes.
 *
 * .npz: the zip's end record (ZIP64 when it says so), its central
 * directory, then each member's local header.  Every member must be a
 * stored (not compressed) .npy file; each array's data is a tensor named
 * after the member without ".npy", and everything else (zip records, .npy
 * headers) is kept verbatim as header bytes.  An archive mvc cannot read
 * that way (compressed members, other members) fails with
 * MVC_EUNSUPPORTED, and detection then stores it as any other file.
 *
 * Everything here is untrusted: every length and offset is checked
 * against the file (and the structure that holds it) before it is used.
 */
#include <stdlib.h>
#include <string.h>
#include "bytesrc.h"

#define MAX_CENTRAL_DIR (64u << 20)
#define MAX_MEMBER_NAME 4096

/* ---- .npy ---- */

typedef struct lit {
	const char *p, *end;
} lit;

static void ws(lit *x)
{
	while (x->p < x->end && (*x->p == ' ' || *x->p == '\t' || *x->p == '\n' || *x->p == '\r'))
		x->p++;
}

static bool eat(lit *x, char c)
{
	ws(x);
	if (x->p < x->end && *x->p == c) {
		x->p++;
		return true;
	}
	return false;
}

/* A quoted string without escapes into buf (truncated to n - 1). */
static bool string(lit *x, char *buf, size_t n)
{
	char q;
	size_t k = 0;

	ws(x);
	if (x->p >= x->end || (*x->p != '\'' && *x->p != '"'))
		return false;
	q = *x->p++;
	while (x->p < x->end && *x->p != q) {
		if (*x->p == '\\')
			return false;
		if (k + 1 < n)
			buf[k++] = *x->p;
		x->p++;
	}
	if (x->p >= x->end)
		return false;
	x->p++;
	buf[k] = '\0';
	return true;
}

static bool word(lit *x, const char *w)
{
	size_t n = strlen(w);

	ws(x);
	if ((size_t)(x->end - x->p) >= n && !memcmp(x->p, w, n)) {
		x->p += n;
		return true;
	}
	return false;
}

static bool integer(lit *x, uint64_t *v)
{
	const char *s;

	ws(x);
	s = x->p;
	*v = 0;
	while (x->p < x->end && *x->p >= '0' && *x->p <= '9') {
		if (*v > ((uint64_t)INT64_MAX - 9) / 10)
			return false;
		*v = *v * 10 + (uint64_t)(*x->p++ - '0');
	}
	if (x->p == s)
		return false;
	if (x->p < x->end && *x->p == 'L')  /* Python 2 long */
		x->p++;
	return true;
}

/* The dtype of a descr: "<f4", "|u1", ">i8"...; UNKNOWN when mvc has none. */
static mvc_dtype descr_dtype(const char *d)
{
	static const struct { const char *code; mvc_dtype le, be; } codes[] = {
		{ "b1", MVC_DTYPE_BOOL, MVC_DTYPE_BOOL }, { "i1", MVC_DTYPE_I8, MVC_DTYPE_I8 },
		{ "u1", MVC_DTYPE_U8, MVC_DTYPE_U8 },
		{ "i2", MVC_DTYPE_I16, MVC_DTYPE_I16_BE }, { "u2", MVC_DTYPE_U16, MVC_DTYPE_U16_BE },
		{ "f2", MVC_DTYPE_F16, MVC_DTYPE_F16_BE }, { "i4", MVC_DTYPE_I32, MVC_DTYPE_I32_BE },
		{ "u4", MVC_DTYPE_U32, MVC_DTYPE_U32_BE }, { "f4", MVC_DTYPE_F32, MVC_DTYPE_F32_BE },
		{ "i8", MVC_DTYPE_I64, MVC_DTYPE_I64_BE }, { "u8", MVC_DTYPE_U64, MVC_DTYPE_U64_BE },
		{ "f8", MVC_DTYPE_F64, MVC_DTYPE_F64_BE }, { "c8", MVC_DTYPE_C64, MVC_DTYPE_C64_BE },
	};

	if (strlen(d) != 3 || (d[0] != '<' && d[0] != '>' && d[0] != '|'))
		return MVC_DTYPE_UNKNOWN;
	for (size_t i = 0; i < MVC_ARRAY_SIZE(codes); i++)
		if (!strcmp(d + 1, codes[i].code)) {
			/* '|' (no byte order) only for one-byte types */
			if (d[0] == '|' && codes[i].le != codes[i].be)
				return MVC_DTYPE_UNKNOWN;
			return d[0] == '>' ? codes[i].be : codes[i].le;
		}
	return MVC_DTYPE_UNKNOWN;
}

/* Parse the dict literal of an .npy header into t (dtype, shape). */
static int header_dict(mvc_tensor *t, const char *h, size_t len, const char *what)
{
	lit x = { h, h + len };
	char key[32], descr[64];
	int have_descr = 0, have_order = 0, have_shape = 0, fortran = 0;
	uint64_t dims[MVC_MAX_DIMS];
	unsigned nd = 0;

#define SYNTAX(m) return mvc__err(MVC_EFORMAT, "'%s': bad .npy header: %s", what, m)
	if (!eat(&x, '{'))
		SYNTAX("not a dict");
	while (!eat(&x, '}')) {
		if (!string(&x, key, sizeof(key)) || !eat(&x, ':'))
			SYNTAX("expected 'key':");
		if (!strcmp(key, "descr") && !have_descr++) {
			ws(&x);
			if (x.p < x.end && *x.p == '[')
				return mvc__err(MVC_EUNSUPPORTED,
				    "'%s': .npy arrays of records (structured dtypes) are not supported", what);
			if (!string(&x, descr, sizeof(descr)))
				SYNTAX("descr is not a string");
		} else if (!strcmp(key, "fortran_order") && !have_order++) {
			if (word(&x, "True"))
				fortran = 1;
			else if (!word(&x, "False"))
				SYNTAX("fortran_order is not True or False");
		} else if (!strcmp(key, "shape") && !have_shape++) {
			if (!eat(&x, '('))
				SYNTAX("shape is not a tuple");
			while (!eat(&x, ')')) {
				if (nd == MVC_MAX_DIMS)
					return mvc__err(MVC_EUNSUPPORTED,
					    "'%s': .npy array of more than %d dimensions", what, MVC_MAX_DIMS);
				if (!integer(&x, &dims[nd++]))
					SYNTAX("shape holds something other than non-negative integers");
				if (!eat(&x, ',')) {
					if (!eat(&x, ')'))
						SYNTAX("shape tuple is not closed");
					break;
				}
			}
		} else {
			SYNTAX("an unknown or repeated key");
		}
		if (!eat(&x, ',')) {
			if (!eat(&x, '}'))
				SYNTAX("dict is not closed");
			break;
		}
	}
	ws(&x);
	if (x.p != x.end)
		SYNTAX("bytes after the dict");
	if (!have_descr || !have_order || !have_shape)
		SYNTAX("descr, fortran_order or shape is missing");
#undef SYNTAX
	if ((t->dtype = descr_dtype(descr)) == MVC_DTYPE_UNKNOWN) {
		char q[MVC_QUOTE_MAX];
		return mvc__err(MVC_EUNSUPPORTED, "'%s': .npy dtype '%s' is not one mvc compares",
		    what, mvc_quote(q, sizeof(q), descr));
	}
	t->ndim = nd;
	for (unsigned d = 0; d < nd; d++)
		t->shape[d] = fortran ? dims[nd - 1 - d] : dims[d];
	return 0;
}

/*
 * The .npy file at [base, base + avail) of the source: its array as a
 * tensor (absolute offset).  `what` names it in messages.  Bytes after
 * the array are MVC_EUNSUPPORTED (numpy writes none).
 */
static int npy_at(mvc_tensor *t, const mvc__src *s, uint64_t base, uint64_t avail,
                  const char *what)
{
	unsigned char pre[12];
	const unsigned char *h;
	unsigned char *scratch = NULL;
	uint64_t hlen, hstart, nelem = 1, end;
	unsigned major;
	int error;

	if (avail < 10 || (error = mvc__src_read(s, pre, 10, base)) < 0)
		return mvc__err(MVC_EFORMAT, "'%s': truncated .npy file", what);
	if (memcmp(pre, "\x93NUMPY", 6))
		return mvc__err(MVC_EFORMAT, "'%s' is not a .npy file (no \"\\x93NUMPY\" magic)", what);
	major = pre[6];
	if ((major != 1 && major != 2 && major != 3) || pre[7] != 0)
		return mvc__err(MVC_EUNSUPPORTED, "'%s': .npy format version %u.%u is not supported "
		    "(mvc reads 1.0, 2.0 and 3.0)", what, pre[6], pre[7]);
	if (major == 1) {
		hlen = mvc__le16(pre + 8);
		hstart = 10;
	} else {
		if (avail < 12 || (error = mvc__src_read(s, pre, 12, base)) < 0)
			return mvc__err(MVC_EFORMAT, "'%s': truncated .npy file", what);
		hlen = mvc__le32(pre + 8);
		hstart = 12;
	}
	if (hlen > MVC_NPY_MAX_HEADER)
		return mvc__err(MVC_EFORMAT, "'%s': .npy header of %llu bytes is over the %u-byte limit",
		    what, (unsigned long long)hlen, MVC_NPY_MAX_HEADER);
	if (hlen > avail - hstart)
		return mvc__err(MVC_EFORMAT, "'%s': truncated .npy file (its header ends beyond it)",
		    what);
	if (!s->mem && !(scratch = mvc__malloc((size_t)hlen + 1)))
		return MVC_ENOMEM;
	if ((error = mvc__src_view(&h, s, scratch, (size_t)hlen, base + hstart)) < 0)
		goto done;
	if (major < 3) {
		/* latin-1: NUL is never part of a valid literal */
		if (memchr(h, 0, (size_t)hlen)) {
			error = mvc__err(MVC_EFORMAT, "'%s': bad .npy header: a NUL byte", what);
			goto done;
		}
	} else if (!mvc__utf8_ok(h, (size_t)hlen)) {
		error = mvc__err(MVC_EFORMAT, "'%s': bad .npy header: not UTF-8", what);
		goto done;
	}
	if ((error = header_dict(t, (const char *)h, (size_t)hlen, what)) < 0)
		goto done;
	for (unsigned d = 0; d < t->ndim; d++)
		if (!mvc_mul_u64(&nelem, nelem, t->shape[d])) {
			error = mvc__err(MVC_EFORMAT, "'%s': .npy shape product overflows", what);
			goto done;
		}
	if (!mvc_dtype_size(&t->size, t->dtype, nelem)) {
		error = mvc__err(MVC_EFORMAT, "'%s': .npy array size overflows", what);
		goto done;
	}
	end = hstart + hlen;
	if (t->size > avail - end) {
		error = mvc__err(MVC_EFORMAT, "'%s': truncated .npy file: the array needs %llu bytes, "
		    "%llu are there", what, (unsigned long long)t->size,
		    (unsigned long long)(avail - end));
		goto done;
	}
	if (t->size != avail - end) {
		error = mvc__err(MVC_EUNSUPPORTED, "'%s': %llu bytes follow the .npy array", what,
		    (unsigned long long)(avail - end - t->size));
		goto done;
	}
	t->offset = base + end;
	error = 0;
done:
	free(scratch);
	return error;
}

static int npy_parse(mvc_layout **out, const mvc__src *s)
{
	mvc_layout *l;
	int error;

	*out = NULL;
	if (!(l = mvc__calloc(1, sizeof(*l))) || !(l->tensors = mvc__calloc(1, sizeof(*l->tensors))) ||
	    !(l->tensors[0].name = mvc__strdup(MVC_NPY_TENSOR))) {
		mvc_layout_free(l);
		return MVC_ENOMEM;
	}
	l->format = MVC_FORMAT_NPY;
	l->file_size = s->size;
	l->ntensors = 1;
	if ((error = npy_at(&l->tensors[0], s, 0, s->size, s->what)) < 0) {
		mvc_layout_free(l);
		return error;
	}
	*out = l;
	return 0;
}

int mvc_npy_parse(mvc_layout **out, const unsigned char *data, size_t len, uint64_t file_size,
                  const char *what)
{
	mvc__src s = { data, len, -1, file_size, what, "NumPy" };

	return npy_parse(out, &s);
}

int mvc__npy_read(mvc_layout **out, int fd, uint64_t file_size, const char *what)
{
	mvc__src s = { NULL, 0, fd, file_size, what, "NumPy" };

	return npy_parse(out, &s);
}

/* ---- .npz ---- */

#define BAD(...) do { error = mvc__err(MVC_EFORMAT, __VA_ARGS__); goto done; } while (0)
#define UNSUPPORTED(...) do { error = mvc__err(MVC_EUNSUPPORTED, __VA_ARGS__); goto done; } while (0)

typedef struct member {
	uint64_t lho, size;       /* local header offset; stored size */
	const unsigned char *name;
	size_t nlen;
} member;

/* The ZIP64 extra field (id 1) of `extra`: each of the fields whose
 * 32-bit value was all ones, in order; 0 or MVC_EFORMAT. */
static int zip64_extra(const unsigned char *x, size_t xlen, uint64_t *usize, uint64_t *csize,
                       uint64_t *lho, bool want_u, bool want_c, bool want_o, const char *what)
{
	while (xlen >= 4) {
		unsigned id = mvc__le16(x), n = mvc__le16(x + 2);

		if (n > xlen - 4)
			return mvc__err(MVC_EFORMAT, "'%s': a zip extra field runs past its record", what);
		if (id == 1) {
			size_t k = 0;

			if (want_u) {
				if (n < k + 8)
					goto short_;
				*usize = mvc__le64(x + 4 + k);
				k += 8;
			}
			if (want_c) {
				if (n < k + 8)
					goto short_;
				*csize = mvc__le64(x + 4 + k);
				k += 8;
			}
			if (want_o) {
				if (n < k + 8)
					goto short_;
				*lho = mvc__le64(x + 4 + k);
			}
			return 0;
		}
		x += 4 + n;
		xlen -= 4 + n;
	}
	if (want_u || want_c || want_o)
		return mvc__err(MVC_EFORMAT, "'%s': a zip record lacks its ZIP64 extra field", what);
	return 0;
short_:
	return mvc__err(MVC_EFORMAT, "'%s': a ZIP64 extra field is too short", what);
}

static int cmp_lho(const void *a, const void *b)
{
	const member *x = a, *y = b;

	return x->lho < y->lho ? -1 : x->lho > y->lho;
}

static int npz_parse(mvc_layout **out, const mvc__src *s)
{
	const char *what = s->what;
	unsigned char *tail = NULL, *cdbuf = NULL;
	const unsigned char *cd, *e = NULL;
	member *mem = NULL;
	mvc_layout *l = NULL;
	uint64_t tlen, tstart, eocd, entries, cdsize, cdoff, cdend;
	size_t n = 0;
	int error;

	*out = NULL;
	/* the end record: the last "PK\5\6" whose comment reaches the end */
	tlen = s->size < 22 + 65535 ? s->size : 22 + 65535;
	tstart = s->size - tlen;
	if (tlen < 22)
		BAD("'%s': not a zip archive (too short)", what);
	if (!(tail = mvc__malloc((size_t)tlen)))
		return MVC_ENOMEM;
	if ((error = mvc__src_read(s, tail, (size_t)tlen, tstart)) < 0)
		goto done;
	for (uint64_t p = tlen - 22 + 1; p-- > 0;)
		if (!memcmp(tail + p, "PK\x05\x06", 4) && p + 22 + mvc__le16(tail + p + 20) == tlen) {
			e = tail + p;
			break;
		}
	if (!e)
		BAD("'%s': not a zip archive (no end of central directory record)", what);
	eocd = tstart + (uint64_t)(e - tail);
	if (mvc__le16(e + 4) || mvc__le16(e + 6))
		UNSUPPORTED("'%s': multi-disk zip archives are not supported", what);
	entries = mvc__le16(e + 10);
	cdsize = mvc__le32(e + 12);
	cdoff = mvc__le32(e + 16);
	cdend = eocd;
	if (mvc__le16(e + 8) == 0xffff || entries == 0xffff || cdsize == 0xffffffffu ||
	    cdoff == 0xffffffffu) {
		/* ZIP64: a locator right before, pointing at the ZIP64 end record */
		unsigned char loc[20], z[56];
		uint64_t zoff;

		if (eocd < 20 || (error = mvc__src_read(s, loc, 20, eocd - 20)) < 0 ||
		    memcmp(loc, "PK\x06\x07", 4))
			BAD("'%s': zip archive lacks its ZIP64 end locator", what);
		zoff = mvc__le64(loc + 8);
		if (zoff > eocd - 20 || eocd - 20 - zoff < 56 ||
		    (error = mvc__src_read(s, z, 56, zoff)) < 0 || memcmp(z, "PK\x06\x06", 4))
			BAD("'%s': zip archive has a bad ZIP64 end record", what);
		if (mvc__le32(z + 16) || mvc__le32(z + 20))
			UNSUPPORTED("'%s': multi-disk zip archives are not supported", what);
		entries = mvc__le64(z + 32);
		cdsize = mvc__le64(z + 40);
		cdoff = mvc__le64(z + 48);
		cdend = zoff;
	}
	if (entries > MVC_MAX_TENSORS)
		BAD("'%s': zip archive of %llu members (at most %u)", what,
		    (unsigned long long)entries, MVC_MAX_TENSORS);
	if (cdoff > cdend || cdsize > cdend - cdoff)
		BAD("'%s': zip central directory lies outside the archive", what);
	if (cdsize > MAX_CENTRAL_DIR)
		BAD("'%s': zip central directory of %llu bytes is over the %u-byte limit", what,
		    (unsigned long long)cdsize, MAX_CENTRAL_DIR);
	if (entries > cdsize / 46)
		BAD("'%s': zip central directory is too small for %llu members", what,
		    (unsigned long long)entries);
	if (!s->mem && !(cdbuf = mvc__malloc((size_t)cdsize + 1))) {
		error = MVC_ENOMEM;
		goto done;
	}
	if ((error = mvc__src_view(&cd, s, cdbuf, (size_t)cdsize, cdoff)) < 0)
		goto done;
	if (!(mem = mvc__calloc((size_t)entries + 1, sizeof(*mem)))) {
		error = MVC_ENOMEM;
		goto done;
	}
	/* the central directory: names, methods, sizes, local header offsets */
	for (uint64_t i = 0, p = 0; i < entries; i++, n++) {
		const unsigned char *r = cd + p;
		uint64_t usize, csize, lho;
		size_t nl, xl, cl;
		unsigned flags, method;

		if (cdsize - p < 46 || memcmp(r, "PK\x01\x02", 4))
			BAD("'%s': zip central directory record %llu is damaged", what,
			    (unsigned long long)i);
		flags = mvc__le16(r + 8);
		method = mvc__le16(r + 10);
		csize = mvc__le32(r + 20);
		usize = mvc__le32(r + 24);
		nl = mvc__le16(r + 28);
		xl = mvc__le16(r + 30);
		cl = mvc__le16(r + 32);
		lho = mvc__le32(r + 42);
		if (cdsize - p - 46 < (uint64_t)nl + xl + cl)
			BAD("'%s': zip central directory record %llu runs past the directory", what,
			    (unsigned long long)i);
		if ((error = zip64_extra(r + 46 + nl, xl, &usize, &csize, &lho, usize == 0xffffffffu,
		         csize == 0xffffffffu, lho == 0xffffffffu, what)) < 0)
			goto done;
		if (mvc__le16(r + 34) != 0 && mvc__le16(r + 34) != 0xffff)
			UNSUPPORTED("'%s': multi-disk zip archives are not supported", what);
		if (flags & 1)
			UNSUPPORTED("'%s': encrypted zip members are not supported", what);
		if (nl < 5 || nl > MAX_MEMBER_NAME || memcmp(r + 46 + nl - 4, ".npy", 4) ||
		    !mvc__utf8_ok(r + 46, nl))
			UNSUPPORTED("'%s': a member of the zip archive is not an .npy file (not an .npz "
			    "archive)", what);
		if (method != 0)
			UNSUPPORTED("'%s': member '%.*s' is compressed (method %u): mvc reads stored "
			    ".npz members (numpy.savez) and keeps compressed archives as any other file",
			    what, (int)(nl < 64 ? nl : 64), (const char *)r + 46, method);
		if (csize != usize)
			BAD("'%s': stored zip member %llu has two different sizes", what,
			    (unsigned long long)i);
		mem[n].lho = lho;
		mem[n].size = usize;
		mem[n].name = r + 46;
		mem[n].nlen = nl;
		p += 46 + (uint64_t)nl + xl + cl;
	}
	qsort(mem, n, sizeof(*mem), cmp_lho);
	if (!(l = mvc__calloc(1, sizeof(*l))) || !(l->tensors = mvc__calloc(n + 1, sizeof(*l->tensors)))) {
		error = MVC_ENOMEM;
		goto done;
	}
	l->format = MVC_FORMAT_NPZ;
	l->file_size = s->size;
	/* each member: its local header, then an .npy file */
	for (size_t i = 0; i < n; i++) {
		member *m = &mem[i];
		mvc_tensor *t = &l->tensors[i];
		unsigned char lh[30];
		unsigned char *lx = NULL;
		uint64_t data, end, lu, lc, lo = 0, limit = i + 1 < n ? mem[i + 1].lho : cdoff;
		size_t lnl, lxl;
		char mwhat[2 * MVC_QUOTE_MAX + 8], q[MVC_QUOTE_MAX];

		l->ntensors = i + 1;
		if (!(t->name = mvc__strndup((const char *)m->name, m->nlen - 4)))
			goto nomem;
		snprintf(mwhat, sizeof(mwhat), "%s:%s", what, mvc_quote(q, sizeof(q), t->name));
		if (m->lho > limit || limit - m->lho < 30 ||
		    (error = mvc__src_read(s, lh, 30, m->lho)) < 0 || memcmp(lh, "PK\x03\x04", 4))
			BAD("'%s': the local header of member '%s.npy' is missing, damaged or overlaps "
			    "another member", what, q);
		lnl = mvc__le16(lh + 26);
		lxl = mvc__le16(lh + 28);
		if (!mvc_add_u64(&data, m->lho + 30, (uint64_t)lnl + lxl) || data > limit ||
		    !mvc_add_u64(&end, data, m->size) || end > limit)
			BAD("'%s': member '%s.npy' overlaps the next member or the central directory",
			    what, q);
		if (mvc__le16(lh + 8) != 0 || lnl != m->nlen)
			BAD("'%s': the local header of member '%s.npy' disagrees with the central "
			    "directory", what, q);
		if (!(lx = mvc__malloc(lnl + lxl + 1)))
			goto nomem;
		if ((error = mvc__src_read(s, lx, lnl + lxl, m->lho + 30)) < 0) {
			free(lx);
			goto done;
		}
		if (memcmp(lx, m->name, lnl)) {
			free(lx);
			BAD("'%s': the local header of member '%s.npy' names another file", what, q);
		}
		/* sizes in the local header, unless a data descriptor follows */
		if (!(mvc__le16(lh + 6) & 8)) {
			lc = mvc__le32(lh + 18);
			lu = mvc__le32(lh + 22);
			error = zip64_extra(lx + lnl, lxl, &lu, &lc, &lo, lu == 0xffffffffu,
			    lc == 0xffffffffu, false, what);
			if (!error && (lu != m->size || lc != m->size))
				error = mvc__err(MVC_EFORMAT, "'%s': the local header of member '%s.npy' "
				    "gives another size", what, q);
		}
		free(lx);
		if (error < 0)
			goto done;
		if (!*t->name)
			UNSUPPORTED("'%s': a member is named '.npy'", what);
		if ((error = npy_at(t, s, data, m->size, mwhat)) < 0)
			goto done;
	}
	if ((error = mvc__layout_sort_check(l, what)) < 0)
		goto done;
	{
		/* the zip's own bytes are kept in memory as header bytes: a
		 * zip with more than that between its members is kept whole */
		uint64_t covered = 0;

		for (size_t i = 0; i < l->ntensors; i++)
			covered += l->tensors[i].size;
		if (s->size - covered > 2 * (uint64_t)MAX_CENTRAL_DIR)
			UNSUPPORTED("'%s': %llu bytes of the zip archive are not array data", what,
			    (unsigned long long)(s->size - covered));
	}
	*out = l;
	l = NULL;
	error = 0;
	goto done;
nomem:
	error = MVC_ENOMEM;
done:
	free(tail);
	free(cdbuf);
	free(mem);
	mvc_layout_free(l);
	return error;
}

int mvc_npz_parse(mvc_layout **out, const unsigned char *data, size_t len, uint64_t file_size,
                  const char *what)
{
	mvc__src s = { data, len, -1, file_size, what, "zip" };

	return npz_parse(out, &s);
}

int mvc__npz_read(mvc_layout **out, int fd, uint64_t file_size, const char *what)
{
	mvc__src s = { NULL, 0, fd, file_size, what, "zip" };

	return npz_parse(out, &s);
}
