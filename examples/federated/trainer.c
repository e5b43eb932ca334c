/*
 * trainer: the local training of the federated round (examples/federated/
 * round.sh), small enough to read in one sitting.
 *
 * The model is a matrix-factorisation recommender: a rating of item i by
 * user u is predicted as the dot product of the user's and the item's
 * embeddings, user_emb[u] . item_emb[i], two float32 tensors in a
 * safetensors file that this program reads and writes itself.
 *
 * The data are synthetic: a "world" (from --world-seed) gives every user
 * and item hidden factors, and a rating is their dot product plus noise.
 * A site draws its own interactions from the world with its own seed,
 * among its own band of users (sites see different people: the data are
 * not identically distributed), so that no two sites train on the same
 * examples and none needs to see another's.
 *
 *   trainer init  --users U --items I --dim D --seed S OUT
 *   trainer train --site-seed S --examples N [--users-from A --users-to B]
 *                 [--epochs E] [--lr X] [--world-seed W] IN OUT
 *   trainer eval  --seed S --examples N [--world-seed W] MODEL
 *
 * train prints "num-examples=N" (what mvc commit --meta records for
 * FedAvg); eval prints the root mean squared error on held-out ratings as
 * a JSON object on its last line, {"rmse": ..., "examples": N}, the form
 * an evaluator run by `mvc score --eval command` returns.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRUE_DIM 4          /* the world's hidden factors per user and item */
#define NOISE 0.1           /* standard deviation of the ratings' noise */
#define HEADER_MAX 4096     /* a model header longer than this is not ours */
#define SIZE_MAX_ (1u << 20) /* users, items: at most this many */
#define DIM_MAX 256

/* ---- deterministic randomness: splitmix64 ---- */

static uint64_t next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double uniform(uint64_t *s)
{
	return ((double)(next(s) >> 11) + 0.5) / 9007199254740992.0;
}

static double normal(uint64_t *s)
{
	return sqrt(-2.0 * log(uniform(s))) * cos(6.283185307179586 * uniform(s));
}

/* A stream of its own for (seed, kind, index): the world's factors do not
 * depend on the order anything asks for them. */
static uint64_t stream(uint64_t seed, uint64_t kind, uint64_t index)
{
	uint64_t s = seed ^ (kind * 0x100000001b3ULL);

	s = next(&s) ^ index;
	return next(&s);
}

/* ---- the model ---- */

typedef struct model {
	uint32_t users, items, dim;
	float *user, *item;     /* users x dim, items x dim, row-major */
} model;

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "trainer: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(2);
}

static void *alloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (!p)
		die("out of memory%s", "");
	return p;
}

static void put_f32(unsigned char *p, float f)
{
	uint32_t u;

	memcpy(&u, &f, 4);
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(u >> (8 * i));
}

static float get_f32(const unsigned char *p)
{
	uint32_t u = 0;
	float f;

	for (int i = 0; i < 4; i++)
		u |= (uint32_t)p[i] << (8 * i);
	memcpy(&f, &u, 4);
	return f;
}

static void save(const model *m, const char *path)
{
	size_t ni = (size_t)m->items * m->dim * 4, nu = (size_t)m->users * m->dim * 4;
	char hdr[HEADER_MAX];
	unsigned char len8[8], *data;
	int n = snprintf(hdr, sizeof(hdr),
	    "{\"item_emb\":{\"dtype\":\"F32\",\"shape\":[%u,%u],\"data_offsets\":[0,%zu]},"
	    "\"user_emb\":{\"dtype\":\"F32\",\"shape\":[%u,%u],\"data_offsets\":[%zu,%zu]}}",
	    m->items, m->dim, ni, m->users, m->dim, ni, ni + nu);
	FILE *f;

	while (n % 8)           /* the data start 8-byte aligned */
		hdr[n++] = ' ';
	for (int i = 0; i < 8; i++)
		len8[i] = (unsigned char)((uint64_t)n >> (8 * i));
	data = alloc(ni + nu, 1);
	for (size_t i = 0; i < (size_t)m->items * m->dim; i++)
		put_f32(data + 4 * i, m->item[i]);
	for (size_t i = 0; i < (size_t)m->users * m->dim; i++)
		put_f32(data + ni + 4 * i, m->user[i]);
	if (!(f = fopen(path, "wb")) || fwrite(len8, 1, 8, f) != 8 ||
	    fwrite(hdr, 1, (size_t)n, f) != (size_t)n || fwrite(data, 1, ni + nu, f) != ni + nu ||
	    fclose(f) != 0)
		die("cannot write '%s'", path);
	free(data);
}

/* The shape and data offsets of tensor `name` in header `h`. */
static void find_tensor(const char *h, const char *name, unsigned long shape[2],
                        unsigned long off[2], const char *path)
{
	char key[64];
	const char *p, *end, *s, *o;

	snprintf(key, sizeof(key), "\"%s\"", name);
	if (!(p = strstr(h, key)) || !(end = strchr(p, '}')))
		die("'%s' has no tensor of the trainer's model (user_emb, item_emb)", path);
	s = strstr(p, "\"shape\"");
	o = strstr(p, "\"data_offsets\"");
	if (!s || !o || s > end || o > end || !strstr(p, "\"F32\"") || strstr(p, "\"F32\"") > end ||
	    sscanf(strchr(s, '['), "[%lu,%lu]", &shape[0], &shape[1]) != 2 ||
	    sscanf(strchr(o, '['), "[%lu,%lu]", &off[0], &off[1]) != 2)
		die("'%s': not a float32 matrix of the trainer's model", path);
}

static void load(model *m, const char *path)
{
	unsigned char len8[8], *data;
	unsigned long us[2], is[2], uo[2], io[2];
	char *hdr;
	uint64_t hlen = 0;
	long size;
	FILE *f = fopen(path, "rb");

	if (!f || fread(len8, 1, 8, f) != 8)
		die("cannot read '%s'", path);
	for (int i = 0; i < 8; i++)
		hlen |= (uint64_t)len8[i] << (8 * i);
	if (hlen == 0 || hlen > HEADER_MAX)
		die("'%s' is not a model of the trainer (bad header)", path);
	hdr = alloc(hlen + 1, 1);
	if (fread(hdr, 1, hlen, f) != hlen)
		die("'%s' is cut short", path);
	find_tensor(hdr, "user_emb", us, uo, path);
	find_tensor(hdr, "item_emb", is, io, path);
	free(hdr);
	if (us[1] != is[1] || us[0] == 0 || is[0] == 0 || us[1] == 0 || us[0] > SIZE_MAX_ ||
	    is[0] > SIZE_MAX_ || us[1] > DIM_MAX || uo[1] - uo[0] != us[0] * us[1] * 4 ||
	    io[1] - io[0] != is[0] * is[1] * 4 || uo[0] > uo[1] || io[0] > io[1])
		die("'%s': the embeddings do not agree", path);
	m->users = (uint32_t)us[0];
	m->items = (uint32_t)is[0];
	m->dim = (uint32_t)us[1];
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
	    (uint64_t)size < 8 + hlen + (uo[1] > io[1] ? uo[1] : io[1]))
		die("'%s' is cut short", path);
	m->user = alloc((size_t)m->users * m->dim, sizeof(float));
	m->item = alloc((size_t)m->items * m->dim, sizeof(float));
	data = alloc((size_t)(size - 8 - (long)hlen), 1);
	if (fseek(f, (long)(8 + hlen), SEEK_SET) != 0 ||
	    fread(data, 1, (size_t)(size - 8 - (long)hlen), f) != (size_t)(size - 8 - (long)hlen))
		die("cannot read '%s'", path);
	for (size_t i = 0; i < (size_t)m->users * m->dim; i++)
		m->user[i] = get_f32(data + uo[0] + 4 * i);
	for (size_t i = 0; i < (size_t)m->items * m->dim; i++)
		m->item[i] = get_f32(data + io[0] + 4 * i);
	free(data);
	fclose(f);
}

/* ---- the world and its ratings ---- */

static double truth(uint64_t world, uint32_t u, uint32_t i)
{
	uint64_t su = stream(world, 1, u), si = stream(world, 2, i);
	double r = 0;

	for (int k = 0; k < TRUE_DIM; k++)
		r += normal(&su) * normal(&si);
	return r / sqrt(TRUE_DIM);
}

typedef struct example {
	uint32_t u, i;
	float r;
} example;

/* n ratings of users [from, to) drawn with `seed`. */
static example *draw(uint64_t world, uint64_t seed, size_t n, uint32_t from, uint32_t to,
                     uint32_t items)
{
	example *e = alloc(n, sizeof(*e));
	uint64_t s = stream(seed, 3, 0);

	for (size_t k = 0; k < n; k++) {
		e[k].u = from + (uint32_t)(next(&s) % (to - from));
		e[k].i = (uint32_t)(next(&s) % items);
		e[k].r = (float)(truth(world, e[k].u, e[k].i) + NOISE * normal(&s));
	}
	return e;
}

static double predict(const model *m, uint32_t u, uint32_t i)
{
	const float *p = m->user + (size_t)u * m->dim, *q = m->item + (size_t)i * m->dim;
	double d = 0;

	for (uint32_t k = 0; k < m->dim; k++)
		d += (double)p[k] * q[k];
	return d;
}

static double rmse(const model *m, const example *e, size_t n)
{
	double s = 0;

	for (size_t k = 0; k < n; k++) {
		double d = e[k].r - predict(m, e[k].u, e[k].i);
		s += d * d;
	}
	return sqrt(s / (double)n);
}

/* Stochastic gradient descent on the squared error with L2 regularisation,
 * the examples in a new order every epoch. */
static void train(model *m, example *e, size_t n, unsigned epochs, double lr, uint64_t seed)
{
	const double reg = 0.02;
	uint64_t s = stream(seed, 4, 0);

	for (unsigned ep = 0; ep < epochs; ep++) {
		for (size_t k = n; k > 1; k--) {
			size_t j = (size_t)(next(&s) % k);
			example t = e[k - 1];

			e[k - 1] = e[j];
			e[j] = t;
		}
		for (size_t k = 0; k < n; k++) {
			float *p = m->user + (size_t)e[k].u * m->dim, *q = m->item + (size_t)e[k].i * m->dim;
			double err = e[k].r - predict(m, e[k].u, e[k].i);

			for (uint32_t d = 0; d < m->dim; d++) {
				double pd = p[d], qd = q[d];

				p[d] = (float)(pd + lr * (err * qd - reg * pd));
				q[d] = (float)(qd + lr * (err * pd - reg * qd));
			}
		}
	}
}

/* ---- the command line ---- */

static unsigned long num(const char *opt, const char *v, unsigned long max)
{
	char *end;
	unsigned long x;

	errno = 0;
	x = v ? strtoul(v, &end, 10) : 0;
	if (!v || errno || end == v || *end || v[0] == '-' || x > max)
		die("%s needs a whole number in range", opt);
	return x;
}

static double real(const char *opt, const char *v)
{
	char *end;
	double x = v ? strtod(v, &end) : 0;

	if (!v || end == v || *end || !(x > 0) || !isfinite(x))
		die("%s needs a positive number", opt);
	return x;
}

static int usage(void)
{
	fprintf(stderr,
	    "usage: trainer init  --users U --items I --dim D --seed S OUT\n"
	    "       trainer train --site-seed S --examples N [--users-from A --users-to B]\n"
	    "                     [--epochs E] [--lr X] [--world-seed W] IN OUT\n"
	    "       trainer eval  --seed S --examples N [--world-seed W] MODEL\n");
	return 129;
}

int main(int argc, char **argv)
{
	unsigned long users = 0, items = 0, dim = 0, seed = 0, examples = 0, epochs = 10;
	unsigned long world = 1, from = 0, to = 0;
	double lr = 0.02;
	const char *files[2] = { NULL, NULL };
	int nfiles = 0;
	model m = { 0, 0, 0, NULL, NULL };

	if (argc < 2)
		return usage();
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--users")) users = num(a, v, SIZE_MAX_), i++;
		else if (!strcmp(a, "--items")) items = num(a, v, SIZE_MAX_), i++;
		else if (!strcmp(a, "--dim")) dim = num(a, v, DIM_MAX), i++;
		else if (!strcmp(a, "--seed") || !strcmp(a, "--site-seed")) seed = num(a, v, (unsigned long)-1), i++;
		else if (!strcmp(a, "--examples")) examples = num(a, v, 100000000), i++;
		else if (!strcmp(a, "--epochs")) epochs = num(a, v, 1000), i++;
		else if (!strcmp(a, "--world-seed")) world = num(a, v, (unsigned long)-1), i++;
		else if (!strcmp(a, "--users-from")) from = num(a, v, SIZE_MAX_), i++;
		else if (!strcmp(a, "--users-to")) to = num(a, v, SIZE_MAX_), i++;
		else if (!strcmp(a, "--lr")) lr = real(a, v), i++;
		else if (a[0] == '-' || nfiles == 2) return usage();
		else files[nfiles++] = a;
	}
	if (!strcmp(argv[1], "init")) {
		uint64_t s = stream(seed, 5, 0);

		if (nfiles != 1 || !users || !items || !dim)
			return usage();
		m.users = (uint32_t)users;
		m.items = (uint32_t)items;
		m.dim = (uint32_t)dim;
		m.user = alloc(users * dim, sizeof(float));
		m.item = alloc(items * dim, sizeof(float));
		for (size_t k = 0; k < users * dim; k++)
			m.user[k] = (float)(0.1 * normal(&s));
		for (size_t k = 0; k < items * dim; k++)
			m.item[k] = (float)(0.1 * normal(&s));
		save(&m, files[0]);
		printf("a new model: %lu users, %lu items, %lu dimensions\n", users, items, dim);
	} else if (!strcmp(argv[1], "train")) {
		example *e;
		double before;

		if (nfiles != 2 || !examples)
			return usage();
		load(&m, files[0]);
		if (!to)
			to = m.users;
		if (from >= to || to > m.users)
			die("--users-from and --users-to must name a band of the model's users%s", "");
		e = draw(world, seed, examples, (uint32_t)from, (uint32_t)to, m.items);
		before = rmse(&m, e, examples);
		train(&m, e, examples, (unsigned)epochs, lr, seed);
		printf("trained on %lu ratings of users %lu..%lu, %lu epochs: training RMSE %.4f -> %.4f\n",
		    examples, from, to - 1, epochs, before, rmse(&m, e, examples));
		save(&m, files[1]);
		printf("num-examples=%lu\n", examples);
		free(e);
	} else if (!strcmp(argv[1], "eval")) {
		example *e;

		if (nfiles != 1 || !examples)
			return usage();
		load(&m, files[0]);
		/* held out: every user, a seed no site trains with */
		e = draw(world, seed, examples, 0, m.users, m.items);
		printf("{\"rmse\": %.6f, \"examples\": %lu}\n", rmse(&m, e, examples), examples);
		free(e);
	} else {
		return usage();
	}
	free(m.user);
	free(m.item);
	return 0;
}
