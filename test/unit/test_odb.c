/*
 * The object database guard (lib/odb.c): loose objects inflated with
 * every length checked, and packed delta chains that never end, refused
 * with a message where libgit2 1.5.1 alone would spin forever (checkout
 * and fsck --full on all cores, as in the hang first reported).
 */
#include <dirent.h>
#include <zlib.h>
#include "unit.h"
#include "internal.h"
#include "odb.h"

static void *plain_alloc(size_t n, void *ctx)
{
	(void)ctx;
	return malloc(n);
}

static void plain_free(void *p, void *ctx)
{
	(void)ctx;
	free(p);
}

/* A loose object file for "<type> <size>\0<body>", with the size given
 * (so that tests can lie about it). */
static unsigned char *loose_make(size_t *outlen, const char *type, size_t claimed,
                                 const void *body, size_t len)
{
	char hdr[64];
	int hl = snprintf(hdr, sizeof(hdr), "%s %zu", type, claimed) + 1;
	unsigned char *raw = malloc((size_t)hl + len), *z;
	uLongf zl = compressBound((uLong)((size_t)hl + len));

	assert_non_null(raw);
	memcpy(raw, hdr, (size_t)hl);
	memcpy(raw + hl, body, len);
	z = malloc(zl);
	assert_non_null(z);
	assert_int_equal(compress2(z, &zl, raw, (uLong)((size_t)hl + len), 6), Z_OK);
	free(raw);
	*outlen = zl;
	return z;
}

static int inflate_it(const unsigned char *in, size_t len, git_object_t *type, size_t *size,
                      void **body, const char **why)
{
	return mvc__loose_inflate(in, len, type, size, body, plain_alloc, plain_free, NULL, why);
}

static void test_loose_whole(void **state)
{
	unsigned char data[3000];
	size_t zl, size = 0;
	unsigned char *z;
	git_object_t type;
	void *body = NULL;
	const char *why;

	(void)state;
	rnd_fill(data, sizeof(data), 7);
	z = loose_make(&zl, "blob", sizeof(data), data, sizeof(data));
	assert_int_equal(inflate_it(z, zl, &type, &size, &body, &why), 0);
	assert_int_equal(type, GIT_OBJECT_BLOB);
	assert_int_equal(size, sizeof(data));
	assert_memory_equal(body, data, sizeof(data));
	assert_int_equal(((unsigned char *)body)[size], 0);
	free(body);
	/* the header alone */
	assert_int_equal(inflate_it(z, zl, &type, &size, NULL, &why), 0);
	assert_int_equal(size, sizeof(data));
	free(z);
	/* an empty object */
	z = loose_make(&zl, "tree", 0, "", 0);
	assert_int_equal(inflate_it(z, zl, &type, &size, &body, &why), 0);
	assert_int_equal(type, GIT_OBJECT_TREE);
	assert_int_equal(size, 0);
	free(body);
	free(z);
}

/* Every cut of a loose object fails (libgit2 1.5.1 never returns). */
static void test_loose_truncated(void **state)
{
	unsigned char data[5000];
	size_t zl, size;
	unsigned char *z;
	git_object_t type;
	void *body;
	const char *why;

	(void)state;
	rnd_fill(data, sizeof(data), 8);
	z = loose_make(&zl, "blob", sizeof(data), data, sizeof(data));
	for (size_t cut = 0; cut < zl; cut++) {
		body = NULL;
		if (inflate_it(z, cut, &type, &size, &body, &why) == 0)
			fail_msg("a loose object cut to %zu of %zu bytes was accepted", cut, zl);
		assert_null(body);
		assert_non_null(why);
	}
	free(z);
}

static void test_loose_lies(void **state)
{
	unsigned char data[400], *z, *g;
	size_t zl, size;
	git_object_t type;
	void *body = NULL;
	const char *why;

	(void)state;
	rnd_fill(data, sizeof(data), 9);
	z = loose_make(&zl, "blob", sizeof(data) - 1, data, sizeof(data));
	assert_int_equal(inflate_it(z, zl, &type, &size, &body, &why), -1);
	assert_string_equal(why, "longer than its header says");
	free(z);
	z = loose_make(&zl, "blob", sizeof(data) + 1, data, sizeof(data));
	assert_int_equal(inflate_it(z, zl, &type, &size, &body, &why), -1);
	assert_string_equal(why, "shorter than its header says");
	free(z);
	/* a size no zlib stream of this length can hold: not allocated */
	z = loose_make(&zl, "blob", (size_t)1 << 40, data, sizeof(data));
	assert_int_equal(inflate_it(z, zl, &type, &size, &body, &why), -1);
	assert_non_null(strstr(why, "claims more"));
	free(z);
	z = loose_make(&zl, "blub", sizeof(data), data, sizeof(data));
	assert_int_equal(inflate_it(z, zl, &type, &size, &body, &why), -1);
	assert_string_equal(why, "no valid object header");
	free(z);
	/* garbage after the stream */
	z = loose_make(&zl, "blob", sizeof(data), data, sizeof(data));
	g = malloc(zl + 3);
	memcpy(g, z, zl);
	memcpy(g + zl, "xyz", 3);
	assert_int_equal(inflate_it(g, zl + 3, &type, &size, &body, &why), -1);
	assert_string_equal(why, "garbage after its zlib stream");
	/* a flipped bit anywhere: refused, or (never seen) the same bytes */
	for (size_t i = 0; i < zl * 8; i++) {
		memcpy(g, z, zl);
		g[i / 8] ^= (unsigned char)(1u << (i % 8));
		body = NULL;
		if (inflate_it(g, zl, &type, &size, &body, &why) == 0) {
			assert_int_equal(size, sizeof(data));
			assert_memory_equal(body, data, sizeof(data));
			free(body);
		}
	}
	free(g);
	free(z);
	assert_int_equal(inflate_it((const unsigned char *)"", 0, &type, &size, &body, &why), -1);
}

/* ---- packs, built by hand ---- */

typedef struct mpack {
	unsigned char buf[4096];
	size_t len;
	struct { unsigned char oid[20]; uint32_t off; } ents[16];
	size_t n;
	unsigned char idx[8192];
	size_t idxlen;
} mpack;

static size_t mem_read(void *ctx, uint64_t off, unsigned char *buf, size_t n)
{
	mpack *p = ctx;

	if (off >= p->len)
		return 0;
	if (n > p->len - off)
		n = (size_t)(p->len - off);
	memcpy(buf, p->buf + off, n);
	return n;
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* An entry header (type, size 5), then `extra` bytes (a base), then 5 bytes. */
static uint32_t mp_add(mpack *p, unsigned char id, unsigned type, const void *extra,
                       size_t extralen)
{
	uint32_t off = (uint32_t)p->len;

	p->buf[p->len++] = (unsigned char)(type << 4 | 5);
	if (extralen)
		memcpy(p->buf + p->len, extra, extralen);
	p->len += extralen;
	memcpy(p->buf + p->len, "\x78\x01zzz", 5);
	p->len += 5;
	memset(p->ents[p->n].oid, id, 20);
	p->ents[p->n].off = off;
	p->n++;
	return off;
}

static void mp_finish(mpack *p)
{
	uint32_t fan[256] = { 0 };
	size_t at;

	memset(p->buf + p->len, 0, 20); /* the trailer */
	p->len += 20;
	/* entries were added in id order */
	for (size_t i = 0; i < p->n; i++)
		for (int b = p->ents[i].oid[0]; b < 256; b++)
			fan[b]++;
	memcpy(p->idx, "\377tOc", 4);
	put32(p->idx + 4, 2);
	for (int b = 0; b < 256; b++)
		put32(p->idx + 8 + 4 * b, fan[b]);
	at = 8 + 1024;
	for (size_t i = 0; i < p->n; i++, at += 20)
		memcpy(p->idx + at, p->ents[i].oid, 20);
	for (size_t i = 0; i < p->n; i++, at += 4)
		put32(p->idx + at, 0);
	for (size_t i = 0; i < p->n; i++, at += 4)
		put32(p->idx + at, p->ents[i].off);
	memset(p->idx + at, 0, 40);
	p->idxlen = at + 40;
}

static void test_pack_chains(void **state)
{
	mpack *p = calloc(1, sizeof(*p));
	unsigned char id[20];
	uint32_t count, a, e;
	const char *why;
	unsigned char ofs;

	(void)state;
	assert_non_null(p);
	memcpy(p->buf, "PACK\0\0\0\2\0\0\0\5", 12);
	p->len = 12;
	a = mp_add(p, 0x10, GIT_OBJECT_BLOB, NULL, 0);              /* whole */
	memset(id, 0x20, 20);
	mp_add(p, 0x20, GIT_OBJECT_REF_DELTA, id, 20);               /* itself */
	memset(id, 0x40, 20);
	mp_add(p, 0x30, GIT_OBJECT_REF_DELTA, id, 20);               /* 0x30 -> 0x40 */
	memset(id, 0x30, 20);
	mp_add(p, 0x40, GIT_OBJECT_REF_DELTA, id, 20);               /* 0x40 -> 0x30 */
	ofs = (unsigned char)(p->len - a);
	e = mp_add(p, 0x50, GIT_OBJECT_OFS_DELTA, &ofs, 1);          /* 0x50 -> 0x10 */
	memset(id, 0x50, 20);
	mp_add(p, 0x60, GIT_OBJECT_REF_DELTA, id, 20);               /* 0x60 -> 0x50 -> 0x10 */
	memset(id, 0x99, 20);
	mp_add(p, 0x70, GIT_OBJECT_REF_DELTA, id, 20);               /* base elsewhere */
	mp_finish(p);
	assert_int_equal(mvc__pack_idx_check(p->idx, p->idxlen, &count), 0);
	assert_int_equal(count, 7);
	memset(id, 0x50, 20);
	assert_int_equal(mvc__pack_idx_find(p->idx, p->idxlen, id), e);
	memset(id, 0x55, 20);
	assert_int_equal(mvc__pack_idx_find(p->idx, p->idxlen, id), -1);
	for (unsigned char k = 1; k <= 7; k++) {
		int64_t off;
		int rc;

		memset(id, k * 0x10, 20);
		off = mvc__pack_idx_find(p->idx, p->idxlen, id);
		assert_true(off > 0);
		rc = mvc__pack_chain_check(p->idx, p->idxlen, mem_read, p, p->len, (uint64_t)off, &why);
		if (k == 2 || k == 3 || k == 4) {
			assert_int_equal(rc, -1);
			assert_non_null(strstr(why, "never ends"));
		} else {
			assert_int_equal(rc, 0);
		}
	}
	/* indexes that would be read out of bounds are refused */
	assert_int_equal(mvc__pack_idx_check(p->idx, p->idxlen - 1, &count), -1);
	p->idx[8 + 4 * 0x15] = 0xff;      /* fan-out going backwards */
	assert_int_equal(mvc__pack_idx_check(p->idx, p->idxlen, &count), -1);
	free(p);
}

/* ---- through a repository ---- */

typedef struct {
	char *tmp, *work, *model;
	mvc_repo *repo;
	git_repository *git;
} fx;

static int setup(void **state)
{
	static const char hdr[] = "{\"w\":{\"dtype\":\"F32\",\"shape\":[64,8],\"data_offsets\":[0,2048]}}";
	mvc_commit_options o = MVC_COMMIT_OPTIONS_INIT;
	const char *paths[] = { "m.safetensors" };
	fx *f = calloc(1, sizeof(*f));
	git_config *cfg = NULL;
	float w[512];
	unsigned char *p;
	size_t len;

	if (!f)
		return -1;
	f->tmp = tmpdir_new("odb");
	f->work = path_join(f->tmp, "w");
	f->model = path_join(f->work, "m.safetensors");
	if (mvc_repo_init(&f->repo, f->work) < 0)
		return -1;
	f->git = mvc__repo_git(f->repo);
	if (git_repository_config(&cfg, f->git) < 0 || git_config_set_int64(cfg, "mvc.chunkSize", 512) < 0)
		return -1;
	git_config_free(cfg);
	weights_fill(w, 512, 3);
	p = st_build(&len, hdr, sizeof(hdr) - 1, w, sizeof(w));
	write_bytes(f->model, p, len);
	free(p);
	o.message = "v1";
	if (mvc_commit(NULL, NULL, f->repo, paths, 1, &o) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;

	mvc_repo_free(f->repo);
	rm_rf(f->tmp);
	free(f->tmp);
	free(f->work);
	free(f->model);
	free(f);
	return 0;
}

static char *loose_path(fx *f, const git_oid *id)
{
	char hex[GIT_OID_HEXSZ + 1], *p;

	git_oid_tostr(hex, sizeof(hex), id);
	if (asprintf(&p, "%s/.mvc/objects/%.2s/%s", f->work, hex, hex + 2) < 0)
		fail_msg("out of memory");
	return p;
}

/* A loose object cut short fails to read, with a message; libgit2 alone
 * would never return. */
static void test_repo_truncated_loose(void **state)
{
	fx *f = *state;
	git_odb *odb = NULL;
	git_odb_object *obj = NULL;
	git_oid id;
	unsigned char data[4000], *file;
	size_t flen;
	char *path;

	rnd_fill(data, sizeof(data), 11);
	assert_int_equal(git_repository_odb(&odb, f->git), 0);
	assert_int_equal(git_odb_write(&id, odb, data, sizeof(data), GIT_OBJECT_BLOB), 0);
	path = loose_path(f, &id);
	file = read_bytes(path, &flen);
	assert_non_null(file);
	chmod(path, 0644);
	write_bytes(path, file, flen / 2);
	assert_int_not_equal(git_odb_read(&obj, odb, &id), 0);
	assert_non_null(strstr(git_error_last()->message, "is damaged: truncated"));
	/* the header is there, so read_header may answer; a prefix read may not */
	{
		git_oid shortid = id;
		char hex[GIT_OID_HEXSZ + 1];

		git_oid_tostr(hex, sizeof(hex), &id);
		hex[8] = '\0';
		assert_int_equal(git_oid_fromstrn(&shortid, hex, 8), 0);
		assert_int_not_equal(git_odb_read_prefix(&obj, odb, &shortid, 8), 0);
	}
	/* whole again: read through the guard */
	write_bytes(path, file, flen);
	assert_int_equal(git_odb_read(&obj, odb, &id), 0);
	assert_int_equal(git_odb_object_size(obj), sizeof(data));
	assert_memory_equal(git_odb_object_data(obj), data, sizeof(data));
	git_odb_object_free(obj);
	free(file);
	free(path);
	git_odb_free(odb);
}

/* The chunk pack's entry for a chunk made a REF_DELTA of itself. */
static void test_repo_self_delta(void **state)
{
	fx *f = *state;
	mvc_checkout_options co = MVC_CHECKOUT_OPTIONS_INIT;
	git_object *obj = NULL;
	git_oid id;
	char dirpath[4096], *out;
	DIR *dir;
	struct dirent *de;
	int patched = 0;

	assert_int_equal(git_revparse_single(&obj, f->git, "HEAD:m.safetensors/t/000000/000001"), 0);
	id = *git_object_id(obj);
	git_object_free(obj);
	snprintf(dirpath, sizeof(dirpath), "%s/.mvc/objects/pack", f->work);
	assert_non_null(dir = opendir(dirpath));
	while ((de = readdir(dir)) && !patched) {
		size_t n = strlen(de->d_name), ilen, plen;
		char *ip, *pp;
		unsigned char *idx, *pack;
		uint32_t count;
		int64_t off;

		if (n < 5 || strcmp(de->d_name + n - 4, ".idx"))
			continue;
		ip = path_join(dirpath, de->d_name);
		idx = read_bytes(ip, &ilen);
		assert_non_null(idx);
		assert_int_equal(mvc__pack_idx_check(idx, ilen, &count), 0);
		if ((off = mvc__pack_idx_find(idx, ilen, id.id)) > 0) {
			size_t at = (size_t)off;

			if (asprintf(&pp, "%.*s.pack", (int)strlen(ip) - 4, ip) < 0)
				fail_msg("out of memory");
			pack = read_bytes(pp, &plen);
			assert_non_null(pack);
			pack[at] = (unsigned char)((pack[at] & 0x8f) | GIT_OBJECT_REF_DELTA << 4);
			while (pack[at] & 0x80)
				at++;
			memcpy(pack + at + 1, id.id, 20);
			chmod(pp, 0644);
			write_bytes(pp, pack, plen);
			free(pack);
			free(pp);
			patched = 1;
		}
		free(idx);
		free(ip);
	}
	closedir(dir);
	assert_true(patched);
	/* a fresh look at the store, as the next command would have */
	mvc_repo_free(f->repo);
	assert_int_equal(mvc_repo_open(&f->repo, f->work), 0);
	out = path_join(f->tmp, "out.safetensors");
	assert_err(mvc_checkout_to(f->repo, "HEAD", "m.safetensors", out, &co), MVC_ECORRUPT,
	    "chain of delta bases never ends");
	assert_non_null(strstr(mvc_error_last(), "chunk 1"));
	free(out);
	/* and fsck --full names it, on all cores, instead of hanging */
	{
		mvc_fsck_options fo = MVC_FSCK_OPTIONS_INIT;
		mvc_fsck_report *r = NULL;
		char hex[GIT_OID_HEXSZ + 1];

		fo.full = 1;
		fo.threads = 2;
		git_oid_tostr(hex, sizeof(hex), &id);
		assert_ok(mvc_fsck(&r, f->repo, &fo));
		assert_int_equal(r->count, 1);
		assert_string_equal(r->problems[0].object, hex);
		assert_int_equal(r->problems[0].chunk, 1);
		assert_non_null(strstr(r->problems[0].message, "never ends"));
		mvc_fsck_report_free(r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loose_whole),
		cmocka_unit_test(test_loose_truncated),
		cmocka_unit_test(test_loose_lies),
		cmocka_unit_test(test_pack_chains),
		cmocka_unit_test_setup_teardown(test_repo_truncated_loose, setup, teardown),
		cmocka_unit_test_setup_teardown(test_repo_self_delta, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
