/*
 * mkmodel: write deterministic safetensors files for tests, the demo and
 * the benchmarks.  Every row of every tensor comes from its own random
 * stream keyed by (seed, tensor, row, generation), so versions of a model
 * can be produced independently of each other:
 *
 *   mkmodel --preset recsys --size 1G --dtype f32 v1.safetensors
 *   mkmodel --preset recsys --size 1G --version 2 --retrain 0.05 v2.safetensors
 *   mkmodel --preset recsys --size 1G --nudge 1e-4 ft.safetensors
 *   mkmodel --tensor 'a:F32:4x3' --tensor 'b:I64:2' small.safetensors
 *
 * Other formats, for the format tests (shapes are given row-major):
 *
 *   mkmodel --format gguf --tensor 'w:Q8_0:4x64' --tensor 'b:F32:64' m.gguf
 *   mkmodel --format npy [--npy-version 2] [--big-endian] [--fortran] --tensor 'a:F32:3x4' a.npy
 *   mkmodel --format npz --tensor 'a:F32:3x4' --tensor 'b:I64:5' m.npz   (numpy.savez)
 *
 * GGUF files carry metadata of every value type and tensors padded to
 * 32 bytes; ggml block types get random blocks with a small scale.  The
 * .npz is what numpy.savez writes: stored members with ZIP64 extra fields.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXT 4096
#define MAXD 8

struct tensor {
	char name[512];
	char dtype[16];
	int ndim;
	uint64_t shape[MAXD];
	int kind;        /* 0 embedding rows (retrainable), 1 dense (nudged per version) */
};

static struct tensor ts[MAXT];
static int nt;
static uint64_t seed = 1;
static unsigned version = 1;
static double retrain = 0.05, nudge = 0, dense_nudge = 1e-3;
static const char *meta[64];
static int nmeta;
static int big_endian, fortran, npy_version = 1;

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t mix(uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
	uint64_t s = a * 0x100000001b3ULL ^ b;

	s = splitmix(&s) ^ c;
	s = splitmix(&s) ^ d;
	return splitmix(&s);
}

static double unif(uint64_t *s)
{
	return ((splitmix(s) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

static double normal(uint64_t *s)
{
	double u1 = unif(s), u2 = unif(s);

	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* ggml block types: type number, elements and bytes per block. */
static const struct { const char *name; unsigned id, elems, bytes; } ggml_blocks[] = {
	{ "Q4_0", 2, 32, 18 }, { "Q4_1", 3, 32, 20 }, { "Q5_0", 6, 32, 22 }, { "Q5_1", 7, 32, 24 },
	{ "Q8_0", 8, 32, 34 }, { "Q8_1", 9, 32, 36 }, { "Q2_K", 10, 256, 84 },
	{ "Q3_K", 11, 256, 110 }, { "Q4_K", 12, 256, 144 }, { "Q5_K", 13, 256, 176 },
	{ "Q6_K", 14, 256, 210 }, { "Q8_K", 15, 256, 292 }, { "IQ4_NL", 20, 32, 18 },
	{ "MXFP4", 39, 32, 17 },
};

static int block_type(const char *d)
{
	for (size_t i = 0; i < sizeof(ggml_blocks) / sizeof(ggml_blocks[0]); i++)
		if (!strcmp(d, ggml_blocks[i].name))
			return (int)i;
	return -1;
}

static unsigned dtype_bytes(const char *d)
{
	if (!strcmp(d, "F64") || !strcmp(d, "I64") || !strcmp(d, "U64") || !strcmp(d, "C64"))
		return 8;
	if (!strcmp(d, "F32") || !strcmp(d, "I32") || !strcmp(d, "U32"))
		return 4;
	if (!strcmp(d, "F16") || !strcmp(d, "BF16") || !strcmp(d, "I16") || !strcmp(d, "U16"))
		return 2;
	return 1;
}

static uint16_t to_bf16(float f)
{
	uint32_t u;

	memcpy(&u, &f, 4);
	if ((u & 0x7fffffff) > 0x7f800000)
		return (uint16_t)((u >> 16) | 0x40);
	u += 0x7fff + ((u >> 16) & 1);
	return (uint16_t)(u >> 16);
}

static uint16_t to_f16(float f)
{
	uint32_t u, sign, exp, man;

	memcpy(&u, &f, 4);
	sign = (u >> 16) & 0x8000;
	exp = (u >> 23) & 0xff;
	man = u & 0x7fffff;
	if (exp == 0xff)
		return (uint16_t)(sign | 0x7c00 | (man ? 0x200 : 0));
	int e = (int)exp - 127 + 15;
	if (e >= 31)
		return (uint16_t)(sign | 0x7c00);
	if (e <= 0) {
		if (e < -10)
			return (uint16_t)sign;
		man |= 0x800000;
		uint32_t shift = (uint32_t)(14 - e);
		uint32_t h = man >> shift, rem = man & ((1u << shift) - 1), half = 1u << (shift - 1);
		if (rem > half || (rem == half && (h & 1)))
			h++;
		return (uint16_t)(sign | h);
	}
	uint32_t h = (uint32_t)e << 10 | man >> 13, rem = man & 0x1fff;
	if (rem > 0x1000 || (rem == 0x1000 && (h & 1)))
		h++;
	return (uint16_t)(sign | h);
}

static void put_value(unsigned char *p, const char *dt, double v, uint64_t *s)
{
	if (!strcmp(dt, "F32")) {
		float f = (float)v;
		memcpy(p, &f, 4);
	} else if (!strcmp(dt, "F64")) {
		memcpy(p, &v, 8);
	} else if (!strcmp(dt, "BF16")) {
		uint16_t h = to_bf16((float)v);
		memcpy(p, &h, 2);
	} else if (!strcmp(dt, "F16")) {
		uint16_t h = to_f16((float)v);
		memcpy(p, &h, 2);
	} else if (!strcmp(dt, "BOOL")) {
		p[0] = splitmix(s) & 1;
	} else {
		uint64_t r = splitmix(s) % 1000;
		memcpy(p, &r, dtype_bytes(dt));
	}
}

static int is_float(const char *dt)
{
	return !strcmp(dt, "F32") || !strcmp(dt, "F64") || !strcmp(dt, "BF16") || !strcmp(dt, "F16");
}

/* The generation at which row r of tensor t was last retrained. */
static unsigned generation(int t, uint64_t r)
{
	unsigned g = 0;

	for (unsigned v = 2; v <= version; v++) {
		uint64_t h = mix(seed, (uint64_t)t, r, v + 0x1000);
		if ((double)(h >> 11) * (1.0 / 9007199254740992.0) < retrain)
			g = v;
	}
	return g;
}

static void gen_row(unsigned char *out, int t, uint64_t r, uint64_t rowlen)
{
	const struct tensor *T = &ts[t];
	int bt = block_type(T->dtype);

	if (bt >= 0) {
		/* random blocks, each with a small half-precision scale first */
		uint64_t s = mix(seed, (uint64_t)t, r, T->kind == 0 ? generation(t, r) : 0);
		unsigned bb = ggml_blocks[bt].bytes;

		for (uint64_t b = 0; b < rowlen / ggml_blocks[bt].elems; b++) {
			unsigned char *blk = out + b * bb;
			uint16_t d = to_f16((float)(0.001 + 0.01 * unif(&s)));

			for (unsigned k = 0; k < bb; k++)
				blk[k] = (unsigned char)splitmix(&s);
			blk[0] = (unsigned char)d;
			blk[1] = (unsigned char)(d >> 8);
		}
		return;
	}
	unsigned w = dtype_bytes(T->dtype);
	unsigned g = T->kind == 0 ? generation(t, r) : 0;
	uint64_t s = mix(seed, (uint64_t)t, r, g), ns = mix(seed ^ 0xabcdef, (uint64_t)t, r, version);
	double scale = T->kind == 1 ? 0.05 : 0.02;

	for (uint64_t i = 0; i < rowlen; i++) {
		double v = normal(&s) * scale;

		if (is_float(T->dtype)) {
			if (T->kind == 1 && version > 1)
				v += v * dense_nudge * normal(&ns) * (double)(version - 1);
			if (nudge > 0)
				v += v * nudge * normal(&ns);
		}
		put_value(out + i * w, T->dtype, v, &s);
	}
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static unsigned dtype_bits(const char *d)
{
	if (!strcmp(d, "F4"))
		return 4;
	if (!strncmp(d, "F6_", 3))
		return 6;
	return 8 * dtype_bytes(d);
}

static uint64_t tensor_bytes(const struct tensor *T)
{
	uint64_t n = dtype_bits(T->dtype);
	int bt = block_type(T->dtype);

	if (bt >= 0)
		n = 8 * ggml_blocks[bt].bytes;
	for (int d = 0; d < T->ndim; d++)
		n *= T->shape[d];
	return bt >= 0 ? n / 8 / ggml_blocks[bt].elems : n / 8;
}

/* The data of tensor t, row by row, into f (returns bytes written). */
static uint64_t write_data(FILE *f, int t)
{
	struct tensor *T = &ts[t];
	uint64_t rows = T->ndim ? T->shape[0] : 1, rowlen = 1, rowbytes;
	unsigned w = dtype_bytes(T->dtype);
	unsigned char *buf;

	if (dtype_bits(T->dtype) < 8 && block_type(T->dtype) < 0) {
		/* packed sub-byte types: random bytes */
		uint64_t s = mix(seed, (uint64_t)t, 0, 0);
		for (uint64_t b = 0; b < tensor_bytes(T); b++)
			fputc((int)(splitmix(&s) & 0xff), f);
		return tensor_bytes(T);
	}
	for (int d = 1; d < T->ndim; d++)
		rowlen *= T->shape[d];
	if (T->ndim == 1 && block_type(T->dtype) >= 0) {
		rows = 1;  /* a vector of blocks is one row */
		rowlen = T->shape[0];
	}
	rowbytes = rows ? tensor_bytes(T) / rows : 0;
	if (!(buf = malloc(rowbytes + rowlen * w + 1)))
		exit(1);
	for (uint64_t r = 0; r < rows; r++) {
		gen_row(buf, t, r, rowlen);
		if (big_endian && w > 1)
			for (uint64_t i = 0; i < rowlen * w; i += w)
				for (unsigned k = 0; k < w / 2; k++) {
					unsigned char c = buf[i + k];
					buf[i + k] = buf[i + w - 1 - k];
					buf[i + w - 1 - k] = c;
				}
		fwrite(buf, 1, rowbytes, f);
	}
	free(buf);
	return tensor_bytes(T);
}

static void le(FILE *f, uint64_t v, int n)
{
	for (int b = 0; b < n; b++)
		fputc((int)(v >> (8 * b)) & 0xff, f);
}

static void gguf_str(FILE *f, const char *s)
{
	le(f, strlen(s), 8);
	fputs(s, f);
}

static const struct { const char *name; unsigned id; } ggml_plain[] = {
	{ "F32", 0 }, { "F16", 1 }, { "I8", 24 }, { "I16", 25 }, { "I32", 26 }, { "I64", 27 },
	{ "F64", 28 }, { "BF16", 30 },
};

static int write_gguf(FILE *f)
{
	uint64_t off = 0;
	long pos;

	fputs("GGUF", f);
	le(f, 3, 4);
	le(f, (uint64_t)nt, 8);
	le(f, 8 + (uint64_t)nmeta, 8);
	/* metadata of every value type */
	gguf_str(f, "general.architecture"); le(f, 8, 4); gguf_str(f, "mvc-test");
	gguf_str(f, "general.alignment"); le(f, 4, 4); le(f, 32, 4);
	gguf_str(f, "mkmodel.u8"); le(f, 0, 4); le(f, 7, 1);
	gguf_str(f, "mkmodel.i16"); le(f, 3, 4); le(f, (uint64_t)-3, 2);
	gguf_str(f, "mkmodel.f32"); le(f, 6, 4); { float x = 3.25f; uint32_t u; memcpy(&u, &x, 4); le(f, u, 4); }
	gguf_str(f, "mkmodel.flag"); le(f, 7, 4); le(f, 1, 1);
	gguf_str(f, "mkmodel.seed"); le(f, 10, 4); le(f, seed, 8);
	/* an array of strings inside an array of arrays */
	gguf_str(f, "mkmodel.nested"); le(f, 9, 4); le(f, 9, 4); le(f, 2, 8);
	le(f, 8, 4); le(f, 2, 8); gguf_str(f, "alpha"); gguf_str(f, "beta");
	le(f, 12, 4); le(f, 1, 8); { double x = 0.5; uint64_t u; memcpy(&u, &x, 8); le(f, u, 8); }
	for (int m = 0; m < nmeta; m++) {
		char k[256];
		const char *eq = strchr(meta[m], '=');

		snprintf(k, sizeof(k), "%.*s", eq ? (int)(eq - meta[m]) : 0, meta[m]);
		gguf_str(f, k);
		le(f, 8, 4);
		gguf_str(f, eq ? eq + 1 : "");
	}
	for (int t = 0; t < nt; t++) {
		struct tensor *T = &ts[t];
		int bt = block_type(T->dtype), id = -1;

		for (size_t i = 0; i < sizeof(ggml_plain) / sizeof(ggml_plain[0]); i++)
			if (!strcmp(T->dtype, ggml_plain[i].name))
				id = (int)ggml_plain[i].id;
		if (bt >= 0)
			id = (int)ggml_blocks[bt].id;
		if (id < 0) {
			fprintf(stderr, "mkmodel: GGUF has no type %s\n", T->dtype);
			return 1;
		}
		gguf_str(f, T->name);
		le(f, (uint64_t)T->ndim, 4);
		for (int d = T->ndim - 1; d >= 0; d--)
			le(f, T->shape[d], 8);   /* ne[0] is the innermost */
		le(f, (uint64_t)id, 4);
		le(f, off, 8);
		off += (tensor_bytes(T) + 31) / 32 * 32;
	}
	for (pos = ftell(f); pos % 32; pos++)
		fputc(0, f);
	for (int t = 0; t < nt; t++)
		for (uint64_t n = write_data(f, t); n % 32; n++)
			fputc(0, f);
	return 0;
}

static const char *npy_descr(const char *d)
{
	static char buf[8];
	static const struct { const char *dt, *code; } map[] = {
		{ "F32", "f4" }, { "F16", "f2" }, { "F64", "f8" }, { "I8", "i1" }, { "U8", "u1" },
		{ "I16", "i2" }, { "U16", "u2" }, { "I32", "i4" }, { "U32", "u4" }, { "I64", "i8" },
		{ "U64", "u8" }, { "BOOL", "b1" }, { "C64", "c8" },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(d, map[i].dt)) {
			snprintf(buf, sizeof(buf), "%c%s", dtype_bytes(d) == 1 ? '|' : big_endian ? '>' : '<',
			    map[i].code);
			return buf;
		}
	return NULL;
}

/* One .npy file of tensor t (the header padded to 64 bytes, as numpy). */
static int write_npy(FILE *f, int t)
{
	struct tensor *T = &ts[t];
	const char *descr = npy_descr(T->dtype);
	char dict[1024], shape[512] = "";
	size_t n, pre = npy_version == 1 ? 10 : 12;

	if (!descr) {
		fprintf(stderr, "mkmodel: NumPy has no type %s\n", T->dtype);
		return 1;
	}
	for (int d = 0; d < T->ndim; d++) {
		/* a Fortran array's bytes lie as its transpose's: say so */
		uint64_t v = fortran ? T->shape[T->ndim - 1 - d] : T->shape[d];

		snprintf(shape + strlen(shape), sizeof(shape) - strlen(shape), "%llu, ",
		    (unsigned long long)v);
	}
	if (T->ndim > 1)
		shape[strlen(shape) - 2] = '\0';
	else if (T->ndim == 1)
		shape[strlen(shape) - 1] = '\0';
	snprintf(dict, sizeof(dict), "{'descr': '%s', 'fortran_order': %s, 'shape': (%s), }", descr,
	    fortran ? "True" : "False", shape);
	n = strlen(dict);
	while ((pre + n + 1) % 64)
		dict[n++] = ' ';
	dict[n++] = '\n';
	fwrite("\x93NUMPY", 1, 6, f);
	fputc(npy_version, f);
	fputc(0, f);
	le(f, n, npy_version == 1 ? 2 : 4);
	fwrite(dict, 1, n, f);
	write_data(f, t);
	return 0;
}

static uint32_t crc32(uint32_t crc, const unsigned char *p, size_t n)
{
	crc = ~crc;
	while (n--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = crc >> 1 ^ (0xedb88320u & (0u - (crc & 1)));
	}
	return ~crc;
}

/* A zip of stored .npy members, as numpy.savez writes it: each local
 * header has all-ones sizes and a ZIP64 extra field; the central
 * directory has plain sizes; no ZIP64 end record (nothing is that big). */
static int write_npz(FILE *f)
{
	uint64_t *offs = calloc((size_t)nt + 1, sizeof(uint64_t)), *sizes = calloc((size_t)nt + 1, 8);
	uint32_t *crcs = calloc((size_t)nt + 1, 4);
	long cd;

	for (int t = 0; t < nt; t++) {
		char *mem, name[600];
		size_t len;
		FILE *m = open_memstream(&mem, &len);

		if (write_npy(m, t))
			return 1;
		fclose(m);
		snprintf(name, sizeof(name), "%.500s.npy", ts[t].name);
		offs[t] = (uint64_t)ftell(f);
		sizes[t] = len;
		crcs[t] = crc32(0, (unsigned char *)mem, len);
		le(f, 0x04034b50, 4); le(f, 45, 2); le(f, 0, 2); le(f, 0, 2);
		le(f, 0, 2); le(f, 0x21, 2);                 /* 1980-01-01 00:00 */
		le(f, crcs[t], 4); le(f, 0xffffffffu, 4); le(f, 0xffffffffu, 4);
		le(f, strlen(name), 2); le(f, 20, 2);
		fputs(name, f);
		le(f, 1, 2); le(f, 16, 2); le(f, len, 8); le(f, len, 8);
		fwrite(mem, 1, len, f);
		free(mem);
	}
	cd = ftell(f);
	for (int t = 0; t < nt; t++) {
		char name[600];

		snprintf(name, sizeof(name), "%.500s.npy", ts[t].name);
		le(f, 0x02014b50, 4); le(f, 45, 2); le(f, 45, 2); le(f, 0, 2); le(f, 0, 2);
		le(f, 0, 2); le(f, 0x21, 2); le(f, crcs[t], 4); le(f, sizes[t], 4); le(f, sizes[t], 4);
		le(f, strlen(name), 2); le(f, 0, 2); le(f, 0, 2); le(f, 0, 2); le(f, 0, 2);
		le(f, 0x1800000, 4); le(f, offs[t], 4);
		fputs(name, f);
	}
	le(f, 0x06054b50, 4); le(f, 0, 2); le(f, 0, 2); le(f, (uint64_t)nt, 2); le(f, (uint64_t)nt, 2);
	le(f, (uint64_t)(ftell(f) - cd - 12), 4);
	le(f, (uint64_t)cd, 4); le(f, 0, 2);
	free(offs);
	free(sizes);
	free(crcs);
	return 0;
}

static uint64_t parse_size(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	switch (*end) {
	case 'k': case 'K': v *= 1024; break;
	case 'm': case 'M': v *= 1024 * 1024; break;
	case 'g': case 'G': v *= 1024.0 * 1024 * 1024; break;
	}
	return (uint64_t)v;
}

static void add(const char *name, const char *dt, int kind, int ndim, const uint64_t *shape)
{
	struct tensor *T = &ts[nt++];

	snprintf(T->name, sizeof(T->name), "%s", name);
	snprintf(T->dtype, sizeof(T->dtype), "%s", dt);
	T->kind = kind;
	T->ndim = ndim;
	memcpy(T->shape, shape, sizeof(uint64_t) * (size_t)ndim);
}

static void preset_recsys(uint64_t size, const char *dt, uint64_t extra_items)
{
	unsigned w = dtype_bytes(dt);
	uint64_t dim = 64, rows = size / (dim * w);
	uint64_t users = rows / 4, items = rows - users - 2048 + extra_items;
	uint64_t s2[2];

	s2[0] = users; s2[1] = dim;
	add("user_emb.weight", dt, 0, 2, s2);
	s2[0] = items;
	add("item_emb.weight", dt, 0, 2, s2);
	s2[0] = 256; s2[1] = 2 * dim;
	add("mlp.0.weight", dt, 1, 2, s2);
	add("mlp.0.bias", dt, 1, 1, s2);
	s2[0] = 64; s2[1] = 256;
	add("mlp.1.weight", dt, 1, 2, s2);
	add("mlp.1.bias", dt, 1, 1, s2);
	s2[0] = 1; s2[1] = 64;
	add("mlp.2.weight", dt, 1, 2, s2);
	add("mlp.2.bias", dt, 1, 1, s2);
	s2[0] = 1;
	add("step", "I64", 1, 0, s2);
}

static int usage(void)
{
	fprintf(stderr,
	    "usage: mkmodel [--seed N] [--version K] [--retrain FRAC] [--nudge REL]\n"
	    "               [--preset recsys --size BYTES [--dtype F32|BF16|F16] [--append-items N]]\n"
	    "               [--format safetensors|gguf|npy|npz] [--npy-version 1|2|3]\n"
	    "               [--big-endian] [--fortran]\n"
	    "               [--tensor NAME:DTYPE:D0xD1...]... [--meta K=V]... OUT\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *out = NULL, *preset = NULL, *dt = "F32", *format = "safetensors";
	uint64_t size = 64 << 20, extra = 0, off = 0, hlen;
	FILE *f, *hf;
	char *hdr;
	size_t hsz;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--seed") && v) seed = strtoull(v, NULL, 0), i++;
		else if (!strcmp(a, "--version") && v) version = (unsigned)atoi(v), i++;
		else if (!strcmp(a, "--retrain") && v) retrain = atof(v), i++;
		else if (!strcmp(a, "--nudge") && v) nudge = atof(v), i++;
		else if (!strcmp(a, "--dense-nudge") && v) dense_nudge = atof(v), i++;
		else if (!strcmp(a, "--preset") && v) preset = v, i++;
		else if (!strcmp(a, "--size") && v) size = parse_size(v), i++;
		else if (!strcmp(a, "--dtype") && v) dt = v, i++;
		else if (!strcmp(a, "--append-items") && v) extra = strtoull(v, NULL, 0), i++;
		else if (!strcmp(a, "--meta") && v && nmeta < 64) meta[nmeta++] = v, i++;
		else if (!strcmp(a, "--format") && v) format = v, i++;
		else if (!strcmp(a, "--npy-version") && v) npy_version = atoi(v), i++;
		else if (!strcmp(a, "--big-endian")) big_endian = 1;
		else if (!strcmp(a, "--fortran")) fortran = 1;
		else if (!strcmp(a, "--tensor") && v && nt < MAXT) {
			char buf[1024], *p, *q;
			uint64_t shape[MAXD];
			int nd = 0;

			snprintf(buf, sizeof(buf), "%s", v);
			i++;
			/* NAME:DTYPE:SHAPE, split from the right: names may hold ':' */
			if (!(q = strrchr(buf, ':')))
				return usage();
			*q++ = '\0';
			if (!(p = strrchr(buf, ':')))
				return usage();
			*p++ = '\0';
			for (char *s = strtok(q, "x"); s && nd < MAXD; s = strtok(NULL, "x"))
				shape[nd++] = strtoull(s, NULL, 10);
			if (!strcmp(q, "-"))
				nd = 0;
			add(buf, p, 0, nd, shape);
		} else if (a[0] != '-' && !out) out = a;
		else return usage();
	}
	if (!out)
		return usage();
	if (preset) {
		if (strcmp(preset, "recsys"))
			return usage();
		preset_recsys(size, dt, extra);
	}
	if (strcmp(format, "safetensors")) {
		int rc;

		if (!(f = fopen(out, "wb"))) {
			fprintf(stderr, "mkmodel: %s: %s\n", out, strerror(errno));
			return 1;
		}
		if (!strcmp(format, "gguf"))
			rc = write_gguf(f);
		else if (!strcmp(format, "npy") && nt == 1 && npy_version >= 1 && npy_version <= 3)
			rc = write_npy(f, 0);
		else if (!strcmp(format, "npz"))
			rc = write_npz(f);
		else
			rc = usage();
		if (fclose(f) != 0 || rc) {
			fprintf(stderr, "mkmodel: cannot write %s\n", out);
			return 1;
		}
		return 0;
	}
	/* header */
	hf = open_memstream(&hdr, &hsz);
	fputc('{', hf);
	if (nmeta) {
		fputs("\"__metadata__\":{", hf);
		for (int m = 0; m < nmeta; m++) {
			char k[256];
			const char *eq = strchr(meta[m], '=');
			snprintf(k, sizeof(k), "%.*s", eq ? (int)(eq - meta[m]) : 0, meta[m]);
			fputs(m ? "," : "", hf);
			json_str(hf, k);
			fputc(':', hf);
			json_str(hf, eq ? eq + 1 : "");
		}
		fputs("}", hf);
	}
	for (int t = 0; t < nt; t++) {
		uint64_t n = tensor_bytes(&ts[t]);

		fputs(t || nmeta ? "," : "", hf);
		json_str(hf, ts[t].name);
		fprintf(hf, ":{\"dtype\":\"%s\",\"shape\":[", ts[t].dtype);
		for (int d = 0; d < ts[t].ndim; d++)
			fprintf(hf, "%s%llu", d ? "," : "", (unsigned long long)ts[t].shape[d]);
		fprintf(hf, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
		    (unsigned long long)(off + n));
		off += n;
	}
	fputc('}', hf);
	while (ftell(hf) % 8)
		fputc(' ', hf);
	fclose(hf);
	if (!(f = fopen(out, "wb"))) {
		fprintf(stderr, "mkmodel: %s: %s\n", out, strerror(errno));
		return 1;
	}
	hlen = hsz;
	for (int b = 0; b < 8; b++)
		fputc((int)(hlen >> (8 * b)) & 0xff, f);
	fwrite(hdr, 1, hsz, f);
	free(hdr);
	for (int t = 0; t < nt; t++)
		write_data(f, t);
	if (fclose(f) != 0) {
		fprintf(stderr, "mkmodel: %s: %s\n", out, strerror(errno));
		return 1;
	}
	return 0;
}
