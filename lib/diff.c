/*
 * mvc diff: tensors of two sides compared by digest first, by value only
 * where the digests differ.
 *
 * A side is a stored file (a version's manifest and chunk blobs) or a file
 * on disk (hashed into a manifest whose chunk plan follows the other
 * side's, so that chunk i covers the same bytes on both).  Equal tensor
 * digests settle a tensor without reading it.  A changed tensor is cut
 * into work items of one chunk of the new side; items run on all cores
 * and their partial sums are merged in item order on the calling thread,
 * so the numbers do not depend on the thread count.  An item whose chunk
 * digests are equal on both sides is not compared: for a float tensor it
 * is read once, from one side, for the norms; otherwise it is not read.
 */
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "scan.h"
#include "pool.h"
#include "float.h"
#include "tensorio.h"
#include "upkeep.h"

/* Chunk plan for files compared outside a repository, and the work item
 * size when a stored chunk size is not a whole number of elements. */
#define DEFAULT_CHUNK ((uint64_t)1 << 20)
/* Elements converted to float at a time for F16 and BF16. */
#define BLOCK 1024

const char *mvc_diff_status_name(mvc_diff_status s)
{
	switch (s) {
	case MVC_DIFF_UNCHANGED: return "unchanged";
	case MVC_DIFF_CHANGED: return "changed";
	case MVC_DIFF_ADDED: return "added";
	case MVC_DIFF_REMOVED: return "removed";
	case MVC_DIFF_RENAMED: return "renamed";
	case MVC_DIFF_SHAPE_CHANGED: return "shape-changed";
	case MVC_DIFF_DTYPE_CHANGED: return "dtype-changed";
	}
	return "?";
}

const char *mvc_diff_compare_name(mvc_diff_compare c)
{
	switch (c) {
	case MVC_DIFF_COMPARE_NONE: return "none";
	case MVC_DIFF_COMPARE_FLOAT: return "float";
	case MVC_DIFF_COMPARE_EXACT: return "exact";
	case MVC_DIFF_COMPARE_BYTES: return "bytes";
	case MVC_DIFF_COMPARE_CHUNKS: return "chunks";
	}
	return "?";
}

/* ---- numbers ---- */

/* Statistics of a piece of a tensor; pieces merge in order. */
typedef struct acc {
	uint64_t elements, differ, bytes, nan, inf, nonfinite, decoded;
	long double sd, so, sn, dot;   /* sums of squares of diff, old, new; old . new */
	double max;
} acc;

static void acc_merge(acc *into, const acc *a)
{
	into->elements += a->elements;
	into->differ += a->differ;
	into->bytes += a->bytes;
	into->nan += a->nan;
	into->inf += a->inf;
	into->nonfinite += a->nonfinite;
	into->decoded += a->decoded;
	into->sd += a->sd;
	into->so += a->so;
	into->sn += a->sn;
	into->dot += a->dot;
	if (a->max > into->max)
		into->max = a->max;
}

static void count_bytes(acc *r, const unsigned char *a, const unsigned char *b, size_t len)
{
	const uint64_t lo7 = 0x7f7f7f7f7f7f7f7full, hi = 0x8080808080808080ull;
	uint64_t n = 0;
	size_t i = 0;

	/* eight bytes at a time: the top bit of each byte of m says "differs" */
	for (; i + 8 <= len; i += 8) {
		uint64_t x, y, m;

		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		x ^= y;
		m = (((x & lo7) + lo7) | x) & hi;
		n += (m >> 7) * 0x0101010101010101ull >> 56;
	}
	for (; i < len; i++)
		n += a[i] != b[i];
	r->bytes += n;
}

#define EXP32 0x7f800000u
#define EXP64 0x7ff0000000000000ull

/*
 * Float elements.  Pairs finite on both sides feed the sums; the others
 * are counted.  Bitwise equality decides "differ", so +0 and -0 differ
 * and a NaN equals only the same NaN.  Element i always goes to partial
 * sum i % 4 and the partial sums are added in a fixed order (the compiler
 * may not reassociate them): the result depends only on the data.
 */
typedef struct lanes {
	double sd[4], so[4], sn[4], dot[4], mx;
	uint64_t nan, inf, nonfin;
} lanes;

static inline void f32_one(lanes *l, unsigned k, float x, float y)
{
	uint32_t ux, uy;

	memcpy(&ux, &x, 4);
	memcpy(&uy, &y, 4);
	if ((ux & EXP32) != EXP32 && (uy & EXP32) != EXP32) {
		double dx = x, dy = y, d = dy - dx;

		l->sd[k] += d * d;
		l->so[k] += dx * dx;
		l->sn[k] += dy * dy;
		l->dot[k] += dx * dy;
		d = fabs(d);
		l->mx = d > l->mx ? d : l->mx;
		return;
	}
	if ((uy & EXP32) == EXP32) {
		if (uy & 0x7fffff)
			l->nan++;
		else
			l->inf++;
	}
	if (ux != uy && !(isnan(x) && isnan(y)))
		l->nonfin++;
}

static void k_f32(acc *r, const float *a, const float *b, size_t n)
{
	lanes l;
	uint64_t differ = 0;
	size_t i = 0;
	/* the lanes of the all-finite path live in registers */
	double sd0 = 0, sd1 = 0, sd2 = 0, sd3 = 0, so0 = 0, so1 = 0, so2 = 0, so3 = 0;
	double sn0 = 0, sn1 = 0, sn2 = 0, sn3 = 0, dt0 = 0, dt1 = 0, dt2 = 0, dt3 = 0;
	double m0 = r->max, m1 = 0, m2 = 0, m3 = 0;

	memset(&l, 0, sizeof(l));
#define LANE(k, SD, SO, SN, DT, M) do {                                         \
		double x_ = a[i + k], y_ = b[i + k], d_ = y_ - x_;             \
		SD += d_ * d_;                                                  \
		SO += x_ * x_;                                                  \
		SN += y_ * y_;                                                  \
		DT += x_ * y_;                                                  \
		d_ = fabs(d_);                                                  \
		M = d_ > M ? d_ : M;                                            \
	} while (0)
	for (; i + 4 <= n; i += 4) {
		uint32_t ua[4], ub[4], bad = 0;

		memcpy(ua, a + i, 16);
		memcpy(ub, b + i, 16);
		for (unsigned k = 0; k < 4; k++) {
			differ += ua[k] != ub[k];
			bad |= ((ua[k] & EXP32) == EXP32) | ((ub[k] & EXP32) == EXP32);
		}
		if (bad) {
			for (unsigned k = 0; k < 4; k++)
				f32_one(&l, k, a[i + k], b[i + k]);
			continue;
		}
		LANE(0, sd0, so0, sn0, dt0, m0);
		LANE(1, sd1, so1, sn1, dt1, m1);
		LANE(2, sd2, so2, sn2, dt2, m2);
		LANE(3, sd3, so3, sn3, dt3, m3);
	}
#undef LANE
	for (; i < n; i++) {
		uint32_t ua, ub;

		memcpy(&ua, a + i, 4);
		memcpy(&ub, b + i, 4);
		differ += ua != ub;
		f32_one(&l, (unsigned)(i & 3), a[i], b[i]);
	}
	l.sd[0] += sd0; l.sd[1] += sd1; l.sd[2] += sd2; l.sd[3] += sd3;
	l.so[0] += so0; l.so[1] += so1; l.so[2] += so2; l.so[3] += so3;
	l.sn[0] += sn0; l.sn[1] += sn1; l.sn[2] += sn2; l.sn[3] += sn3;
	l.dot[0] += dt0; l.dot[1] += dt1; l.dot[2] += dt2; l.dot[3] += dt3;
	m0 = m0 > m1 ? m0 : m1;
	m2 = m2 > m3 ? m2 : m3;
	m0 = m0 > m2 ? m0 : m2;
	r->elements += n;
	r->differ += differ;
	r->nan += l.nan;
	r->inf += l.inf;
	r->nonfinite += l.nonfin;
	r->sd += ((long double)l.sd[0] + l.sd[1]) + ((long double)l.sd[2] + l.sd[3]);
	r->so += ((long double)l.so[0] + l.so[1]) + ((long double)l.so[2] + l.so[3]);
	r->sn += ((long double)l.sn[0] + l.sn[1]) + ((long double)l.sn[2] + l.sn[3]);
	r->dot += ((long double)l.dot[0] + l.dot[1]) + ((long double)l.dot[2] + l.dot[3]);
	r->max = m0 > l.mx ? m0 : l.mx;
}

static void k_f64(acc *r, const unsigned char *a, const unsigned char *b, size_t n)
{
	long double sd = 0, so = 0, sn = 0, dot = 0;
	double mx = r->max;
	uint64_t differ = 0, nan = 0, inf = 0, nonfin = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t ua, ub;
		double x, y;

		memcpy(&ua, a + 8 * i, 8);
		memcpy(&ub, b + 8 * i, 8);
		memcpy(&x, &ua, 8);
		memcpy(&y, &ub, 8);
		differ += ua != ub;
		if ((ua & EXP64) != EXP64 && (ub & EXP64) != EXP64) {
			long double d = (long double)y - x;

			sd += d * d;
			so += (long double)x * x;
			sn += (long double)y * y;
			dot += (long double)x * y;
			d = fabsl(d);
			mx = (double)d > mx ? (double)d : mx;
		} else {
			if ((ub & EXP64) == EXP64) {
				if (ub & 0xfffffffffffffull)
					nan++;
				else
					inf++;
			}
			if (ua != ub && !(isnan(x) && isnan(y)))
				nonfin++;
		}
	}
	r->elements += n;
	r->differ += differ;
	r->nan += nan;
	r->inf += inf;
	r->nonfinite += nonfin;
	r->sd += sd;
	r->so += so;
	r->sn += sn;
	r->dot += dot;
	r->max = mx;
}

/* F16 and BF16 widen to float exactly and one-to-one, so bitwise
 * equality survives the conversion. */
static void k_half(acc *r, const unsigned char *a, const unsigned char *b, size_t n, int bf16)
{
	const float *f16_table = mvc__f16_table();
	float fa[BLOCK], fb[BLOCK];

	for (size_t i = 0; i < n; i += BLOCK) {
		size_t m = n - i < BLOCK ? n - i : BLOCK;

		for (size_t k = 0; k < m; k++) {
			uint16_t ha, hb;

			memcpy(&ha, a + 2 * (i + k), 2);
			memcpy(&hb, b + 2 * (i + k), 2);
			fa[k] = bf16 ? mvc_bf16_to_float(ha) : f16_table[ha];
			fb[k] = bf16 ? mvc_bf16_to_float(hb) : f16_table[hb];
		}
		k_f32(r, fa, fb, m);
	}
}

static void k_exact(acc *r, const unsigned char *a, const unsigned char *b, size_t len, unsigned w)
{
	uint64_t n = 0;

	switch (w) {
	case 2:
		for (size_t i = 0; i + 2 <= len; i += 2)
			n += memcmp(a + i, b + i, 2) != 0;
		break;
	case 4:
		for (size_t i = 0; i + 4 <= len; i += 4) {
			uint32_t x, y;
			memcpy(&x, a + i, 4);
			memcpy(&y, b + i, 4);
			n += x != y;
		}
		break;
	case 8:
		for (size_t i = 0; i + 8 <= len; i += 8) {
			uint64_t x, y;
			memcpy(&x, a + i, 8);
			memcpy(&y, b + i, 8);
			n += x != y;
		}
		break;
	default:
		for (size_t i = 0; i < len; i++)
			n += a[i] != b[i];
		w = 1;
	}
	r->elements += len / w;
	r->differ += n;
}

/* Big-endian element i of width w, as a little-endian one into dst. */
static void swap_elems(unsigned char *dst, const unsigned char *src, size_t n, unsigned w)
{
	for (size_t i = 0; i < n; i++)
		for (unsigned k = 0; k < w; k++)
			dst[i * w + k] = src[i * w + w - 1 - k];
}

/* ggml's Q8_0 and Q4_0 blocks to float, as ggml dequantises them
 * (x = d * q, d the block's half-precision scale). */
static void dequant(float *out, const unsigned char *blk, mvc_dtype dt)
{
	uint16_t h = (uint16_t)(blk[0] | blk[1] << 8);
	float d = mvc__f16_table()[h];

	if (dt == MVC_DTYPE_Q8_0) {
		for (int j = 0; j < 32; j++)
			out[j] = (float)(int8_t)blk[2 + j] * d;
	} else {
		for (int j = 0; j < 16; j++) {
			out[j] = (float)((blk[2 + j] & 0x0f) - 8) * d;
			out[j + 16] = (float)((blk[2 + j] >> 4) - 8) * d;
		}
	}
}

/* Float values that need converting first: big-endian floats are
 * byte-swapped, Q8_0 and Q4_0 blocks dequantised (whole blocks only). */
static void k_conv(acc *r, mvc_dtype dt, const unsigned char *a, const unsigned char *b,
                   size_t len)
{
	unsigned char sa[8 * BLOCK], sb[8 * BLOCK];
	float fa[BLOCK], fb[BLOCK];

	if (dt == MVC_DTYPE_Q8_0 || dt == MVC_DTYPE_Q4_0) {
		size_t bb = dt == MVC_DTYPE_Q8_0 ? 34 : 18, nb = len / bb, per = BLOCK / 32;

		for (size_t i = 0; i < nb; i += per) {
			size_t m = nb - i < per ? nb - i : per;

			for (size_t k = 0; k < m; k++) {
				dequant(fa + 32 * k, a + (i + k) * bb, dt);
				dequant(fb + 32 * k, b + (i + k) * bb, dt);
			}
			k_f32(r, fa, fb, 32 * m);
		}
		return;
	}
	{
		unsigned w = mvc_dtype_bits(dt) / 8;
		size_t n = len / w;

		for (size_t i = 0; i < n; i += BLOCK) {
			size_t m = n - i < BLOCK ? n - i : BLOCK;

			swap_elems(sa, a + i * w, m, w);
			swap_elems(sb, b + i * w, m, w);
			if (dt == MVC_DTYPE_F64_BE) {
				k_f64(r, sa, sb, m);
			} else if (dt == MVC_DTYPE_F16_BE) {
				k_half(r, sa, sb, m, 0);
			} else {
				memcpy(fa, sa, 4 * m);
				memcpy(fb, sb, 4 * m);
				k_f32(r, fa, fb, m);
			}
		}
	}
}

static mvc_diff_compare compare_kind(mvc_dtype dt)
{
	switch (dt) {
	case MVC_DTYPE_F64: case MVC_DTYPE_F32: case MVC_DTYPE_F16: case MVC_DTYPE_BF16:
	case MVC_DTYPE_F64_BE: case MVC_DTYPE_F32_BE: case MVC_DTYPE_F16_BE:
	case MVC_DTYPE_Q8_0: case MVC_DTYPE_Q4_0:
		return MVC_DIFF_COMPARE_FLOAT;
	case MVC_DTYPE_BOOL: case MVC_DTYPE_U8: case MVC_DTYPE_I8: case MVC_DTYPE_I16:
	case MVC_DTYPE_U16: case MVC_DTYPE_I32: case MVC_DTYPE_U32: case MVC_DTYPE_I64:
	case MVC_DTYPE_U64: case MVC_DTYPE_I16_BE: case MVC_DTYPE_U16_BE: case MVC_DTYPE_I32_BE:
	case MVC_DTYPE_U32_BE: case MVC_DTYPE_I64_BE: case MVC_DTYPE_U64_BE:
		return MVC_DIFF_COMPARE_EXACT;
	default:
		return MVC_DIFF_COMPARE_BYTES;
	}
}

/* Compare `len` bytes of one tensor (whole elements). */
static void compare(acc *r, mvc_diff_compare kind, mvc_dtype dt, const unsigned char *a,
                    const unsigned char *b, size_t len)
{
	if (a != b)
		count_bytes(r, a, b, len);
	switch (kind) {
	case MVC_DIFF_COMPARE_FLOAT:
		if (dt == MVC_DTYPE_F32) {
			/* buffers come from malloc and items are whole elements */
			k_f32(r, (const float *)(const void *)a, (const float *)(const void *)b, len / 4);
		} else if (dt == MVC_DTYPE_F64) {
			k_f64(r, a, b, len / 8);
		} else if (dt == MVC_DTYPE_F16 || dt == MVC_DTYPE_BF16) {
			k_half(r, a, b, len / 2, dt == MVC_DTYPE_BF16);
		} else {
			k_conv(r, dt, a, b, len);
		}
		break;
	case MVC_DIFF_COMPARE_EXACT:
		k_exact(r, a, b, len, mvc_dtype_bits(dt) / 8);
		break;
	default:
		break;
	}
}

/* ---- sides ---- */

typedef struct side {
	mvc_manifest *m;
	int hashed;              /* the manifest has chunk digests */
	int fd;                  /* a file on disk, else -1 (stored) */
	char *what;              /* for messages: "rev:path" or the path */
	git_repository *git;
	git_odb *odb;
	git_tree *ftree;         /* stored: the file's tree, and its "t" tree */
	git_tree *ttree;
} side;

static void side_clear(side *s)
{
	if (s->fd >= 0)
		close(s->fd);
	free(s->what);
	git_tree_free(s->ttree);
	git_tree_free(s->ftree);
	mvc_manifest_free(s->m);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}

/* The stored file `path` of a version; 1 (and nothing set) if the version
 * does not track it. */
static int side_stored(side *s, git_repository *git, git_odb *odb, const git_tree *root,
                       const char *rev, const char *path)
{
	mvc_buf what = MVC_BUF_INIT;
	const git_tree_entry *e;
	int error;

	s->fd = -1;
	if ((error = mvc__file_tree(&s->ftree, git, root, path)) == MVC_ENOTFOUND) {
		mvc_error_clear();
		return 1;
	}
	if (error < 0 || (error = mvc__tree_manifest(&s->m, git, s->ftree, path)) < 0 ||
	    (error = mvc_buf_printf(&what, "%s:%s", rev, path)) < 0)
		goto fail;
	s->what = mvc_buf_detach(&what);
	s->git = git;
	s->odb = odb;
	s->hashed = 1;
	if ((e = git_tree_entry_byname(s->ftree, "t")) &&
	    git_tree_lookup(&s->ttree, git, git_tree_entry_id(e)) < 0) {
		error = mvc__err_git(MVC_ECORRUPT, "'%s': cannot read the tensor table", path);
		goto fail;
	}
	return 0;
fail:
	mvc_buf_free(&what);
	side_clear(s);
	return error;
}

/* A model file on disk, chunked as `ref` where tensors match.  With
 * `keep_open`, its descriptor stays open for reading values. */
static int side_file(side *s, const char *fspath, const char *what, const mvc_manifest *ref,
                     uint64_t chunk_size, int keep_open, mvc_format forced)
{
	struct stat st;
	int error;

	s->fd = -1;
	if (!(s->what = mvc__strdup(what)))
		return MVC_ENOMEM;
	if ((error = mvc__scan_file_as(&s->m, fspath, what, ref, chunk_size, forced)) < 0)
		goto fail;
	s->hashed = 1;
	if (keep_open) {
		if ((s->fd = open(fspath, O_RDONLY | O_CLOEXEC)) < 0) {
			error = mvc__err_sys("cannot open '%s'", what);
			goto fail;
		}
		if (fstat(s->fd, &st) < 0 || (uint64_t)st.st_size != s->m->file_size) {
			error = mvc__err(MVC_EIO, "'%s' changed while being compared", what);
			goto fail;
		}
	}
	return 0;
fail:
	side_clear(s);
	return error;
}

/*
 * A model file on disk, parsed and chunked but not hashed: only its
 * non-tensor bytes get a digest.  For two loose files hashing would read
 * every byte to save reading them: comparing values reads each byte once.
 */
static int side_plan(side *s, const char *fspath, const mvc_manifest *ref, mvc_format forced)
{
	mvc_layout *l = NULL;
	struct stat st;
	int error;

	s->fd = -1;
	if (!(s->what = mvc__strdup(fspath)))
		return MVC_ENOMEM;
	if ((s->fd = open(fspath, O_RDONLY | O_CLOEXEC)) < 0) {
		error = mvc__err_sys("cannot open '%s'", fspath);
		goto fail;
	}
	if (fstat(s->fd, &st) < 0) {
		error = mvc__err_sys("cannot stat '%s'", fspath);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		error = mvc__err(MVC_EINVALID, "'%s' is not a regular file", fspath);
		goto fail;
	}
	if ((error = mvc__layout_read_for(&l, s->fd, (uint64_t)st.st_size, fspath, forced,
	         ref && ref->format != MVC_FORMAT_OPAQUE ? ref->format : MVC_FORMAT_UNKNOWN)) < 0 ||
	    (error = mvc__scan_plan(&s->m, l, ref, DEFAULT_CHUNK, s->fd, fspath)) < 0)
		goto fail;
	/* an opaque file is compared by its chunks' digests: hash it */
	if (l->format == MVC_FORMAT_OPAQUE) {
		if ((error = mvc__scan_read(s->m, s->fd, fspath, NULL)) < 0)
			goto fail;
		s->hashed = 1;
	} else if ((error = mvc__scan_gaps(s->m, s->fd, fspath, NULL)) < 0) {
		goto fail;
	}
	mvc_layout_free(l);
	return 0;
fail:
	mvc_layout_free(l);
	side_clear(s);
	return error;
}

/* Digests of one tensor of an unhashed file (to recognise a rename). */
static int hash_tensor(const side *s, mvc_manifest_tensor *mt)
{
	unsigned char *buf;
	int error = 0;

	if (!(buf = mvc__malloc((size_t)(mt->chunk_size < mt->t.size ? mt->chunk_size : mt->t.size))))
		return MVC_ENOMEM;
	for (uint64_t c = 0; c < mt->nchunks && !error; c++) {
		uint64_t off = mvc_manifest_chunk_offset(mt, c);
		size_t len = (size_t)mvc_manifest_chunk_len(mt, c);

		if ((error = mvc_read_at(s->fd, buf, len, mt->t.offset + off, s->what)) == 0)
			mvc_blake2b(mt->chunk_digests + c * MVC_DIGEST_SIZE, buf, len);
	}
	mvc_blake2b(mt->digest, mt->chunk_digests, (size_t)mt->nchunks * MVC_DIGEST_SIZE);
	free(buf);
	return error;
}

/* The chunk blobs of tensor i of a stored side. */
static int chunk_oids(git_oid **out, const side *s, size_t i)
{
	return mvc__chunk_oids(out, s->git, s->ttree, &s->m->tensors[i], i, s->what);
}

/* ---- matching tensors by name ---- */

static int cmp_mt(const void *x, const void *y)
{
	const mvc_manifest_tensor *a = *(const mvc_manifest_tensor *const *)x;
	const mvc_manifest_tensor *b = *(const mvc_manifest_tensor *const *)y;

	return strcmp(a->t.name, b->t.name);
}

static int cmp_entry(const void *x, const void *y)
{
	return strcmp(((const mvc_diff_tensor *)x)->name, ((const mvc_diff_tensor *)y)->name);
}

static const mvc_manifest_tensor **by_name(const mvc_manifest *m)
{
	size_t n = m ? m->ntensors : 0;
	const mvc_manifest_tensor **v = mvc__calloc(n + 1, sizeof(*v));

	if (!v)
		return NULL;
	for (size_t i = 0; i < n; i++)
		v[i] = &m->tensors[i];
	qsort(v, n, sizeof(*v), cmp_mt);
	return v;
}

static bool same_shape(const mvc_tensor *a, const mvc_tensor *b)
{
	if (a->ndim != b->ndim)
		return false;
	for (unsigned d = 0; d < a->ndim; d++)
		if (a->shape[d] != b->shape[d])
			return false;
	return true;
}

static uint64_t chunk_len(const mvc_manifest_tensor *mt, uint64_t c)
{
	return mvc_manifest_chunk_len(mt, c);
}

static bool aligned(const mvc_manifest_tensor *a, const mvc_manifest_tensor *b)
{
	return a->t.size == b->t.size && a->chunk_size == b->chunk_size &&
	    a->nchunks == b->nchunks && !a->chunk_offsets && !b->chunk_offsets;
}

static int cmp_digest(const void *a, const void *b)
{
	return memcmp(a, b, MVC_DIGEST_SIZE);
}

/* Content-defined chunks of b that a has nowhere: they changed; the rest
 * of b's bytes are shared with a. */
static void cdc_changes(mvc_diff_tensor *e, const mvc_manifest_tensor *a,
                        const mvc_manifest_tensor *b)
{
	unsigned char *sorted = malloc((size_t)a->nchunks * MVC_DIGEST_SIZE + 1);

	e->compared = MVC_DIFF_COMPARE_CHUNKS;
	if (sorted) {
		memcpy(sorted, a->chunk_digests, (size_t)a->nchunks * MVC_DIGEST_SIZE);
		qsort(sorted, (size_t)a->nchunks, MVC_DIGEST_SIZE, cmp_digest);
	}
	for (uint64_t c = 0; c < b->nchunks; c++)
		if (!sorted || !bsearch(b->chunk_digests + c * MVC_DIGEST_SIZE, sorted,
		                   (size_t)a->nchunks, MVC_DIGEST_SIZE, cmp_digest)) {
			e->chunks_changed++;
			e->chunk_bytes_changed += chunk_len(b, c);
		}
	e->bytes_changed = e->chunk_bytes_changed;
	free(sorted);
}

/* What the manifests alone say about a tensor. */
static void from_manifests(mvc_diff_tensor *e, const mvc_manifest_tensor *a,
                           const mvc_manifest_tensor *b, int hashed)
{
	const mvc_manifest_tensor *t = b ? b : a;

	e->chunks = t->nchunks;
	if (e->status == MVC_DIFF_UNCHANGED || e->status == MVC_DIFF_RENAMED)
		return;
	if (e->status == MVC_DIFF_CHANGED && a->chunk_offsets && b->chunk_offsets) {
		cdc_changes(e, a, b);
		return;
	}
	if (e->status == MVC_DIFF_CHANGED && !hashed)
		return;  /* counted while the values are compared */
	if (e->status == MVC_DIFF_CHANGED && aligned(a, b)) {
		for (uint64_t c = 0; c < b->nchunks; c++)
			if (memcmp(a->chunk_digests + c * MVC_DIGEST_SIZE,
			        b->chunk_digests + c * MVC_DIGEST_SIZE, MVC_DIGEST_SIZE)) {
				e->chunks_changed++;
				e->chunk_bytes_changed += chunk_len(b, c);
			}
		return;
	}
	e->chunks_changed = t->nchunks;
	e->chunk_bytes_changed = t->t.size;
	if (e->status != MVC_DIFF_CHANGED)
		e->bytes_changed = a && b && a->t.size > b->t.size ? a->t.size : t->t.size;
}

/* Hash both tensors of a possible rename (each once: a zero digest is
 * "not yet"; a real one is never all zeros in practice, and if it were it
 * would only be hashed again). */
static int hash_pair(side *sa, side *sb, const mvc_manifest_tensor *a, const mvc_manifest_tensor *b)
{
	static const unsigned char zero[MVC_DIGEST_SIZE];
	int error = 0;

	if (!memcmp(a->digest, zero, MVC_DIGEST_SIZE))
		error = hash_tensor(sa, (mvc_manifest_tensor *)a);
	if (!error && !memcmp(b->digest, zero, MVC_DIGEST_SIZE))
		error = hash_tensor(sb, (mvc_manifest_tensor *)b);
	return error;
}

/* The tensor table of one file pair, by name, with renames paired.  With
 * sides that are not hashed, every tensor found on both sides with the
 * same dtype and shape is a candidate (its values decide), and only
 * tensors that might be a rename get hashed. */
static int match(mvc_diff_file *f, const mvc_manifest *ma, const mvc_manifest *mb, side *sa,
                 side *sb)
{
	int hashed = (!sa || sa->hashed) && (!sb || sb->hashed);
	const mvc_manifest_tensor **va = by_name(ma), **vb = by_name(mb);
	const mvc_manifest_tensor **removed = NULL;
	size_t na = ma ? ma->ntensors : 0, nb = mb ? mb->ntensors : 0, i = 0, j = 0, nrem = 0;
	int error = 0;

	if (!va || !vb || !(f->tensors = mvc__calloc(na + nb + 1, sizeof(*f->tensors))) ||
	    !(removed = mvc__calloc(na + 1, sizeof(*removed)))) {
		error = MVC_ENOMEM;
		goto done;
	}
	while (i < na || j < nb) {
		int c = i == na ? 1 : j == nb ? -1 : strcmp(va[i]->t.name, vb[j]->t.name);
		mvc_diff_tensor *e;

		if (c < 0) {
			removed[nrem++] = va[i++];
			continue;
		}
		e = &f->tensors[f->count++];
		if (c > 0) {
			e->status = MVC_DIFF_ADDED;
			e->new_tensor = &vb[j++]->t;
			continue;
		}
		e->old_tensor = &va[i]->t;
		e->new_tensor = &vb[j]->t;
		if (va[i]->t.dtype != vb[j]->t.dtype)
			e->status = MVC_DIFF_DTYPE_CHANGED;
		else if (!same_shape(&va[i]->t, &vb[j]->t) &&
		         !(va[i]->chunk_offsets && vb[j]->chunk_offsets))  /* bytes: any size */
			e->status = MVC_DIFF_SHAPE_CHANGED;
		else if (hashed && va[i]->t.size == vb[j]->t.size &&
		         !memcmp(va[i]->digest, vb[j]->digest, MVC_DIGEST_SIZE))
			e->status = MVC_DIFF_UNCHANGED;
		else
			e->status = MVC_DIFF_CHANGED;
		i++;
		j++;
	}
	/* an added tensor whose contents a removed one had was renamed */
	for (size_t k = 0; k < f->count; k++) {
		mvc_diff_tensor *e = &f->tensors[k];
		const mvc_manifest_tensor *t = (const mvc_manifest_tensor *)(const void *)e->new_tensor;

		if (e->status != MVC_DIFF_ADDED)
			continue;
		for (size_t r = 0; r < nrem; r++) {
			if (!removed[r] || removed[r]->t.dtype != t->t.dtype ||
			    !same_shape(&removed[r]->t, &t->t) || removed[r]->t.size != t->t.size)
				continue;
			if (!hashed && (error = hash_pair(sa, sb, removed[r], t)) < 0)
				goto done;
			if (!memcmp(removed[r]->digest, t->digest, MVC_DIGEST_SIZE)) {
				e->status = MVC_DIFF_RENAMED;
				e->old_tensor = &removed[r]->t;
				e->old_name = removed[r]->t.name;
				removed[r] = NULL;
				break;
			}
		}
	}
	for (size_t r = 0; r < nrem; r++) {
		if (removed[r]) {
			mvc_diff_tensor *e = &f->tensors[f->count++];

			e->status = MVC_DIFF_REMOVED;
			e->old_tensor = &removed[r]->t;
		}
	}
	for (size_t k = 0; k < f->count; k++) {
		mvc_diff_tensor *e = &f->tensors[k];

		/* mvc_tensor is the first member of mvc_manifest_tensor */
		from_manifests(e, (const mvc_manifest_tensor *)(const void *)e->old_tensor,
		    (const mvc_manifest_tensor *)(const void *)e->new_tensor, hashed);
		e->name = e->new_tensor ? e->new_tensor->name : e->old_tensor->name;
	}
	qsort(f->tensors, f->count, sizeof(*f->tensors), cmp_entry);
done:
	free(va);
	free(vb);
	free(removed);
	return error;
}

/* ---- comparing values ---- */

typedef struct tjob {
	mvc_diff_tensor *e;
	const mvc_manifest_tensor *ta, *tb;
	mvc_diff_compare kind;
	uint64_t unit;           /* bytes per work item */
	uint64_t nunits;
	int aligned;             /* same chunk plan: item i is chunk i on both sides */
	int hashed;              /* and the chunk digests are known */
	git_oid *oa, *ob;        /* chunk blobs of stored sides */
	int values_only;         /* unchanged: read for its values (all_values) */
	size_t first;            /* its first work item */
	acc total;
} tjob;

typedef struct tctx {
	mvc_codec *codec;
	unsigned char *a, *b, *scratch;
} tctx;

typedef struct slot {
	size_t job;
	size_t len;
	acc acc;
} slot;

typedef struct run {
	const side *a, *b;
	tjob *jobs;
	size_t njobs;
	slot *slots;
	size_t window;
	tctx *threads;
} run;

static int chunk_error(const side *s, const mvc_manifest_tensor *mt, uint64_t c, int error)
{
	char why[512], q[MVC_QUOTE_MAX];

	snprintf(why, sizeof(why), "%s", mvc_error_last());
	return mvc__err(error, "'%s': tensor '%s': chunk %llu: %s", s->what,
	    mvc_quote(q, sizeof(q), mt->t.name), (unsigned long long)c, why);
}

static int check_digest(const side *s, const mvc_manifest_tensor *mt, uint64_t c,
                        const unsigned char *data, size_t len, const char *why)
{
	unsigned char d[MVC_DIGEST_SIZE];

	mvc_blake2b(d, data, len);
	if (memcmp(d, mt->chunk_digests + c * MVC_DIGEST_SIZE, MVC_DIGEST_SIZE)) {
		mvc__err(MVC_ECORRUPT, "fails its BLAKE2b digest (%s)", why);
		return chunk_error(s, mt, c, MVC_ECORRUPT);
	}
	return 0;
}

/* Chunk c of a stored tensor, whole, into dst; checked against its digest
 * when `verify` is set. */
static int load_chunk(const side *s, tctx *t, const mvc_manifest_tensor *mt, const git_oid *oids,
                      uint64_t c, unsigned char *dst, int verify, acc *r)
{
	size_t len = (size_t)chunk_len(mt, c);
	int error;

	if ((error = mvc__chunk_load(s->odb, t->codec, &oids[c], dst, len, NULL, NULL, NULL)) < 0)
		return chunk_error(s, mt, c, error);
	r->decoded++;
	return verify ? check_digest(s, mt, c, dst, len, "corrupt object") : 0;
}

/*
 * Chunk u of both stored sides into t->a and t->b.  When the new chunk is
 * a delta whose direct base is the old chunk's blob (the usual case
 * between a version and its parent), the old chunk is decoded once and the
 * delta applied to a copy of it.  Then only the new chunk is hashed: XOR
 * with a fixed delta is one-to-one, so the new chunk matches its digest
 * only if the base decoded to the very bytes the delta was made against,
 * and commit checked those against the old chunk's digest before using
 * them.
 */
static int load_pair(const run *r, const tjob *j, tctx *t, uint64_t u, size_t len, acc *sum)
{
	git_odb_object *obj = NULL;
	unsigned char base[20];
	unsigned depth;
	int error;

	if (git_odb_read(&obj, r->b->odb, &j->ob[u]) < 0 ||
	    git_odb_object_type(obj) != GIT_OBJECT_BLOB ||
	    mvc_codec_delta_info(git_odb_object_data(obj), git_odb_object_size(obj), base,
	        &depth) != 1 ||
	    memcmp(base, j->oa[u].id, sizeof(base))) {
		/* anything else (errors included) the general way */
		git_odb_object_free(obj);
		mvc_error_clear();
		if ((error = load_chunk(r->a, t, j->ta, j->oa, u, t->a, 1, sum)) < 0)
			return error;
		return load_chunk(r->b, t, j->tb, j->ob, u, t->b, 1, sum);
	}
	if ((error = load_chunk(r->a, t, j->ta, j->oa, u, t->a, 0, sum)) < 0)
		goto done;
	memcpy(t->b, t->a, len);
	if ((error = mvc_codec_decode(t->codec, t->b, len, git_odb_object_data(obj),
	         git_odb_object_size(obj))) < 0) {
		error = chunk_error(r->b, j->tb, u, error);
		goto done;
	}
	sum->decoded++;
	error = check_digest(r->b, j->tb, u, t->b, len, "corrupt object or delta base");
done:
	git_odb_object_free(obj);
	return error;
}

/* Bytes [off, off + len) of a tensor of side s into dst. */
static int side_read(const side *s, tctx *t, const mvc_manifest_tensor *mt, const git_oid *oids,
                     uint64_t off, size_t len, unsigned char *dst, acc *r)
{
	int error;

	if (s->fd >= 0)
		return mvc_read_at(s->fd, dst, len, mt->t.offset + off, s->what);
	while (len) {
		uint64_t c = mvc_manifest_chunk_at(mt, off), coff = off - mvc_manifest_chunk_offset(mt, c);
		size_t clen = (size_t)chunk_len(mt, c);
		size_t n = clen - coff < len ? (size_t)(clen - coff) : len;

		if (coff == 0 && n == clen) {
			error = load_chunk(s, t, mt, oids, c, dst, 1, r);
		} else {
			if ((error = load_chunk(s, t, mt, oids, c, t->scratch, 1, r)) == 0)
				memcpy(dst, t->scratch + coff, n);
		}
		if (error < 0)
			return error;
		dst += n;
		off += n;
		len -= n;
	}
	return 0;
}

static size_t find_job(const run *r, size_t item)
{
	size_t lo = 0, hi = r->njobs;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->jobs[mid].first <= item)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

static int diff_work(void *p, size_t item, unsigned thread)
{
	run *r = p;
	size_t ji = find_job(r, item);
	const tjob *j = &r->jobs[ji];
	tctx *t = &r->threads[thread];
	slot *s = &r->slots[item % r->window];
	uint64_t u = item - j->first, off = u * j->unit;
	size_t len = (size_t)(j->ta->t.size - off < j->unit ? j->ta->t.size - off : j->unit);
	int error;

	memset(s, 0, sizeof(*s));
	s->job = ji;
	s->len = len;
	if (j->aligned && j->hashed && !memcmp(j->ta->chunk_digests + u * MVC_DIGEST_SIZE,
	        j->tb->chunk_digests + u * MVC_DIGEST_SIZE, MVC_DIGEST_SIZE)) {
		/* equal: only the norms (and NaN counts) of a float tensor need it */
		if (j->kind != MVC_DIFF_COMPARE_FLOAT)
			return 0;
		if (r->b->fd >= 0 || r->a->fd < 0)
			error = side_read(r->b, t, j->tb, j->ob, off, len, t->b, &s->acc);
		else
			error = side_read(r->a, t, j->ta, j->oa, off, len, t->b, &s->acc);
		if (error < 0)
			return error;
		compare(&s->acc, j->kind, j->tb->t.dtype, t->b, t->b, len);
		return 0;
	}
	if (j->aligned && r->b->fd < 0 && r->a->fd < 0)
		error = load_pair(r, j, t, u, len, &s->acc);
	else if ((error = side_read(r->a, t, j->ta, j->oa, off, len, t->a, &s->acc)) == 0)
		error = side_read(r->b, t, j->tb, j->ob, off, len, t->b, &s->acc);
	if (error < 0)
		return error;
	compare(&s->acc, j->kind, j->tb->t.dtype, t->a, t->b, len);
	return 0;
}

static int diff_done(void *p, size_t item)
{
	run *r = p;
	const slot *s = &r->slots[item % r->window];
	tjob *j = &r->jobs[s->job];

	acc_merge(&j->total, &s->acc);
	if (!j->hashed && s->acc.bytes) {
		/* no digests to tell: the chunk changed if a byte did */
		j->e->chunks_changed++;
		j->e->chunk_bytes_changed += s->len;
	}
	return 0;
}

static void finish_tensor(mvc_diff_tensor *e, const acc *a)
{
	e->bytes_changed = a->bytes;
	if (e->compared == MVC_DIFF_COMPARE_BYTES)
		return;
	/* equal chunks of an integer tensor are skipped, not counted */
	e->elements = mvc_tensor_nelem(e->new_tensor);
	e->elements_changed = a->differ;
	e->fraction_changed = e->elements ? (double)a->differ / (double)e->elements : 0;
	if (e->compared != MVC_DIFF_COMPARE_FLOAT)
		return;
	e->l2_diff = (double)sqrtl(a->sd);
	e->l2_old = (double)sqrtl(a->so);
	e->l2_new = (double)sqrtl(a->sn);
	e->relative_defined = a->so > 0;
	e->relative = e->relative_defined ? (double)(sqrtl(a->sd) / sqrtl(a->so)) : 0;
	e->cosine_defined = a->so > 0 && a->sn > 0;
	if (e->cosine_defined) {
		long double c = a->dot / (sqrtl(a->so) * sqrtl(a->sn));

		e->cosine = (double)(c > 1 ? 1 : c < -1 ? -1 : c);
	}
	e->max_abs_diff = a->max;
	e->nan_count = a->nan;
	e->inf_count = a->inf;
	e->nonfinite_changed = a->nonfinite;
}

/* Compare the values of the changed tensors of a file pair (with `all`,
 * read unchanged float tensors too, for their NaN and Inf counts). */
static int compare_values(mvc_diff_file *f, const side *a, const side *b, unsigned nthreads,
                          int all, uint64_t *decoded)
{
	run r;
	size_t nitems = 0;
	uint64_t maxunit = 1, maxchunk = 1;
	int error = 0, need_scratch = 0;

	memset(&r, 0, sizeof(r));
	r.a = a;
	r.b = b;
	if (!(r.jobs = mvc__calloc(f->count + 1, sizeof(*r.jobs))))
		return MVC_ENOMEM;
	for (size_t k = 0; k < f->count; k++) {
		mvc_diff_tensor *e = &f->tensors[k];
		tjob *j = &r.jobs[r.njobs];
		unsigned w;

		if (e->status != MVC_DIFF_CHANGED &&
		    !(all && e->status == MVC_DIFF_UNCHANGED &&
		      compare_kind(e->new_tensor->dtype) == MVC_DIFF_COMPARE_FLOAT))
			continue;
		if (e->compared == MVC_DIFF_COMPARE_CHUNKS)
			continue;  /* an opaque file: its chunks' digests said it all */
		j->values_only = e->status == MVC_DIFF_UNCHANGED;
		j->e = e;
		j->ta = (const mvc_manifest_tensor *)(const void *)e->old_tensor;
		j->tb = (const mvc_manifest_tensor *)(const void *)e->new_tensor;
		j->kind = e->compared = compare_kind(j->tb->t.dtype);
		j->aligned = aligned(j->ta, j->tb);
		j->hashed = a->hashed && b->hashed;
		j->unit = j->tb->chunk_size;
		w = mvc_dtype_bits(j->tb->t.dtype) / 8;
		if (mvc_dtype_is_block(j->tb->t.dtype)) {
			unsigned belems;

			mvc_dtype_unit(j->tb->t.dtype, &belems, &w);  /* whole blocks */
		}
		if (!w)
			w = 1;
		if (j->unit == 0 || j->unit % w) {
			/* a plan that splits elements: whole elements, no skipping */
			j->unit = DEFAULT_CHUNK - DEFAULT_CHUNK % w;
			j->aligned = 0;
		}
		j->nunits = j->tb->t.size / j->unit + (j->tb->t.size % j->unit != 0);
		j->first = nitems;
		nitems += (size_t)j->nunits;
		if (j->unit > maxunit)
			maxunit = j->unit;
		if (!j->aligned) {
			need_scratch = 1;
			if (j->ta->chunk_size > maxchunk)
				maxchunk = j->ta->chunk_size;
			if (j->tb->chunk_size > maxchunk)
				maxchunk = j->tb->chunk_size;
		}
		if ((a->fd < 0 && (error = chunk_oids(&j->oa, a, (size_t)(j->ta - a->m->tensors))) < 0) ||
		    (b->fd < 0 && (error = chunk_oids(&j->ob, b, (size_t)(j->tb - b->m->tensors))) < 0)) {
			r.njobs++;
			goto done;
		}
		r.njobs++;
	}
	if (nitems) {
		if (nthreads > nitems)
			nthreads = (unsigned)nitems;
		r.window = 2 * (size_t)nthreads + 2;
		if (!(r.threads = mvc__calloc(nthreads, sizeof(*r.threads))) ||
		    !(r.slots = mvc__calloc(r.window, sizeof(*r.slots)))) {
			error = MVC_ENOMEM;
			goto done;
		}
		for (unsigned i = 0; i < nthreads; i++) {
			tctx *t = &r.threads[i];

			if ((error = mvc_codec_new(&t->codec)) < 0)
				goto done;
			if (!(t->a = mvc__malloc((size_t)maxunit)) || !(t->b = mvc__malloc((size_t)maxunit)) ||
			    (need_scratch && !(t->scratch = mvc__malloc((size_t)maxchunk)))) {
				error = MVC_ENOMEM;
				goto done;
			}
		}
		if ((error = mvc__pool_run(nitems, nthreads, r.window, diff_work, diff_done, &r)) < 0)
			goto done;
	}
	for (size_t k = 0; k < r.njobs; k++) {
		tjob *j = &r.jobs[k];

		finish_tensor(j->e, &j->total);
		*decoded += j->total.decoded;
		if (j->total.differ == 0 && j->total.bytes == 0 && !j->values_only) {
			/* equal values (under two chunk plans, or not hashed) */
			j->e->status = MVC_DIFF_UNCHANGED;
			j->e->compared = MVC_DIFF_COMPARE_NONE;
			j->e->chunks_changed = j->e->chunk_bytes_changed = 0;
		}
	}
done:
	for (size_t k = 0; k < r.njobs; k++) {
		free(r.jobs[k].oa);
		free(r.jobs[k].ob);
	}
	for (unsigned i = 0; r.threads && i < nthreads; i++) {
		mvc_codec_free(r.threads[i].codec);
		free(r.threads[i].a);
		free(r.threads[i].b);
		free(r.threads[i].scratch);
	}
	free(r.threads);
	free(r.slots);
	free(r.jobs);
	return error;
}

/* ---- files ---- */

typedef struct ctx {
	mvc_diff *d;
	size_t cap;
	const mvc_diff_options *opts;
	unsigned nthreads;
} ctx;

static int check_opts(const mvc_diff_options *o)
{
	if (!o || o->version != MVC_DIFF_OPTIONS_VERSION)
		return mvc__err(MVC_EINVALID, "bad diff options version");
	if (!(o->tolerance >= 0) || isinf(o->tolerance))
		return mvc__err(MVC_EINVALID, "the tolerance must be a finite number of at least 0");
	return 0;
}

static int ctx_init(ctx *c, const mvc_diff_options *opts)
{
	memset(c, 0, sizeof(*c));
	if (!(c->d = mvc__calloc(1, sizeof(*c->d))))
		return MVC_ENOMEM;
	c->opts = opts;
	c->d->stat = opts->stat;
	c->d->tolerance = opts->tolerance;
	c->nthreads = opts->threads ? opts->threads : mvc__pool_threads();
	return 0;
}

static mvc_diff_file *new_file(ctx *c, const char *path, const char *old_path)
{
	mvc_diff *d = c->d;
	mvc_diff_file *f;

	if (d->count == c->cap) {
		size_t nc = c->cap ? 2 * c->cap : 8;
		mvc_diff_file *n = realloc(d->files, nc * sizeof(*n));

		if (!n) {
			mvc__err(MVC_ENOMEM, "out of memory");
			return NULL;
		}
		d->files = n;
		c->cap = nc;
	}
	f = &d->files[d->count];
	memset(f, 0, sizeof(*f));
	if (!(f->path = mvc__strdup(path)) || !(f->old_path = mvc__strdup(old_path))) {
		free((char *)f->path);
		return NULL;
	}
	d->count++;
	return f;
}

/*
 * Diff one pair; a side without a manifest is absent.  The manifests move
 * into the file entry.  `same` (a working file known to equal the old
 * side) makes the old manifest stand for both.
 */
static int diff_pair(ctx *c, mvc_diff_file *f, side *a, side *b, int same)
{
	side *sa = a->m ? a : NULL, *sb = b->m && !same ? b : NULL;
	uint64_t decoded = 0;
	int error;

	if (same) {
		f->old_manifest = f->new_manifest = a->m;
	} else {
		f->old_manifest = a->m;
		f->new_manifest = b->m;
		b->m = NULL;
	}
	a->m = NULL;
	if (f->old_manifest && f->new_manifest && !same &&
	    f->old_manifest->format != f->new_manifest->format)
		return mvc__err(MVC_EUNSUPPORTED, "cannot compare '%s' (%s) with '%s' (%s)",
		    f->old_path, mvc_format_name(f->old_manifest->format), f->path,
		    mvc_format_name(f->new_manifest->format));
	if ((error = match(f, f->old_manifest, f->new_manifest, sa, sb)) < 0)
		return error;
	if (!c->opts->stat && !same) {
		/* the manifests are still reachable through the sides' readers */
		a->m = (mvc_manifest *)f->old_manifest;
		b->m = (mvc_manifest *)f->new_manifest;
		error = compare_values(f, a, b, c->nthreads, c->opts->all_values, &decoded);
		a->m = b->m = NULL;
		if (error < 0)
			return error;
		c->d->summary.chunks_decoded += decoded;
	}
	f->header_changed = f->old_manifest && f->new_manifest &&
	    memcmp(f->old_manifest->header_digest, f->new_manifest->header_digest, MVC_DIGEST_SIZE);
	for (size_t k = 0; k < f->count; k++) {
		mvc_diff_tensor *e = &f->tensors[k];

		f->tensors_total++;
		if (e->status == MVC_DIFF_UNCHANGED)
			continue;
		f->tensors_changed++;
		e->exceeds = 1;
		if (e->status == MVC_DIFF_CHANGED && e->compared == MVC_DIFF_COMPARE_FLOAT &&
		    c->opts->tolerance > 0 && e->nonfinite_changed == 0 &&
		    e->max_abs_diff <= c->opts->tolerance)
			e->exceeds = 0;
	}
	f->status = !f->old_manifest ? MVC_DIFF_ADDED : !f->new_manifest ? MVC_DIFF_REMOVED :
	    f->tensors_changed || f->header_changed ? MVC_DIFF_CHANGED : MVC_DIFF_UNCHANGED;
	return 0;
}

static void summarize(mvc_diff *d)
{
	mvc_diff_summary *s = &d->summary;

	for (size_t i = 0; i < d->count; i++) {
		const mvc_diff_file *f = &d->files[i];

		s->files++;
		s->files_changed += f->status != MVC_DIFF_UNCHANGED;
		s->tensors_total += f->tensors_total;
		s->tensors_changed += f->tensors_changed;
		if (f->status == MVC_DIFF_ADDED || f->status == MVC_DIFF_REMOVED || f->header_changed)
			s->differs = 1;
		for (size_t k = 0; k < f->count; k++) {
			const mvc_diff_tensor *e = &f->tensors[k];

			s->bytes_changed += e->bytes_changed;
			s->chunks += e->chunks;
			s->chunks_changed += e->chunks_changed;
			s->chunk_bytes_changed += e->chunk_bytes_changed;
			s->differs |= e->exceeds;
			if (e->status == MVC_DIFF_CHANGED && e->compared == MVC_DIFF_COMPARE_FLOAT &&
			    e->relative_defined && (!s->largest || e->relative > s->largest->relative)) {
				s->largest = e;
				s->largest_file = f;
			}
		}
	}
}

void mvc_diff_free(mvc_diff *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->count; i++) {
		mvc_diff_file *f = &d->files[i];

		if (f->new_manifest != f->old_manifest)
			mvc_manifest_free((mvc_manifest *)f->new_manifest);
		mvc_manifest_free((mvc_manifest *)f->old_manifest);
		free(f->tensors);
		free((char *)f->path);
		free((char *)f->old_path);
	}
	free(d->files);
	free(d);
}

/* The shard group of a path: "dir/model-00002-of-00005.safetensors" gives
 * "dir/model-*-of-00005.safetensors"; false for other names. */
static bool shard_group(char *out, size_t n, const char *path)
{
	const char *base = strrchr(path, '/'), *of, *p, *end;
	size_t len = strlen(path), suf = strlen(".safetensors");

	base = base ? base + 1 : path;
	if (len < suf || strcmp(path + len - suf, ".safetensors"))
		return false;
	end = path + len - suf;
	if (!(of = strstr(base, "-of-")) || of + 4 >= end)
		return false;
	for (p = of + 4; p < end; p++)
		if (*p < '0' || *p > '9')
			return false;
	for (p = of; p > base && p[-1] >= '0' && p[-1] <= '9'; p--)
		;
	if (p == of || p == base || p[-1] != '-')
		return false;
	return (size_t)snprintf(out, n, "%.*s*%s", (int)(p - path), path, of) < n;
}

/* Counts and status of a file from its tensor entries (as diff_pair). */
static void recount(mvc_diff_file *f, double tolerance)
{
	f->tensors_total = f->tensors_changed = 0;
	for (size_t k = 0; k < f->count; k++) {
		mvc_diff_tensor *e = &f->tensors[k];

		f->tensors_total++;
		e->exceeds = 0;
		if (e->status == MVC_DIFF_UNCHANGED)
			continue;
		f->tensors_changed++;
		e->exceeds = !(e->status == MVC_DIFF_CHANGED && e->compared == MVC_DIFF_COMPARE_FLOAT &&
		    tolerance > 0 && e->nonfinite_changed == 0 && e->max_abs_diff <= tolerance);
	}
	if (f->old_manifest && f->new_manifest)
		f->status = f->tensors_changed || f->header_changed ? MVC_DIFF_CHANGED
		                                                    : MVC_DIFF_UNCHANGED;
}

/*
 * Tensors that moved between shards of one model: a tensor removed from
 * one shard and added to another of the same group is one tensor (the
 * issue: diff addresses tensors by name across shards).
 */
static void cross_shards(mvc_diff *d, double tolerance)
{
	char gi[4096], gj[4096];
	int moved = 0;

	for (size_t i = 0; i < d->count; i++) {
		mvc_diff_file *fi = &d->files[i];

		if (!fi->old_manifest || !fi->new_manifest ||
		    !shard_group(gi, sizeof(gi), fi->path))
			continue;
		for (size_t r = 0; r < fi->count; r++) {
			mvc_diff_tensor *er = &fi->tensors[r];

			if (er->status != MVC_DIFF_REMOVED)
				continue;
			for (size_t j = 0; j < d->count && !er->new_tensor; j++) {
				mvc_diff_file *fj = &d->files[j];

				if (j == i || !fj->old_manifest || !fj->new_manifest ||
				    !shard_group(gj, sizeof(gj), fj->path) || strcmp(gi, gj))
					continue;
				for (size_t a = 0; a < fj->count; a++) {
					mvc_diff_tensor *ea = &fj->tensors[a];
					const mvc_manifest_tensor *ot, *nt;

					if (ea->status != MVC_DIFF_ADDED || strcmp(ea->name, er->name))
						continue;
					ot = (const mvc_manifest_tensor *)(const void *)er->old_tensor;
					nt = (const mvc_manifest_tensor *)(const void *)ea->new_tensor;
					ea->old_tensor = er->old_tensor;
					ea->moved_from = fi->path;
					ea->compared = MVC_DIFF_COMPARE_NONE;
					ea->chunks_changed = ea->chunk_bytes_changed = ea->bytes_changed = 0;
					if (ot->t.dtype == nt->t.dtype && ot->t.size == nt->t.size &&
					    same_shape(&ot->t, &nt->t) &&
					    !memcmp(ot->digest, nt->digest, MVC_DIGEST_SIZE)) {
						ea->status = MVC_DIFF_UNCHANGED;
					} else {
						ea->status = MVC_DIFF_CHANGED;  /* moved and changed: not compared */
						ea->chunks_changed = nt->nchunks;
						ea->chunk_bytes_changed = ea->bytes_changed =
						    ot->t.size > nt->t.size ? ot->t.size : nt->t.size;
					}
					/* a removed entry has no new side: one marks it taken */
					er->new_tensor = er->old_tensor;
					moved = 1;
					break;
				}
			}
		}
	}
	if (!moved)
		return;
	for (size_t i = 0; i < d->count; i++) {
		mvc_diff_file *f = &d->files[i];
		size_t n = 0;

		for (size_t k = 0; k < f->count; k++)
			if (!(f->tensors[k].status == MVC_DIFF_REMOVED && f->tensors[k].new_tensor))
				f->tensors[n++] = f->tensors[k];
		f->count = n;
		recount(f, tolerance);
	}
}

static int finish(mvc_diff **out, ctx *c, int error)
{
	if (error < 0) {
		mvc_diff_free(c->d);
		return error;
	}
	cross_shards(c->d, c->opts->tolerance);
	summarize(c->d);
	*out = c->d;
	return 0;
}

/* ---- which files ---- */

/* The union of two sorted path lists, kept to `paths` when given (each of
 * which must be in the union). */
static int file_set(char ***out, size_t *count, char **x, size_t nx, char **y, size_t ny,
                    const char *const *paths, size_t npaths, const char *where)
{
	char **v = mvc__calloc(nx + ny + 1, sizeof(*v));
	size_t n = 0, i = 0, j = 0;

	*out = NULL;
	*count = 0;
	if (!v)
		return MVC_ENOMEM;
	while (i < nx || j < ny) {
		int c = i == nx ? 1 : j == ny ? -1 : strcmp(x[i], y[j]);
		const char *p = c <= 0 ? x[i] : y[j];
		bool want = npaths == 0;

		for (size_t k = 0; k < npaths && !want; k++)
			want = !strcmp(paths[k], p);
		if (want && !(v[n++] = mvc__strdup(p))) {
			mvc_strings_free(v, n);
			return MVC_ENOMEM;
		}
		i += c <= 0;
		j += c >= 0;
	}
	for (size_t k = 0; k < npaths; k++) {
		bool found = false;

		for (size_t m = 0; m < n && !found; m++)
			found = !strcmp(v[m], paths[k]);
		if (!found) {
			char q[MVC_QUOTE_MAX];

			mvc_strings_free(v, n);
			return mvc__err(MVC_ENOTFOUND, "'%s' is not tracked in %s",
			    mvc_quote(q, sizeof(q), paths[k]), where);
		}
	}
	*out = v;
	*count = n;
	return 0;
}

static int open_tree(git_commit **c, git_tree **root, git_repository *git, const char *rev)
{
	int error;

	if ((error = mvc__resolve(c, git, rev)) < 0)
		return error;
	if (git_commit_tree(root, *c) < 0)
		return mvc__err_git(MVC_ECORRUPT, "cannot read version '%s'", rev);
	return 0;
}

int mvc_diff_versions(mvc_diff **out, mvc_repo *repo, const char *old_rev, const char *new_rev,
                      const char *const *paths, size_t npaths, const mvc_diff_options *opts)
{
	git_repository *git = mvc__repo_git(repo);
	git_commit *ca = NULL, *cb = NULL;
	git_tree *ra = NULL, *rb = NULL;
	git_odb *odb = NULL;
	char **fa = NULL, **fb = NULL, **files = NULL;
	size_t nfa = 0, nfb = 0, nfiles = 0;
	mvc_buf where = MVC_BUF_INIT;
	ctx c;
	int error;

	*out = NULL;
	if ((error = check_opts(opts)) < 0)
		return error;
	if ((error = ctx_init(&c, opts)) < 0)
		return error;
	if ((error = open_tree(&ca, &ra, git, old_rev)) < 0 ||
	    (error = open_tree(&cb, &rb, git, new_rev)) < 0 ||
	    (error = mvc__tree_files(&fa, &nfa, git, ra)) < 0 ||
	    (error = mvc__tree_files(&fb, &nfb, git, rb)) < 0 ||
	    (error = mvc_buf_printf(&where, "'%s' or '%s'", old_rev, new_rev)) < 0 ||
	    (error = file_set(&files, &nfiles, fa, nfa, fb, nfb, paths, npaths, where.ptr)) < 0)
		goto done;
	if (git_repository_odb(&odb, git) < 0) {
		error = mvc__err_git(MVC_ERROR, "cannot open the object database");
		goto done;
	}
	for (size_t i = 0; i < nfiles; i++) {
		side a, b;
		mvc_diff_file *f;

		memset(&a, 0, sizeof(a));
		memset(&b, 0, sizeof(b));
		a.fd = b.fd = -1;
		if ((error = side_stored(&a, git, odb, ra, old_rev, files[i])) < 0 ||
		    (error = side_stored(&b, git, odb, rb, new_rev, files[i])) < 0 ||
		    (error = (f = new_file(&c, files[i], files[i])) ? 0 : MVC_ENOMEM) < 0 ||
		    (error = diff_pair(&c, f, &a, &b, 0)) < 0) {
			side_clear(&a);
			side_clear(&b);
			goto done;
		}
		side_clear(&a);
		side_clear(&b);
	}
done:
	/* a version whose data mvc prune dropped says so */
	if (error == MVC_ECORRUPT)
		error = mvc__prune_explain_rev(error, repo, old_rev);
	if (error == MVC_ECORRUPT)
		error = mvc__prune_explain_rev(error, repo, new_rev);
	mvc_buf_free(&where);
	mvc_strings_free(files, nfiles);
	mvc_strings_free(fa, nfa);
	mvc_strings_free(fb, nfb);
	git_odb_free(odb);
	git_tree_free(ra);
	git_tree_free(rb);
	git_commit_free(ca);
	git_commit_free(cb);
	return finish(out, &c, error);
}

int mvc_diff_workdir(mvc_diff **out, mvc_repo *repo, const char *old_rev,
                     const char *const *paths, size_t npaths, const mvc_diff_options *opts)
{
	git_repository *git = mvc__repo_git(repo);
	git_commit *ca = NULL, *head = NULL;
	git_tree *ra = NULL, *rh = NULL;
	git_odb *odb = NULL;
	char **fa = NULL, **fh = NULL, **files = NULL;
	size_t nfa = 0, nfh = 0, nfiles = 0;
	mvc_buf where = MVC_BUF_INIT;
	mvc_state st;
	uint64_t chunk_size;
	ctx c;
	int error;

	*out = NULL;
	memset(&st, 0, sizeof(st));
	if ((error = check_opts(opts)) < 0)
		return error;
	if ((error = ctx_init(&c, opts)) < 0)
		return error;
	if ((error = mvc_repo_chunk_size(&chunk_size, repo)) < 0 ||
	    (error = open_tree(&ca, &ra, git, old_rev)) < 0 ||
	    (error = mvc__tree_files(&fa, &nfa, git, ra)) < 0)
		goto done;
	/* the working files are what HEAD tracks, as they are now */
	if (mvc__resolve(&head, git, "HEAD") == 0 && git_commit_tree(&rh, head) == 0 &&
	    (error = mvc__tree_files(&fh, &nfh, git, rh)) < 0)
		goto done;
	mvc_error_clear();
	if ((error = mvc_buf_printf(&where, strcmp(old_rev, "HEAD") ? "'%s' or 'HEAD'" : "'%s'",
	         old_rev)) < 0 ||
	    (error = file_set(&files, &nfiles, fa, nfa, fh, nfh, paths, npaths, where.ptr)) < 0 ||
	    (error = mvc__state_load(&st, repo)) < 0)
		goto done;
	if (git_repository_odb(&odb, git) < 0) {
		error = mvc__err_git(MVC_ERROR, "cannot open the object database");
		goto done;
	}
	for (size_t i = 0; i < nfiles; i++) {
		mvc_buf fs = MVC_BUF_INIT;
		mvc_state_entry *e = mvc__state_get(&st, files[i]);
		mvc_diff_file *f;
		side a, b;
		struct stat sb;
		int same = 0;

		memset(&a, 0, sizeof(a));
		memset(&b, 0, sizeof(b));
		a.fd = b.fd = -1;
		if ((error = mvc_buf_printf(&fs, "%s/%s", mvc_repo_workdir(repo), files[i])) < 0 ||
		    (error = side_stored(&a, git, odb, ra, old_rev, files[i])) < 0)
			goto next;
		if (lstat(fs.ptr, &sb) < 0) {
			if (!a.m)
				goto next;  /* neither side has it */
		} else if (a.m && mvc__state_fresh(e, fs.ptr) &&
		           !memcmp(e->digest, a.m->digest, MVC_DIGEST_SIZE)) {
			same = 1;   /* the stat cache vouches for it: not even hashed */
		} else if ((error = side_file(&b, fs.ptr, files[i], a.m, chunk_size,
		                !opts->stat, MVC_FORMAT_UNKNOWN)) < 0) {
			goto next;
		}
		if (!(f = new_file(&c, files[i], files[i])))
			error = MVC_ENOMEM;
		else
			error = diff_pair(&c, f, &a, &b, same);
next:
		side_clear(&a);
		side_clear(&b);
		mvc_buf_free(&fs);
		if (error < 0)
			goto done;
	}
done:
	mvc__state_free(&st);
	mvc_buf_free(&where);
	mvc_strings_free(files, nfiles);
	mvc_strings_free(fa, nfa);
	mvc_strings_free(fh, nfh);
	git_odb_free(odb);
	git_tree_free(ra);
	git_tree_free(rh);
	git_commit_free(ca);
	git_commit_free(head);
	return finish(out, &c, error);
}

int mvc_diff_files(mvc_diff **out, const char *old_path, const char *new_path,
                   const mvc_diff_options *opts)
{
	side a, b;
	mvc_diff_file *f;
	ctx c;
	int error;

	*out = NULL;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.fd = b.fd = -1;
	if ((error = check_opts(opts)) < 0 || (error = mvc__global_init()) < 0)
		return error;
	if ((error = ctx_init(&c, opts)) < 0)
		return error;
	/* --stat answers from digests; otherwise comparing reads less than
	 * hashing would */
	if ((error = opts->stat ? side_file(&a, old_path, old_path, NULL, DEFAULT_CHUNK, 0,
	                                    opts->format)
	                        : side_plan(&a, old_path, NULL, opts->format)) < 0)
		goto done;
	if ((error = opts->stat ? side_file(&b, new_path, new_path,
	                                    a.m->format == MVC_FORMAT_OPAQUE ? NULL : a.m,
	                                    DEFAULT_CHUNK, 0, opts->format)
	                        : side_plan(&b, new_path, a.m, opts->format)) < 0) {
		if (error == MVC_EUNSUPPORTED || error == MVC_EFORMAT) {
			char why[512];

			snprintf(why, sizeof(why), "%s", mvc_error_last());
			error = mvc__err(error, "cannot compare '%s' (%s) with '%s': %s", old_path,
			    mvc_format_name(a.m->format), new_path, why);
		}
		goto done;
	}
	if (!(f = new_file(&c, new_path, old_path)))
		error = MVC_ENOMEM;
	else
		error = diff_pair(&c, f, &a, &b, 0);
done:
	side_clear(&a);
	side_clear(&b);
	return finish(out, &c, error);
}
