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

	for (int d = 0; d < T->ndim; d++)
		n *= T->shape[d];
	return n / 8;
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
	    "               [--tensor NAME:DTYPE:D0xD1...]... [--meta K=V]... OUT\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *out = NULL, *preset = NULL, *dt = "F32";
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
	for (int t = 0; t < nt; t++) {
		struct tensor *T = &ts[t];
		uint64_t rows = T->ndim ? T->shape[0] : 1, rowlen = 1;
		unsigned w = dtype_bytes(T->dtype);
		unsigned char *buf;

		if (dtype_bits(T->dtype) < 8) {
			/* packed sub-byte types: random bytes */
			uint64_t s = mix(seed, (uint64_t)t, 0, 0);
			for (uint64_t b = 0; b < tensor_bytes(T); b++)
				fputc((int)(splitmix(&s) & 0xff), f);
			continue;
		}
		for (int d = 1; d < T->ndim; d++)
			rowlen *= T->shape[d];
		if (!(buf = malloc(rowlen * w + 1)))
			return 1;
		for (uint64_t r = 0; r < rows; r++) {
			gen_row(buf, t, r, rowlen);
			fwrite(buf, w, rowlen, f);
		}
		free(buf);
	}
	if (fclose(f) != 0) {
		fprintf(stderr, "mkmodel: %s: %s\n", out, strerror(errno));
		return 1;
	}
	return 0;
}
