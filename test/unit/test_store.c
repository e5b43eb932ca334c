/*
 * The store through the public API, in a temporary directory: commit
 * (lib/commit.c), checkout (lib/checkout.c), status (lib/status.c), and
 * reading versions and history back (lib/version.c).
 */
#include <dirent.h>
#include <time.h>
#include "unit.h"
#include "internal.h"

#define MODEL "model.safetensors"

typedef struct {
	char *tmp;     /* the test's directory */
	char *work;    /* tmp/w: the working directory */
	char *model;   /* tmp/w/model.safetensors */
	mvc_repo *repo;
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->tmp = tmpdir_new("store");
	f->work = path_join(f->tmp, "w");
	f->model = path_join(f->work, MODEL);
	if (mvc_repo_init(&f->repo, f->work) < 0)
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

/* Model files: tensors described here, data from per-tensor seeds. */
typedef struct {
	const char *name;
	const char *dtype;
	unsigned ndim;
	uint64_t shape[2];
	uint64_t seed;
} tspec;

static size_t elem_size(const char *dtype)
{
	if (!strcmp(dtype, "F32"))
		return 4;
	if (!strcmp(dtype, "F16"))
		return 2;
	if (!strcmp(dtype, "I64"))
		return 8;
	return 1;
}

static size_t tensor_bytes(const tspec *t)
{
	size_t n = elem_size(t->dtype);

	for (unsigned d = 0; d < t->ndim; d++)
		n *= t->shape[d];
	return n;
}

/* A safetensors file with __metadata__, a padded header, data in order. */
static unsigned char *model_bytes(size_t *len, const tspec *ts, size_t n)
{
	char hdr[8192];
	size_t h = 0, off = 0, total = 0;
	unsigned char *data, *out;

	h += (size_t)snprintf(hdr + h, sizeof(hdr) - h, "{\"__metadata__\":{\"format\":\"pt\"}");
	for (size_t i = 0; i < n; i++) {
		size_t sz = tensor_bytes(&ts[i]);
		char shape[64] = "";

		for (unsigned d = 0; d < ts[i].ndim; d++)
			snprintf(shape + strlen(shape), sizeof(shape) - strlen(shape), "%s%llu",
			    d ? "," : "", (unsigned long long)ts[i].shape[d]);
		h += (size_t)snprintf(hdr + h, sizeof(hdr) - h,
		    ",\"%s\":{\"dtype\":\"%s\",\"shape\":[%s],\"data_offsets\":[%zu,%zu]}",
		    ts[i].name, ts[i].dtype, shape, off, off + sz);
		off += sz;
	}
	hdr[h++] = '}';
	while (h % 8)
		hdr[h++] = ' ';
	total = off;
	data = malloc(total + 1);
	off = 0;
	for (size_t i = 0; i < n; i++) {
		size_t sz = tensor_bytes(&ts[i]);

		if (!strcmp(ts[i].dtype, "F32"))
			weights_fill((float *)(void *)(data + off), sz / 4, ts[i].seed);
		else
			rnd_fill(data + off, sz, ts[i].seed);
		off += sz;
	}
	out = st_build(len, hdr, h, data, total);
	free(data);
	return out;
}

/* The standard model: three tensors, each one chunk at the default size. */
static unsigned char *put_model(const fx *f, const char *rel, uint64_t s_emb, uint64_t s_bias,
                                uint64_t s_step, size_t *len)
{
	const tspec ts[] = {
		{ "emb", "F32", 2, { 64, 16 }, s_emb },
		{ "bias", "F16", 1, { 32 }, s_bias },
		{ "step", "I64", 0, { 0 }, s_step },
	};
	char *path = path_join(f->work, rel);
	unsigned char *p = model_bytes(len, ts, 3);

	write_bytes(path, p, *len);
	free(path);
	return p;
}

static int commit_opts(const fx *f, mvc_oid *out, mvc_commit_stats *st, const char *const *paths,
                       size_t npaths, const mvc_commit_options *o)
{
	mvc_error_clear();
	return mvc_commit(out, st, f->repo, paths, npaths, o);
}

static int commit(const fx *f, const char *msg, mvc_oid *out, mvc_commit_stats *st)
{
	mvc_commit_options o = MVC_COMMIT_OPTIONS_INIT;
	const char *paths[] = { MODEL };

	o.message = msg;
	return commit_opts(f, out, st, paths, 1, &o);
}

static void head_id(const fx *f, mvc_oid *out)
{
	mvc_version *v = NULL;

	assert_ok(mvc_version_lookup(&v, f->repo, "HEAD"));
	*out = *mvc_version_id(v);
	mvc_version_free(v);
}

static void assert_oid_equal(const mvc_oid *a, const mvc_oid *b)
{
	char ha[MVC_OID_HEXSZ + 1], hb[MVC_OID_HEXSZ + 1];

	mvc_oid_fmt(ha, a);
	mvc_oid_fmt(hb, b);
	assert_string_equal(ha, hb);
}

static void assert_head_unborn(const fx *f)
{
	char *branch = NULL;
	int unborn = 0;

	assert_ok(mvc_repo_head(&branch, &unborn, f->repo));
	assert_int_equal(unborn, 1);
	assert_string_equal(branch, "main");
	free(branch);
}

static size_t nobjects;
static int count_object(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)p; (void)st; (void)ftw;
	nobjects += flag == FTW_F;
	return 0;
}

/* Files in the object database: to show a refused commit wrote nothing. */
static size_t count_objects(const fx *f)
{
	char *objs = path_join(mvc_repo_path(f->repo), "objects");

	nobjects = 0;
	nftw(objs, count_object, 16, FTW_PHYS);
	free(objs);
	return nobjects;
}

static size_t count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return n;
}

static void set_chunk_size(const fx *f, int64_t size)
{
	git_config *cfg = NULL;
	uint64_t cs = 0;

	assert_int_equal(git_repository_config(&cfg, mvc__repo_git(f->repo)), 0);
	assert_int_equal(git_config_set_int64(cfg, "mvc.chunkSize", size), 0);
	git_config_free(cfg);
	assert_ok(mvc_repo_chunk_size(&cs, f->repo));
	assert_int_equal(cs, (uint64_t)size);
}

static mvc_manifest *manifest_of(const fx *f, const char *rev, const char *path)
{
	mvc_version *v = NULL;
	mvc_manifest *m = NULL;

	assert_ok(mvc_version_lookup(&v, f->repo, rev));
	assert_ok(mvc_version_manifest(&m, v, path));
	mvc_version_free(v);
	return m;
}

/* checkout_to into tmp/out and compare with `want`. */
static void assert_checkout_equals(const fx *f, const char *rev, const char *path,
                                   const void *want, size_t len)
{
	mvc_checkout_options co = MVC_CHECKOUT_OPTIONS_INIT;
	char *out = path_join(f->tmp, "out.safetensors");

	unlink(out);
	assert_ok(mvc_checkout_to(f->repo, rev, path, out, &co));
	if (!file_equals(out, want, len))
		fail_msg("checkout of %s:%s differs from what was committed", rev,
		    path ? path : "(only file)");
	unlink(out);
	free(out);
}

static int state_of(const mvc_status_list *l, const char *path, mvc_oid *version)
{
	for (size_t i = 0; i < l->count; i++)
		if (!strcmp(l->entries[i].path, path)) {
			if (version)
				*version = l->entries[i].version;
			return (int)l->entries[i].state;
		}
	return -1;
}

static void assert_status(const fx *f, const char *path, mvc_file_state want)
{
	for (int rehash = 1; rehash >= 0; rehash--) {
		mvc_status_list *l = NULL;
		int s;

		assert_ok(mvc_status(&l, f->repo, rehash));
		s = state_of(l, path, NULL);
		if (s != (int)want)
			fail_msg("status of '%s' is %s, wanted %s (rehash %d)", path,
			    s < 0 ? "absent" : mvc_file_state_name((mvc_file_state)s),
			    mvc_file_state_name(want), rehash);
		mvc_status_free(l);
	}
}

static void test_commit_first(void **state)
{
	fx *f = *state;
	size_t len;
	unsigned char *v1 = put_model(f, MODEL, 1, 2, 3, &len);
	mvc_commit_stats st;
	mvc_oid id, head;
	char *branch = NULL;
	int unborn = 1;

	memset(&st, 0xff, sizeof(st));
	assert_ok(commit(f, "v1", &id, &st));
	assert_int_equal(st.files, 1);
	assert_int_equal(st.tensors, 3);
	assert_int_equal(st.tensors_reused, 0);
	assert_int_equal(st.chunks, 3);
	assert_int_equal(st.chunks_written, 3);
	assert_int_equal(st.bytes_raw, len);
	assert_true(st.bytes_stored > 0 && st.bytes_stored < len);
	head_id(f, &head);
	assert_oid_equal(&id, &head);
	assert_ok(mvc_repo_head(&branch, &unborn, f->repo));
	assert_string_equal(branch, "main");
	assert_int_equal(unborn, 0);
	free(branch);
	assert_checkout_equals(f, "HEAD", MODEL, v1, len);
	/* committing does not touch the working file */
	assert_true(file_equals(f->model, v1, len));
	free(v1);
}

/* One tensor changes: only its chunk is encoded and written again. */
static void test_commit_one_tensor_changed(void **state)
{
	fx *f = *state;
	size_t l1, l2;
	unsigned char *v1 = put_model(f, MODEL, 1, 2, 3, &l1), *v2;
	mvc_commit_stats st;
	mvc_oid id1, id2;
	mvc_manifest *m1, *m2;

	assert_ok(commit(f, "v1", &id1, NULL));
	v2 = put_model(f, MODEL, 1, 20, 3, &l2);
	assert_ok(commit(f, "v2: new bias", &id2, &st));
	assert_int_equal(st.files, 1);
	assert_int_equal(st.tensors, 3);
	assert_int_equal(st.tensors_reused, 2);
	assert_int_equal(st.chunks, 3);
	assert_int_equal(st.chunks_written, 1);
	assert_int_equal(st.bytes_raw, l2);
	assert_true(st.bytes_stored >= 64 && st.bytes_stored <= 64 + 64);
	m1 = manifest_of(f, "HEAD~1", MODEL);
	m2 = manifest_of(f, "HEAD", MODEL);
	assert_int_equal(mvc_manifest_find(m2, "bias"), 1);
	assert_memory_equal(m1->tensors[0].digest, m2->tensors[0].digest, MVC_DIGEST_SIZE);
	assert_memory_not_equal(m1->tensors[1].digest, m2->tensors[1].digest, MVC_DIGEST_SIZE);
	assert_memory_equal(m1->tensors[2].digest, m2->tensors[2].digest, MVC_DIGEST_SIZE);
	assert_memory_equal(m1->header_digest, m2->header_digest, MVC_DIGEST_SIZE);
	mvc_manifest_free(m1);
	mvc_manifest_free(m2);
	assert_checkout_equals(f, "HEAD~1", MODEL, v1, l1);
	assert_checkout_equals(f, "HEAD", MODEL, v2, l2);
	free(v1);
	free(v2);
}

/* Equal chunks within one commit are stored once. */
static void test_commit_dedup(void **state)
{
	fx *f = *state;
	const tspec ts[] = {
		{ "a", "F32", 2, { 8, 8 }, 5 },
		{ "b", "F32", 2, { 8, 8 }, 5 },
		{ "c", "U8", 1, { 100 }, 6 },
	};
	size_t len;
	unsigned char *p = model_bytes(&len, ts, 3);
	mvc_commit_stats st;

	write_bytes(f->model, p, len);
	assert_ok(commit(f, "twins", NULL, &st));
	assert_int_equal(st.tensors, 3);
	assert_int_equal(st.chunks, 3);
	assert_int_equal(st.chunks_written, 2);
	assert_checkout_equals(f, "HEAD", MODEL, p, len);
	free(p);
}

static void test_commit_unchanged(void **state)
{
	fx *f = *state;
	size_t len;
	unsigned char *v1 = put_model(f, MODEL, 1, 2, 3, &len);
	mvc_commit_options o = MVC_COMMIT_OPTIONS_INIT;
	mvc_commit_stats st;
	mvc_oid id1, id2, head;
	mvc_version *v = NULL;

	assert_ok(commit(f, "v1", &id1, NULL));
	assert_err(commit(f, "again", &id2, &st), MVC_EUNCHANGED, "nothing to commit");
	assert_int_equal(st.chunks_written, 0);
	head_id(f, &head);
	assert_oid_equal(&head, &id1);
	/* no paths: every tracked file again */
	o.message = "again";
	assert_err(commit_opts(f, NULL, NULL, NULL, 0, &o), MVC_EUNCHANGED, "nothing to commit");
	head_id(f, &head);
	assert_oid_equal(&head, &id1);
	/* allowed: a new version with the same files */
	o.allow_empty = 1;
	assert_ok(commit_opts(f, &id2, &st, NULL, 0, &o));
	assert_int_equal(st.chunks_written, 0);
	assert_int_equal(st.tensors_reused, 3);
	assert_memory_not_equal(id1.id, id2.id, sizeof(id1.id));
	head_id(f, &head);
	assert_oid_equal(&head, &id2);
	assert_ok(mvc_version_lookup(&v, f->repo, "HEAD"));
	assert_int_equal(mvc_version_parentcount(v), 1);
	assert_ok(mvc_version_parent_id(&head, v, 0));
	assert_oid_equal(&head, &id1);
	mvc_version_free(v);
	assert_checkout_equals(f, "HEAD", MODEL, v1, len);
	free(v1);
}

static void test_commit_bad_meta(void **state)
{
	fx *f = *state;
	static const struct { const char *meta, *frag; } bad[] = {
		{ "no-equals", "metadata 'no-equals' is not key=value" },
		{ "=value", "is not key=value" },
		{ "bad key=1", "may hold only letters, digits" },
		{ "k:ey=1", "may hold only" },
		{ "-k=1", "must start with a letter or digit" },
		{ "k=line\nbreak", "has a line break" },
		{ "k=cr\rhere", "has a line break" },
	};
	size_t len;
	unsigned char *v1 = put_model(f, MODEL, 1, 2, 3, &len);
	mvc_commit_options o = MVC_COMMIT_OPTIONS_INIT;
	const char *paths[] = { MODEL };
	mvc_oid id1, head;
	size_t before = count_objects(f);

	o.message = "v1";
	/* round 0 on an unborn branch, round 1 over a first version with the
	 * file changed since: a refusal writes nothing and moves nothing */
	for (int round = 0; round < 2; round++) {
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			const char *meta[] = { "good=1", bad[i].meta };

			o.meta = meta;
			o.nmeta = 2;
			assert_err(commit_opts(f, NULL, NULL, paths, 1, &o), MVC_EINVALID, bad[i].frag);
			assert_int_equal(count_objects(f), before);
			if (round == 0) {
				assert_head_unborn(f);
			} else {
				head_id(f, &head);
				assert_oid_equal(&head, &id1);
			}
		}
		if (round == 0) {
			o.meta = NULL;
			o.nmeta = 0;
			assert_ok(commit_opts(f, &id1, NULL, paths, 1, &o));
			free(v1);
			v1 = put_model(f, MODEL, 1, 2, 4, &len);
			before = count_objects(f);
		}
	}
	free(v1);
}

static void test_commit_bad_options(void **state)
{
	fx *f = *state;
	size_t len;
	unsigned char *v1 = put_model(f, MODEL, 1, 2, 3, &len);
	mvc_commit_options o = MVC_COMMIT_OPTIONS_INIT;
	const char *paths[] = { MODEL };

	assert_err(commit_opts(f, NULL, NULL, paths, 1, &o), MVC_EINVALID, "needs a message");
	o.message = " \n\t\n";
	assert_err(commit_opts(f, NULL, NULL, paths, 1, &o), MVC_EINVALID,
	    "needs a non-empty message");
	o.message = "ok";
	o.version = 99;
	assert_err(commit_opts(f, NULL, NULL, paths, 1, &o), MVC_EINVALID,
	    "bad commit options version");
	assert_err(commit_opts(f, NULL, NULL, paths, 1, NULL), MVC_EINVALID, "options version");
	assert_head_unborn(f);
	free(v1);
}

/* Files that cannot be committed: refused before anything is written. */
static void test_commit_bad_files(void **state)
{
	fx *f = *state;
	mvc_commit_options o = MVC_COMMIT_OPTIONS_INIT;
	size_t len, before;
	unsigned char *good = put_model(f, MODEL, 1, 2, 3, &len);
	char *junk = path_join(f->work, "junk.safetensors"), *text = path_join(f->work, "notes.txt");
	const char *twice[] = { MODEL, MODEL };
	const char *missing[] = { MODEL, "nope.safetensors" };
	const char *bad[] = { MODEL, "junk.safetensors" };
	const char *other[] = { "notes.txt" };

	o.message = "m";
	before = count_objects(f);
	assert_err(commit_opts(f, NULL, NULL, NULL, 0, &o), MVC_EINVALID, "nothing tracked yet");
	assert_err(commit_opts(f, NULL, NULL, twice, 2, &o), MVC_EINVALID,
	    "'" MODEL "' is named twice");
	assert_err(commit_opts(f, NULL, NULL, missing, 2, &o), MVC_ENOTFOUND,
	    "cannot open 'nope.safetensors'");
	/* a safetensors file that breaks the rules: the data is cut short */
	write_bytes(junk, good, len - 1);
	assert_err(commit_opts(f, NULL, NULL, bad, 2, &o), MVC_EFORMAT, "'junk.safetensors'");
	/* any file is stored (as opaque), unless a format is asked for */
	write_bytes(text, "some notes\n", 11);
	o.format = MVC_FORMAT_SAFETENSORS;
	assert_err(commit_opts(f, NULL, NULL, other, 1, &o), MVC_EFORMAT,
	    "'notes.txt' is not a safetensors file");
	o.format = MVC_FORMAT_UNKNOWN;
	assert_head_unborn(f);
	assert_int_equal(count_objects(f), before);
	free(good);
	free(junk);
	free(text);
}

/* Committing one file keeps every other file the version tracks. */
static void test_commit_adds_file(void **state)
{
	fx *f = *state;
	size_t la, lb;
	unsigned char *a = put_model(f, MODEL, 1, 2, 3, &la);
	unsigned char *b = put_model(f, "b.safetensors", 7, 8, 9, &lb);
	mvc_commit_options o = MVC_COMMIT_OPTIONS_INIT;
	const char *pb[] = { "b.safetensors" };
	mvc_commit_stats st;
	mvc_version *v = NULL;

	assert_ok(commit(f, "a", NULL, NULL));
	o.message = "b";
	assert_ok(commit_opts(f, NULL, &st, pb, 1, &o));
	assert_int_equal(st.files, 1);
	assert_ok(mvc_version_lookup(&v, f->repo, "HEAD"));
	assert_int_equal(mvc_version_file_count(v), 2);
	assert_string_equal(mvc_version_file_path(v, 0), "b.safetensors");
	assert_string_equal(mvc_version_file_path(v, 1), MODEL);
	mvc_version_free(v);
	/* both again, unchanged */
	assert_err(commit_opts(f, NULL, &st, NULL, 0, &o), MVC_EUNCHANGED, "nothing to commit");
	assert_checkout_equals(f, "HEAD", MODEL, a, la);
	assert_checkout_equals(f, "HEAD", "b.safetensors", b, lb);
	free(a);
	free(b);
}

/* Small chunks: tensors of many chunks, rows cut at element boundaries
 * when a row is larger than a chunk, and one element changed costs one
 * chunk. */
static void test_multi_chunk(void **state)
{
	fx *f = *state;
	tspec ts[] = {
		{ "emb", "F32", 2, { 64, 16 }, 1 },   /* 64-byte rows, 4 per chunk */
		{ "wide", "F32", 2, { 2, 200 }, 2 },  /* 800-byte rows */
		{ "bias", "F16", 1, { 32 }, 3 },
	};
	size_t l1, l2;
	unsigned char *v1, *v2;
	mvc_commit_stats st;
	mvc_manifest *m;

	set_chunk_size(f, 256);
	v1 = model_bytes(&l1, ts, 3);
	write_bytes(f->model, v1, l1);
	assert_ok(commit(f, "v1", NULL, &st));
	m = manifest_of(f, "HEAD", MODEL);
	assert_int_equal(m->ntensors, 3);
	assert_string_equal(m->tensors[0].t.name, "emb");
	assert_int_equal(m->tensors[0].chunk_size, 256);
	assert_int_equal(m->tensors[0].nchunks, 16);
	assert_int_equal(m->tensors[1].chunk_size, 256);
	assert_int_equal(m->tensors[1].nchunks, 7); /* 1600 bytes, the last chunk short */
	assert_int_equal(m->tensors[2].nchunks, 1);
	mvc_manifest_free(m);
	assert_int_equal(st.chunks, 24);
	assert_int_equal(st.chunks_written, 24);
	assert_checkout_equals(f, "HEAD", MODEL, v1, l1);

	/* one element of emb row 10, i.e. in chunk 2 */
	v2 = malloc(l1);
	memcpy(v2, v1, l1);
	l2 = l1;
	{
		mvc_layout *l = NULL;

		assert_ok(mvc_safetensors_parse(&l, v2, l2, l2, MODEL));
		v2[l->tensors[0].offset + 10 * 64 + 5] ^= 0x40;
		mvc_layout_free(l);
	}
	write_bytes(f->model, v2, l2);
	assert_ok(commit(f, "v2", NULL, &st));
	assert_int_equal(st.chunks, 24);
	assert_int_equal(st.chunks_written, 1);
	assert_int_equal(st.tensors_reused, 2);
	assert_checkout_equals(f, "HEAD", MODEL, v2, l2);
	assert_checkout_equals(f, "HEAD~1", MODEL, v1, l1);
	free(v1);
	free(v2);
}

/* Scalars, zero-size tensors and a file of only a header round-trip. */
static void test_odd_models(void **state)
{
	fx *f = *state;
	const tspec ts[] = {
		{ "empty", "F32", 2, { 0, 16 }, 1 },
		{ "scalar", "F32", 0, { 0 }, 2 },
		{ "also_empty", "I64", 1, { 0 }, 3 },
		{ "bytes", "U8", 1, { 3 }, 4 },
	};
	size_t len, hlen;
	unsigned char *p = model_bytes(&len, ts, 4), *h = st_make(&hlen, "{}      ", 0);
	char *hp = path_join(f->work, "header-only.safetensors");
	const char *paths[] = { MODEL, "header-only.safetensors" };
	mvc_commit_options o = MVC_COMMIT_OPTIONS_INIT;
	mvc_commit_stats st;

	write_bytes(f->model, p, len);
	write_bytes(hp, h, hlen);
	o.message = "odd";
	assert_ok(commit_opts(f, NULL, &st, paths, 2, &o));
	assert_int_equal(st.files, 2);
	assert_int_equal(st.tensors, 4);
	assert_int_equal(st.chunks, 2);
	assert_checkout_equals(f, "HEAD", MODEL, p, len);
	assert_checkout_equals(f, "HEAD", "header-only.safetensors", h, hlen);
	unlink(hp);
	unlink(f->model);
	{
		mvc_checkout_options co = MVC_CHECKOUT_OPTIONS_INIT;

		assert_ok(mvc_checkout_paths(f->repo, "HEAD", NULL, 0, &co));
	}
	assert_true(file_equals(hp, h, hlen));
	assert_true(file_equals(f->model, p, len));
	assert_status(f, MODEL, MVC_FILE_CLEAN);
	assert_status(f, "header-only.safetensors", MVC_FILE_CLEAN);
	free(p);
	free(h);
	free(hp);
}

static void test_checkout_to(void **state)
{
	fx *f = *state;
	size_t l1, l2, l3;
	unsigned char *v1 = put_model(f, MODEL, 1, 2, 3, &l1), *v2, *v3;
	mvc_checkout_options co = MVC_CHECKOUT_OPTIONS_INIT;
	mvc_oid id1;
	char hex[MVC_OID_HEXSZ + 1];
	char *out = path_join(f->tmp, "out.safetensors");
	char *nodir = path_join(f->tmp, "no/such/dir/x.safetensors");
	struct stat st;

	assert_ok(commit(f, "v1", &id1, NULL));
	v2 = put_model(f, MODEL, 10, 2, 3, &l2);
	assert_ok(commit(f, "v2", NULL, NULL));
	v3 = put_model(f, MODEL, 10, 20, 30, &l3);
	assert_ok(commit(f, "v3", NULL, NULL));
	mvc_oid_fmt(hex, &id1);
	assert_checkout_equals(f, hex, MODEL, v1, l1);
	hex[10] = '\0';
	assert_checkout_equals(f, hex, MODEL, v1, l1);
	assert_checkout_equals(f, "HEAD~2", MODEL, v1, l1);
	assert_checkout_equals(f, "HEAD~1", NULL, v2, l2);
	assert_checkout_equals(f, "main", MODEL, v3, l3);
	/* over an existing file: replaced, its permissions kept */
	write_bytes(out, "old", 3);
	assert_int_equal(chmod(out, 0600), 0);
	assert_ok(mvc_checkout_to(f->repo, "HEAD~1", MODEL, out, &co));
	assert_true(file_equals(out, v2, l2));
	assert_int_equal(stat(out, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* the working file and HEAD are left alone */
	assert_true(file_equals(f->model, v3, l3));
	assert_status(f, MODEL, MVC_FILE_CLEAN);

	assert_err(mvc_checkout_to(f->repo, "nope", MODEL, out, &co), MVC_ENOTFOUND,
	    "unknown revision 'nope'");
	assert_err(mvc_checkout_to(f->repo, "HEAD~3", MODEL, out, &co), MVC_ENOTFOUND,
	    "HEAD~3");
	assert_err(mvc_checkout_to(f->repo, "HEAD", "other.safetensors", out, &co), MVC_ENOTFOUND,
	    "'other.safetensors' is not tracked");
	assert_err(mvc_checkout_to(f->repo, "HEAD", MODEL, nodir, &co), MVC_ENOTFOUND,
	    "cannot create a temporary file");
	co.version = 2;
	assert_err(mvc_checkout_to(f->repo, "HEAD", MODEL, out, &co), MVC_EINVALID,
	    "bad checkout options version");
	assert_err(mvc_checkout_to(f->repo, "HEAD", MODEL, out, NULL), MVC_EINVALID,
	    "options version");
	assert_true(file_equals(out, v2, l2));
	free(v1);
	free(v2);
	free(v3);
	free(out);
	free(nodir);
}

static void test_checkout_to_several_files(void **state)
{
	fx *f = *state;
	size_t la, lb;
	char *dir = path_join(f->work, "sub/dir");
	unsigned char *a, *b;
	const char *paths[] = { "sub/dir/b.safetensors", MODEL };
	mvc_commit_options o = MVC_COMMIT_OPTIONS_INIT;
	mvc_checkout_options co = MVC_CHECKOUT_OPTIONS_INIT;
	char *out = path_join(f->tmp, "out");
	mvc_version *v = NULL;

	mkdirs(dir);
	a = put_model(f, MODEL, 1, 2, 3, &la);
	b = put_model(f, "sub/dir/b.safetensors", 4, 5, 6, &lb);
	o.message = "two files";
	assert_ok(commit_opts(f, NULL, NULL, paths, 2, &o));
	assert_ok(mvc_version_lookup(&v, f->repo, "HEAD"));
	assert_int_equal(mvc_version_file_count(v), 2);
	assert_string_equal(mvc_version_file_path(v, 0), MODEL);
	assert_string_equal(mvc_version_file_path(v, 1), "sub/dir/b.safetensors");
	assert_null(mvc_version_file_path(v, 2));
	mvc_version_free(v);
	assert_err(mvc_checkout_to(f->repo, "HEAD", NULL, out, &co), MVC_EINVALID,
	    "has 2 files; name the one to write");
	assert_checkout_equals(f, "HEAD", "sub/dir/b.safetensors", b, lb);
	assert_checkout_equals(f, "HEAD", MODEL, a, la);
	/* a directory of the tree is not a tracked file */
	assert_err(mvc_checkout_to(f->repo, "HEAD", "sub/dir", out, &co), MVC_ENOTFOUND,
	    "not tracked");
	free(a);
	free(b);
	free(dir);
	free(out);
}

/* checkout_paths writes an older version into the working directory and
 * leaves HEAD where it was. */
static void test_checkout_paths(void **state)
{
	fx *f = *state;
	size_t l1, l2;
	unsigned char *v1 = put_model(f, MODEL, 1, 2, 3, &l1), *v2;
	mvc_checkout_options co = MVC_CHECKOUT_OPTIONS_INIT;
	const char *paths[] = { MODEL };
	const char *untracked[] = { "nope.safetensors" };
	mvc_oid id1, id2, head, other;
	mvc_status_list *l = NULL;

	assert_ok(commit(f, "v1", &id1, NULL));
	v2 = put_model(f, MODEL, 1, 2, 30, &l2);
	assert_ok(commit(f, "v2", &id2, NULL));

	assert_ok(mvc_checkout_paths(f->repo, "HEAD~1", NULL, 0, &co));
	assert_true(file_equals(f->model, v1, l1));
	head_id(f, &head);
	assert_oid_equal(&head, &id2);
	assert_ok(mvc_status(&l, f->repo, 1));
	assert_int_equal(state_of(l, MODEL, &other), MVC_FILE_OTHER_VERSION);
	assert_oid_equal(&other, &id1);
	mvc_status_free(l);

	assert_ok(mvc_checkout_paths(f->repo, "HEAD", paths, 1, &co));
	assert_true(file_equals(f->model, v2, l2));
	assert_status(f, MODEL, MVC_FILE_CLEAN);
	/* already equal: nothing to do, no error */
	assert_ok(mvc_checkout_paths(f->repo, "HEAD", paths, 1, &co));
	assert_true(file_equals(f->model, v2, l2));

	/* a missing file is restored */
	assert_int_equal(unlink(f->model), 0);
	assert_status(f, MODEL, MVC_FILE_MISSING);
	assert_ok(mvc_checkout_paths(f->repo, "HEAD~1", paths, 1, &co));
	assert_true(file_equals(f->model, v1, l1));

	assert_err(mvc_checkout_paths(f->repo, "HEAD", untracked, 1, &co), MVC_ENOTFOUND,
	    "'nope.safetensors' is not tracked in version 'HEAD'");
	assert_err(mvc_checkout_paths(f->repo, "nope", NULL, 0, &co), MVC_ENOTFOUND,
	    "unknown revision 'nope'");
	co.version = 0;
	assert_err(mvc_checkout_paths(f->repo, "HEAD", NULL, 0, &co), MVC_EINVALID,
	    "bad checkout options version");
	assert_true(file_equals(f->model, v1, l1));
	free(v1);
	free(v2);
}

/* Nested tracked files come back with their directories. */
static void test_checkout_paths_nested(void **state)
{
	fx *f = *state;
	char *dir = path_join(f->work, "a/b"), *top = path_join(f->work, "a");
	char *file = path_join(f->work, "a/b/m.safetensors");
	const char *paths[] = { "a/b/m.safetensors" };
	mvc_commit_options o = MVC_COMMIT_OPTIONS_INIT;
	mvc_checkout_options co = MVC_CHECKOUT_OPTIONS_INIT;
	size_t len;
	unsigned char *p;

	mkdirs(dir);
	p = put_model(f, "a/b/m.safetensors", 1, 2, 3, &len);
	o.message = "nested";
	assert_ok(commit_opts(f, NULL, NULL, paths, 1, &o));
	rm_rf(top);
	assert_status(f, "a/b/m.safetensors", MVC_FILE_MISSING);
	assert_ok(mvc_checkout_paths(f->repo, "HEAD", NULL, 0, &co));
	assert_true(file_equals(file, p, len));
	assert_status(f, "a/b/m.safetensors", MVC_FILE_CLEAN);
	free(dir);
	free(top);
	free(file);
	free(p);
}

/* Uncommitted changes are not overwritten unless forced. */
static void test_checkout_dirty(void **state)
{
	fx *f = *state;
	size_t l1, l2, lm;
	unsigned char *v1 = put_model(f, MODEL, 1, 2, 3, &l1), *v2, *mine;
	mvc_checkout_options co = MVC_CHECKOUT_OPTIONS_INIT;
	const char *paths[] = { MODEL };

	assert_ok(commit(f, "v1", NULL, NULL));
	v2 = put_model(f, MODEL, 1, 2, 30, &l2);
	assert_ok(commit(f, "v2", NULL, NULL));
	mine = put_model(f, MODEL, 100, 2, 30, &lm);
	assert_status(f, MODEL, MVC_FILE_MODIFIED);

	assert_err(mvc_checkout_paths(f->repo, "HEAD~1", paths, 1, &co), MVC_EDIRTY,
	    "'" MODEL "' has uncommitted changes; commit them or use --force");
	assert_true(file_equals(f->model, mine, lm));
	assert_err(mvc_checkout_paths(f->repo, "HEAD", NULL, 0, &co), MVC_EDIRTY,
	    "uncommitted changes");
	assert_true(file_equals(f->model, mine, lm));

	/* not even a model file any more */
	write_bytes(f->model, "scratch notes", 13);
	assert_status(f, MODEL, MVC_FILE_INVALID);
	assert_err(mvc_checkout_paths(f->repo, "HEAD", paths, 1, &co), MVC_EDIRTY,
	    "'" MODEL "' has uncommitted changes (it no longer parses as a model)");
	assert_true(file_equals(f->model, "scratch notes", 13));

	co.force = 1;
	assert_ok(mvc_checkout_paths(f->repo, "HEAD~1", paths, 1, &co));
	assert_true(file_equals(f->model, v1, l1));
	assert_ok(mvc_checkout_paths(f->repo, "HEAD", paths, 1, &co));
	assert_true(file_equals(f->model, v2, l2));
	free(v1);
	free(v2);
	free(mine);
}

/* One dirty file stops the whole checkout before any file is written. */
static void test_checkout_dirty_all_or_nothing(void **state)
{
	fx *f = *state;
	size_t la2, lb, len;
	unsigned char *a2, *bm;
	const char *paths[] = { "a.safetensors", "b.safetensors" };
	mvc_commit_options o = MVC_COMMIT_OPTIONS_INIT;
	mvc_checkout_options co = MVC_CHECKOUT_OPTIONS_INIT;
	char *a = path_join(f->work, "a.safetensors"), *b = path_join(f->work, "b.safetensors");

	o.message = "v1";
	free(put_model(f, "a.safetensors", 1, 2, 3, &len));
	free(put_model(f, "b.safetensors", 4, 5, 6, &len));
	assert_ok(commit_opts(f, NULL, NULL, paths, 2, &o));
	o.message = "v2";
	a2 = put_model(f, "a.safetensors", 10, 2, 3, &la2);
	free(put_model(f, "b.safetensors", 40, 5, 6, &len));
	assert_ok(commit_opts(f, NULL, NULL, paths, 2, &o));
	bm = put_model(f, "b.safetensors", 400, 5, 6, &lb);
	assert_err(mvc_checkout_paths(f->repo, "HEAD~1", NULL, 0, &co), MVC_EDIRTY,
	    "'b.safetensors' has uncommitted changes");
	assert_true(file_equals(a, a2, la2));
	assert_true(file_equals(b, bm, lb));
	/* no temporary files left behind */
	assert_int_equal(count_entries(f->work), 3);
	free(a2);
	free(bm);
	free(a);
	free(b);
}

static void test_status(void **state)
{
	fx *f = *state;
	size_t len;
	unsigned char *v1;
	char *sub = path_join(f->work, "sub"), *hidden = path_join(f->work, ".hidden");
	char *notes = path_join(f->work, "notes.txt");
	mvc_status_list *l = NULL;
	mvc_oid id1;

	mkdirs(sub);
	mkdirs(hidden);
	v1 = put_model(f, MODEL, 1, 2, 3, &len);
	free(put_model(f, "sub/z.safetensors", 1, 2, 3, &len));
	free(put_model(f, "sub/a.safetensors", 1, 2, 3, &len));
	free(put_model(f, ".hidden/h.safetensors", 1, 2, 3, &len));
	write_bytes(notes, "n", 1);

	/* nothing committed: every model file is untracked */
	assert_ok(mvc_status(&l, f->repo, 0));
	assert_string_equal(l->branch, "main");
	assert_int_equal(l->unborn, 1);
	assert_int_equal(l->count, 3);
	assert_string_equal(l->entries[0].path, MODEL);
	assert_string_equal(l->entries[1].path, "sub/a.safetensors");
	assert_string_equal(l->entries[2].path, "sub/z.safetensors");
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(l->entries[i].state, MVC_FILE_UNTRACKED);
	mvc_status_free(l);

	/* tracked files first, by path, then untracked ones */
	{
		const char *paths[] = { "sub/z.safetensors", MODEL };
		mvc_commit_options o = MVC_COMMIT_OPTIONS_INIT;

		o.message = "v1";
		assert_ok(commit_opts(f, &id1, NULL, paths, 2, &o));
	}
	assert_ok(mvc_status(&l, f->repo, 0));
	assert_int_equal(l->unborn, 0);
	assert_int_equal(l->count, 3);
	assert_string_equal(l->entries[0].path, MODEL);
	assert_int_equal(l->entries[0].state, MVC_FILE_CLEAN);
	assert_string_equal(l->entries[1].path, "sub/z.safetensors");
	assert_int_equal(l->entries[1].state, MVC_FILE_CLEAN);
	assert_string_equal(l->entries[2].path, "sub/a.safetensors");
	assert_int_equal(l->entries[2].state, MVC_FILE_UNTRACKED);
	mvc_status_free(l);

	free(put_model(f, MODEL, 1, 2, 4, &len));
	assert_status(f, MODEL, MVC_FILE_MODIFIED);
	write_bytes(f->model, v1, len - 1);
	assert_status(f, MODEL, MVC_FILE_INVALID);
	assert_int_equal(unlink(f->model), 0);
	assert_status(f, MODEL, MVC_FILE_MISSING);
	write_bytes(f->model, v1, len);
	assert_status(f, MODEL, MVC_FILE_CLEAN);
	assert_status(f, "sub/z.safetensors", MVC_FILE_CLEAN);

	assert_string_equal(mvc_file_state_name(MVC_FILE_CLEAN), "clean");
	assert_string_equal(mvc_file_state_name(MVC_FILE_MODIFIED), "modified");
	assert_string_equal(mvc_file_state_name(MVC_FILE_OTHER_VERSION), "other-version");
	assert_string_equal(mvc_file_state_name(MVC_FILE_MISSING), "missing");
	assert_string_equal(mvc_file_state_name(MVC_FILE_UNTRACKED), "untracked");
	assert_string_equal(mvc_file_state_name(MVC_FILE_INVALID), "invalid");
	mvc_status_free(NULL);
	free(v1);
	free(sub);
	free(hidden);
	free(notes);
}

/* A change that keeps size and times is still seen when the stat data
 * cannot be trusted (the file changed just after it was hashed). */
static void test_status_same_size_change(void **state)
{
	fx *f = *state;
	size_t len;
	unsigned char *v1 = put_model(f, MODEL, 1, 2, 3, &len);

	assert_ok(commit(f, "v1", NULL, NULL));
	assert_status(f, MODEL, MVC_FILE_CLEAN);
	v1[len - 1] ^= 1;
	write_bytes(f->model, v1, len);
	assert_status(f, MODEL, MVC_FILE_MODIFIED);
	free(v1);
}

static void test_version_accessors(void **state)
{
	fx *f = *state;
	size_t len;
	const char *meta[] = { "lr=0.001", "epoch=3", "dataset=s3://bucket/train-v2" };
	const char *paths[] = { MODEL };
	mvc_commit_options o = MVC_COMMIT_OPTIONS_INIT;
	mvc_version *v = NULL;
	mvc_oid id1, id2, p;
	mvc_person who;
	const char *k, *val;
	time_t now = time(NULL);

	free(put_model(f, MODEL, 1, 2, 3, &len));
	o.message = "\n  first version\n\nwith a body line\n\n";
	o.meta = meta;
	o.nmeta = 3;
	assert_ok(commit_opts(f, &id1, NULL, paths, 1, &o));
	assert_ok(mvc_version_lookup(&v, f->repo, "HEAD"));
	assert_oid_equal(mvc_version_id(v), &id1);
	assert_string_equal(mvc_version_summary(v), "first version");
	assert_string_equal(mvc_version_message(v),
	    "first version\n\nwith a body line\n\n"
	    "lr: 0.001\nepoch: 3\ndataset: s3://bucket/train-v2\n");
	assert_int_equal(mvc_version_meta_count(v), 3);
	assert_ok(mvc_version_meta(&k, &val, v, 0));
	assert_string_equal(k, "lr");
	assert_string_equal(val, "0.001");
	assert_ok(mvc_version_meta(&k, &val, v, 1));
	assert_string_equal(k, "epoch");
	assert_string_equal(val, "3");
	assert_ok(mvc_version_meta(&k, &val, v, 2));
	assert_string_equal(k, "dataset");
	assert_string_equal(val, "s3://bucket/train-v2");
	assert_err(mvc_version_meta(&k, &val, v, 3), MVC_ENOTFOUND, "no metadata entry 3");
	mvc_version_author(&who, v);
	assert_string_equal(who.name, "Unit Tester");
	assert_string_equal(who.email, "unit@example.com");
	assert_true(who.time >= (int64_t)now - 60 && who.time <= (int64_t)now + 60);
	mvc_version_committer(&who, v);
	assert_string_equal(who.name, "Unit Tester");
	assert_int_equal(mvc_version_file_count(v), 1);
	assert_string_equal(mvc_version_file_path(v, 0), MODEL);
	assert_null(mvc_version_file_path(v, 1));
	assert_int_equal(mvc_version_parentcount(v), 0);
	assert_err(mvc_version_parent_id(&p, v, 0), MVC_ENOTFOUND, "has no parent 0");
	{
		mvc_manifest *m = NULL;

		assert_ok(mvc_version_manifest(&m, v, MODEL));
		assert_int_equal(m->ntensors, 3);
		assert_int_equal(m->file_size, len);
		assert_int_equal(m->format, MVC_FORMAT_SAFETENSORS);
		mvc_manifest_free(m);
		assert_err(mvc_version_manifest(&m, v, "other.safetensors"), MVC_ENOTFOUND,
		    "not tracked");
		assert_null(m);
	}
	mvc_version_free(v);

	/* a version without metadata, and its parent */
	free(put_model(f, MODEL, 1, 2, 4, &len));
	assert_ok(commit(f, "second", &id2, NULL));
	assert_ok(mvc_version_lookup(&v, f->repo, "HEAD"));
	assert_string_equal(mvc_version_summary(v), "second");
	assert_int_equal(mvc_version_meta_count(v), 0);
	assert_int_equal(mvc_version_parentcount(v), 1);
	assert_ok(mvc_version_parent_id(&p, v, 0));
	assert_oid_equal(&p, &id1);
	assert_err(mvc_version_parent_id(&p, v, 1), MVC_ENOTFOUND, "no parent 1");
	mvc_version_free(v);
	mvc_version_free(NULL);
}

static void test_version_lookup(void **state)
{
	fx *f = *state;
	size_t len;
	mvc_version *v = (mvc_version *)&v;
	mvc_oid id1, id2;
	char hex[MVC_OID_HEXSZ + 1];

	assert_err(mvc_version_lookup(&v, f->repo, "HEAD"), MVC_ENOTFOUND,
	    "no version committed yet");
	assert_null(v);
	free(put_model(f, MODEL, 1, 2, 3, &len));
	assert_ok(commit(f, "one", &id1, NULL));
	free(put_model(f, MODEL, 1, 2, 4, &len));
	assert_ok(commit(f, "two", &id2, NULL));
	mvc_oid_fmt(hex, &id1);
	assert_ok(mvc_version_lookup(&v, f->repo, hex));
	assert_oid_equal(mvc_version_id(v), &id1);
	mvc_version_free(v);
	hex[7] = '\0';
	assert_ok(mvc_version_lookup(&v, f->repo, hex));
	assert_oid_equal(mvc_version_id(v), &id1);
	mvc_version_free(v);
	assert_ok(mvc_version_lookup(&v, f->repo, "HEAD~1"));
	assert_oid_equal(mvc_version_id(v), &id1);
	mvc_version_free(v);
	assert_ok(mvc_version_lookup(&v, f->repo, "main"));
	assert_oid_equal(mvc_version_id(v), &id2);
	mvc_version_free(v);
	assert_err(mvc_version_lookup(&v, f->repo, "nope"), MVC_ENOTFOUND,
	    "unknown revision 'nope'");
	assert_null(v);
	assert_err(mvc_version_lookup(&v, f->repo, "HEAD~2"), MVC_ENOTFOUND, "HEAD~2");
	assert_err(mvc_version_lookup(&v, f->repo, "HEAD^{tree}"), MVC_ENOTFOUND,
	    "does not name a version");
	assert_null(v);
}

static void test_version_refs(void **state)
{
	fx *f = *state;
	size_t len, n = 99;
	char **refs = NULL;
	mvc_oid id1, id2;
	git_repository *git = mvc__repo_git(f->repo);
	git_oid g1, g2, tag;
	git_object *target = NULL;
	git_reference *br = NULL;
	git_commit *c2 = NULL;
	git_signature *sig = NULL;

	free(put_model(f, MODEL, 1, 2, 3, &len));
	assert_ok(commit(f, "one", &id1, NULL));
	free(put_model(f, MODEL, 1, 2, 4, &len));
	assert_ok(commit(f, "two", &id2, NULL));
	assert_ok(mvc_version_refs(&refs, &n, f->repo, &id2));
	assert_int_equal(n, 2);
	assert_string_equal(refs[0], "HEAD");
	assert_string_equal(refs[1], "branch:main");
	mvc_strings_free(refs, n);
	assert_ok(mvc_version_refs(&refs, &n, f->repo, &id1));
	assert_int_equal(n, 0);
	mvc_strings_free(refs, n);

	/* tags, lightweight and annotated, and another branch */
	memcpy(g1.id, id1.id, 20);
	memcpy(g2.id, id2.id, 20);
	assert_int_equal(git_object_lookup(&target, git, &g1, GIT_OBJECT_COMMIT), 0);
	assert_int_equal(git_tag_create_lightweight(&tag, git, "v1", target, 0), 0);
	assert_int_equal(git_signature_now(&sig, "Unit Tester", "unit@example.com"), 0);
	assert_int_equal(git_tag_create(&tag, git, "release", target, sig, "annotated", 0), 0);
	assert_int_equal(git_commit_lookup(&c2, git, &g2), 0);
	assert_int_equal(git_branch_create(&br, git, "exp", c2, 0), 0);
	assert_ok(mvc_version_refs(&refs, &n, f->repo, &id1));
	assert_int_equal(n, 2);
	assert_true((!strcmp(refs[0], "tag:v1") && !strcmp(refs[1], "tag:release")) ||
	            (!strcmp(refs[1], "tag:v1") && !strcmp(refs[0], "tag:release")));
	mvc_strings_free(refs, n);
	assert_ok(mvc_version_refs(&refs, &n, f->repo, &id2));
	assert_int_equal(n, 3);
	assert_string_equal(refs[0], "HEAD");
	assert_true((!strcmp(refs[1], "branch:exp") && !strcmp(refs[2], "branch:main")) ||
	            (!strcmp(refs[2], "branch:exp") && !strcmp(refs[1], "branch:main")));
	mvc_strings_free(refs, n);
	mvc_strings_free(NULL, 0);
	git_reference_free(br);
	git_commit_free(c2);
	git_signature_free(sig);
	git_object_free(target);
}

static void test_walk(void **state)
{
	fx *f = *state;
	size_t len;
	mvc_oid id[3];
	mvc_walk *w = (mvc_walk *)&w;
	mvc_version *v = NULL;

	assert_err(mvc_walk_new(&w, f->repo, NULL), MVC_ENOTFOUND, "no version committed yet");
	assert_null(w);
	for (int i = 0; i < 3; i++) {
		char msg[16];

		snprintf(msg, sizeof(msg), "v%d", i + 1);
		free(put_model(f, MODEL, 1, 2, (uint64_t)(10 + i), &len));
		assert_ok(commit(f, msg, &id[i], NULL));
	}
	assert_ok(mvc_walk_new(&w, f->repo, NULL));
	for (int i = 2; i >= 0; i--) {
		char msg[16];

		snprintf(msg, sizeof(msg), "v%d", i + 1);
		assert_ok(mvc_walk_next(&v, w));
		assert_oid_equal(mvc_version_id(v), &id[i]);
		assert_string_equal(mvc_version_summary(v), msg);
		mvc_version_free(v);
	}
	assert_int_equal(mvc_walk_next(&v, w), MVC_ITEROVER);
	assert_null(v);
	assert_int_equal(mvc_walk_next(&v, w), MVC_ITEROVER);
	mvc_walk_free(w);

	assert_ok(mvc_walk_new(&w, f->repo, "HEAD~1"));
	assert_ok(mvc_walk_next(&v, w));
	assert_oid_equal(mvc_version_id(v), &id[1]);
	mvc_version_free(v);
	assert_ok(mvc_walk_next(&v, w));
	assert_oid_equal(mvc_version_id(v), &id[0]);
	mvc_version_free(v);
	assert_int_equal(mvc_walk_next(&v, w), MVC_ITEROVER);
	mvc_walk_free(w);
	mvc_walk_free(NULL);
	assert_err(mvc_walk_new(&w, f->repo, "nope"), MVC_ENOTFOUND, "unknown revision 'nope'");
}

/* A detached HEAD: no branch; a commit moves HEAD and no branch. */
static void test_detached_head(void **state)
{
	fx *f = *state;
	size_t len;
	mvc_oid id1, id2, head;
	git_oid g1;
	char *branch = (char *)&branch;
	int unborn = 1;
	mvc_status_list *l = NULL;
	mvc_version *v = NULL;
	char **refs = NULL;
	size_t n = 0;

	free(put_model(f, MODEL, 1, 2, 3, &len));
	assert_ok(commit(f, "v1", &id1, NULL));
	memcpy(g1.id, id1.id, 20);
	assert_int_equal(git_repository_set_head_detached(mvc__repo_git(f->repo), &g1), 0);
	assert_ok(mvc_repo_head(&branch, &unborn, f->repo));
	assert_null(branch);
	assert_int_equal(unborn, 0);
	assert_ok(mvc_status(&l, f->repo, 0));
	assert_null(l->branch);
	assert_int_equal(state_of(l, MODEL, NULL), MVC_FILE_CLEAN);
	mvc_status_free(l);

	free(put_model(f, MODEL, 1, 2, 4, &len));
	assert_ok(commit(f, "v2 detached", &id2, NULL));
	head_id(f, &head);
	assert_oid_equal(&head, &id2);
	assert_ok(mvc_version_lookup(&v, f->repo, "main"));
	assert_oid_equal(mvc_version_id(v), &id1);
	mvc_version_free(v);
	assert_ok(mvc_version_refs(&refs, &n, f->repo, &id2));
	assert_int_equal(n, 1);
	assert_string_equal(refs[0], "HEAD");
	mvc_strings_free(refs, n);
}

/*
 * Commits write packfiles.  To damage one object, turn every pack into
 * loose objects first (git unpack-objects skips objects the store has,
 * so the pack is moved out of the store before it is unpacked).
 */
static void explode_packs(const fx *f)
{
	char *packdir = path_join(mvc_repo_path(f->repo), "objects/pack");
	char *names[16];
	size_t n = 0;
	DIR *d = opendir(packdir);
	struct dirent *de;

	assert_non_null(d);
	while ((de = readdir(d)) && n < 16) {
		size_t l = strlen(de->d_name);

		if (l > 5 && !strcmp(de->d_name + l - 5, ".pack"))
			names[n++] = strndup(de->d_name, l - 5);
	}
	closedir(d);
	assert_true(n > 0);
	for (size_t i = 0; i < n; i++) {
		char *pack, *idx, *moved, *cmd;

		assert_true(asprintf(&pack, "%s/%s.pack", packdir, names[i]) > 0);
		assert_true(asprintf(&idx, "%s/%s.idx", packdir, names[i]) > 0);
		assert_true(asprintf(&moved, "%s/%s.pack", f->tmp, names[i]) > 0);
		assert_int_equal(rename(pack, moved), 0);
		assert_int_equal(unlink(idx), 0);
		assert_true(asprintf(&cmd, "git --git-dir='%s' unpack-objects -q < '%s'",
		    mvc_repo_path(f->repo), moved) > 0);
		if (system(cmd) != 0)
			fail_msg("'%s' failed", cmd);
		unlink(moved);
		free(pack);
		free(idx);
		free(moved);
		free(cmd);
		free(names[i]);
	}
	free(packdir);
}

/* The loose object file of the blob at `spec` ("HEAD:path/t/000000/000003"). */
static char *loose_path(const fx *f, const char *spec)
{
	git_object *obj = NULL;
	char hex[GIT_OID_HEXSZ + 1], *p;

	assert_int_equal(git_revparse_single(&obj, mvc__repo_git(f->repo), spec), 0);
	git_oid_tostr(hex, sizeof(hex), git_object_id(obj));
	git_object_free(obj);
	if (asprintf(&p, "%s/objects/%.2s/%s", mvc_repo_path(f->repo), hex, hex + 2) < 0)
		fail_msg("out of memory");
	if (access(p, F_OK) != 0)
		fail_msg("%s is not a loose object (%s)", spec, p);
	return p;
}

/* Put the bytes of another object's file in place of `victim`'s. */
static void swap_object(const char *victim, const char *donor)
{
	size_t len = 0;
	unsigned char *p = read_bytes(donor, &len);

	assert_non_null(p);
	assert_int_equal(unlink(victim), 0);
	write_bytes(victim, p, len);
	free(p);
}

/* A fresh handle: nothing cached from before the damage. */
static void reopen(fx *f)
{
	mvc_repo_free(f->repo);
	f->repo = NULL;
	assert_ok(mvc_repo_open(&f->repo, f->work));
}

/* A damaged chunk fails checkout with a message that names the file, the
 * tensor and the chunk, and nothing is written. */
static void test_corrupt_chunk(void **state)
{
	fx *f = *state;
	const tspec ts[] = {
		{ "emb", "F32", 2, { 64, 16 }, 1 },
		{ "bias", "F16", 1, { 32 }, 3 },
	};
	size_t len;
	unsigned char *v1 = model_bytes(&len, ts, 2);
	mvc_checkout_options co = MVC_CHECKOUT_OPTIONS_INIT;
	char *victim, *donor, *out = path_join(f->tmp, "out"), *outdir = path_join(f->tmp, "o");
	char *dest = path_join(outdir, "precious.safetensors");
	const char *paths[] = { MODEL };

	set_chunk_size(f, 256);
	write_bytes(f->model, v1, len);
	assert_ok(commit(f, "v1", NULL, NULL));
	assert_checkout_equals(f, "HEAD", MODEL, v1, len);
	explode_packs(f);
	reopen(f);
	assert_checkout_equals(f, "HEAD", MODEL, v1, len);
	victim = loose_path(f, "HEAD:" MODEL "/t/000000/000003");
	donor = loose_path(f, "HEAD:" MODEL "/t/000000/000004");
	swap_object(victim, donor);
	reopen(f);

	mkdirs(outdir);
	write_bytes(dest, "precious", 8);
	assert_err(mvc_checkout_to(f->repo, "HEAD", MODEL, dest, &co), MVC_ECORRUPT,
	    "'" MODEL "': tensor 'emb': chunk 3: fails its BLAKE2b digest");
	assert_true(file_equals(dest, "precious", 8));
	assert_int_equal(count_entries(outdir), 1); /* no temporary file left */

	/* the working file is not replaced either, even when forced */
	assert_int_equal(unlink(f->model), 0);
	co.force = 1;
	assert_err(mvc_checkout_paths(f->repo, "HEAD", paths, 1, &co), MVC_ECORRUPT,
	    "tensor 'emb': chunk 3");
	assert_int_equal(access(f->model, F_OK), -1);
	assert_int_equal(count_entries(f->work), 1); /* .mvc only */

	/* a blob that is not a chunk at all: the tensor's header is checked */
	free(donor);
	donor = loose_path(f, "HEAD:" MODEL "/MANIFEST");
	swap_object(victim, donor);
	reopen(f);
	assert_err(mvc_checkout_to(f->repo, "HEAD", MODEL, dest, &co), MVC_ECORRUPT,
	    "tensor 'emb': chunk 3: not an mvc chunk");
	assert_true(file_equals(dest, "precious", 8));
	assert_int_equal(count_entries(outdir), 1);

	/* the non-tensor bytes are checked too */
	free(victim);
	victim = loose_path(f, "HEAD:" MODEL "/header");
	swap_object(victim, donor);
	reopen(f);
	assert_err(mvc_checkout_to(f->repo, "HEAD", MODEL, dest, &co), MVC_ECORRUPT,
	    "'" MODEL "': the stored header is missing or damaged");
	assert_true(file_equals(dest, "precious", 8));
	assert_int_equal(count_entries(outdir), 1);
	free(v1);
	free(victim);
	free(donor);
	free(out);
	free(outdir);
	free(dest);
}

/* Damage inside a packfile (no unpacking): whatever layer notices it,
 * checkout fails naming the chunk, and writes nothing. */
static void test_corrupt_pack(void **state)
{
	fx *f = *state;
	const tspec ts[] = {
		{ "emb", "F32", 2, { 64, 16 }, 1 },
		{ "bias", "F16", 1, { 32 }, 3 },
	};
	size_t len, found = 0;
	unsigned char *v1 = model_bytes(&len, ts, 2);
	mvc_checkout_options co = MVC_CHECKOUT_OPTIONS_INIT;
	char *packdir, *dest = path_join(f->tmp, "precious.safetensors");
	git_object *obj = NULL;
	git_odb *odb = NULL;
	git_odb_object *blob = NULL;
	DIR *d;
	struct dirent *de;

	set_chunk_size(f, 256);
	write_bytes(f->model, v1, len);
	assert_ok(commit(f, "v1", NULL, NULL));
	assert_int_equal(git_revparse_single(&obj, mvc__repo_git(f->repo),
	    "HEAD:" MODEL "/t/000000/000003"), 0);
	assert_int_equal(git_repository_odb(&odb, mvc__repo_git(f->repo)), 0);
	assert_int_equal(git_odb_read(&blob, odb, git_object_id(obj)), 0);
	packdir = path_join(mvc_repo_path(f->repo), "objects/pack");
	assert_non_null(d = opendir(packdir));
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name), plen = 0;
		char *pack;
		unsigned char *p, *hit;

		if (l < 5 || strcmp(de->d_name + l - 5, ".pack"))
			continue;
		pack = path_join(packdir, de->d_name);
		p = read_bytes(pack, &plen);
		assert_non_null(p);
		hit = memmem(p, plen, git_odb_object_data(blob), git_odb_object_size(blob));
		if (hit) {
			found++;
			hit[git_odb_object_size(blob) / 2] ^= 0x10;
			assert_int_equal(unlink(pack), 0);
			write_bytes(pack, p, plen);
		}
		free(p);
		free(pack);
	}
	closedir(d);
	assert_int_equal(found, 1);
	git_odb_object_free(blob);
	git_odb_free(odb);
	git_object_free(obj);
	reopen(f);
	write_bytes(dest, "precious", 8);
	assert_err(mvc_checkout_to(f->repo, "HEAD", MODEL, dest, &co), MVC_ECORRUPT,
	    "'" MODEL "': tensor 'emb': chunk 3: ");
	assert_true(file_equals(dest, "precious", 8));
	assert_int_equal(count_entries(f->tmp), 2); /* w and precious: no temporary file */
	free(v1);
	free(packdir);
	free(dest);
}

/* The same chunk changed in version after version: its deltas chain on
 * the parent's up to MVC_DELTA_MAX_DEPTH, then start again from a full
 * chunk; every version reads back. */
static void test_delta_chain(void **state)
{
	fx *f = *state;
	const tspec ts[] = { { "emb", "F32", 2, { 64, 16 }, 1 } };
	enum { N = MVC_DELTA_MAX_DEPTH + 4 };
	unsigned char *v[N];
	size_t len, off;
	mvc_commit_stats st;
	unsigned maxdepth = 0;
	int deltas = 0;

	set_chunk_size(f, 256);
	v[0] = model_bytes(&len, ts, 1);
	{
		mvc_layout *l = NULL;

		assert_ok(mvc_safetensors_parse(&l, v[0], len, len, MODEL));
		off = l->tensors[0].offset;
		mvc_layout_free(l);
	}
	for (int i = 0; i < N; i++) {
		char msg[16];

		if (i) {
			v[i] = malloc(len);
			memcpy(v[i], v[i - 1], len);
			/* a small step on a few weights of chunk 2 */
			for (int k = 0; k < 8; k++)
				v[i][off + 2 * 256 + 4 * (size_t)k * 7] ^= (unsigned char)(1 + i);
		}
		write_bytes(f->model, v[i], len);
		snprintf(msg, sizeof(msg), "v%d", i);
		assert_ok(commit(f, msg, NULL, &st));
		if (i)
			assert_int_equal(st.chunks_written, 1);
		assert_checkout_equals(f, "HEAD", MODEL, v[i], len);
		/* how the changed chunk was stored */
		{
			git_object *obj = NULL;
			git_blob *b;
			unsigned char base[20];
			unsigned depth = 0;
			int rc;

			assert_int_equal(git_revparse_single(&obj, mvc__repo_git(f->repo),
			    "HEAD:" MODEL "/t/000000/000002"), 0);
			b = (git_blob *)obj;
			rc = mvc_codec_delta_info(git_blob_rawcontent(b), (size_t)git_blob_rawsize(b),
			    base, &depth);
			assert_true(rc == 0 || rc == 1);
			if (rc == 1) {
				deltas++;
				if (depth > maxdepth)
					maxdepth = depth;
			}
			git_object_free(obj);
		}
	}
	/* small changes were stored as deltas, and chains stayed bounded */
	assert_true(deltas >= N / 2);
	assert_true(maxdepth >= 2 && maxdepth <= MVC_DELTA_MAX_DEPTH);
	for (int i = 0; i < N; i++) {
		char rev[16];

		snprintf(rev, sizeof(rev), "HEAD~%d", N - 1 - i);
		assert_checkout_equals(f, rev, MODEL, v[i], len);
		free(v[i]);
	}
}

/* The stat cache: a file untouched since it was hashed is not read again;
 * a change of content that keeps size and mtime is still seen. */
static void test_stat_cache(void **state)
{
	fx *f = *state;
	size_t len;
	unsigned char *v1 = put_model(f, MODEL, 1, 2, 3, &len);
	struct timespec pause = { 1, 200000000 };
	struct stat sb;
	struct timespec times[2];
	mvc_commit_stats st;
	mvc_oid id1, id2;

	/* old enough that its stat data can be trusted */
	nanosleep(&pause, NULL);
	assert_ok(commit(f, "v1", &id1, &st));
	assert_int_equal(st.chunks, 3);
	assert_err(commit(f, "again", NULL, &st), MVC_EUNCHANGED, "nothing to commit");
	assert_int_equal(st.chunks, 0);      /* not read: the cache said clean */
	assert_int_equal(st.files, 1);
	assert_int_equal(st.tensors_reused, 3);
	assert_status(f, MODEL, MVC_FILE_CLEAN);

	/* same size, same mtime, other bytes: the ctime gives it away */
	assert_int_equal(stat(f->model, &sb), 0);
	v1[len - 1] ^= 0xff;
	write_bytes(f->model, v1, len);
	times[0] = sb.st_atim;
	times[1] = sb.st_mtim;
	assert_int_equal(utimensat(AT_FDCWD, f->model, times, 0), 0);
	assert_status(f, MODEL, MVC_FILE_MODIFIED);
	assert_ok(commit(f, "v2", &id2, &st));
	assert_int_equal(st.chunks_written, 1);
	assert_checkout_equals(f, "HEAD", MODEL, v1, len);
	free(v1);
}

/* A file read from elsewhere is committed as the tracked path, with extra
 * parents after HEAD; the working file and its cache entry are left alone. */
static void test_commit_sources_and_parents(void **state)
{
	fx *f = *state;
	mvc_commit_options o = MVC_COMMIT_OPTIONS_INIT;
	const char *paths[] = { MODEL };
	size_t len1, len2, len3;
	unsigned char *v1 = put_model(f, MODEL, 1, 2, 3, &len1);
	unsigned char *v2, *v3;
	char *other = path_join(f->tmp, "elsewhere.safetensors");
	const char *sources[] = { other };
	mvc_oid a, b, res, p;
	mvc_version *v = NULL;

	assert_ok(commit(f, "a", &a, NULL));
	v2 = put_model(f, MODEL, 4, 2, 3, &len2);
	assert_ok(commit(f, "b", &b, NULL));
	/* the result lives outside the working directory */
	v3 = put_model(f, MODEL, 9, 9, 9, &len3);
	assert_int_equal(rename(f->model, other), 0);
	write_bytes(f->model, v2, len2);
	o.message = "aggregate";
	o.sources = sources;
	o.extra_parents = &a;
	o.nextra_parents = 1;
	assert_ok(commit_opts(f, &res, NULL, paths, 1, &o));
	assert_checkout_equals(f, "HEAD", MODEL, v3, len3);
	assert_true(file_equals(f->model, v2, len2));
	assert_ok(mvc_version_lookup(&v, f->repo, "HEAD"));
	assert_int_equal(mvc_version_parentcount(v), 2);
	assert_ok(mvc_version_parent_id(&p, v, 0));
	assert_oid_equal(&p, &b);
	assert_ok(mvc_version_parent_id(&p, v, 1));
	assert_oid_equal(&p, &a);
	mvc_version_free(v);
	/* sources without matching paths are refused */
	assert_err(mvc_commit(NULL, NULL, f->repo, NULL, 0, &o), MVC_EINVALID, "sources");
	free(other);
	free(v1);
	free(v2);
	free(v3);
}

/* A chunk equal to an extra parent's chunk at the same place is reused,
 * not stored again; a stale expected parent refuses the commit. */
static void test_commit_reuses_extra_parents(void **state)
{
	fx *f = *state;
	mvc_commit_options o = MVC_COMMIT_OPTIONS_INIT;
	const char *paths[] = { MODEL };
	size_t len;
	unsigned char *v;
	char *site = path_join(f->tmp, "site.safetensors");
	const char *sources[] = { site };
	mvc_commit_stats st;
	mvc_oid a, b, res, stale;

	free(put_model(f, MODEL, 1, 2, 3, &len));
	assert_ok(commit(f, "a", &a, NULL));
	/* b: every tensor different from a */
	v = put_model(f, MODEL, 4, 5, 6, &len);
	assert_ok(commit(f, "b", &b, NULL));
	free(v);
	/* the result equals a, committed on top of b with a as extra parent */
	v = put_model(f, MODEL, 1, 2, 3, &len);
	write_bytes(site, v, len);
	free(v);
	o.message = "equals an input";
	o.sources = sources;
	o.extra_parents = &a;
	o.nextra_parents = 1;
	stale = a;
	o.expected_parent = &stale;
	assert_err(commit_opts(f, &res, &st, paths, 1, &o), MVC_ECONFLICT, "moved");
	o.expected_parent = &b;
	assert_ok(commit_opts(f, &res, &st, paths, 1, &o));
	assert_int_equal(st.chunks_written, 0);
	assert_int_equal(st.chunks, 3);
	free(site);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_commit_first),
		T(test_commit_one_tensor_changed),
		T(test_commit_dedup),
		T(test_commit_unchanged),
		T(test_commit_bad_meta),
		T(test_commit_bad_options),
		T(test_commit_bad_files),
		T(test_commit_adds_file),
		T(test_multi_chunk),
		T(test_odd_models),
		T(test_checkout_to),
		T(test_checkout_to_several_files),
		T(test_checkout_paths),
		T(test_checkout_paths_nested),
		T(test_checkout_dirty),
		T(test_checkout_dirty_all_or_nothing),
		T(test_status),
		T(test_status_same_size_change),
		T(test_version_accessors),
		T(test_version_lookup),
		T(test_version_refs),
		T(test_walk),
		T(test_detached_head),
		T(test_corrupt_chunk),
		T(test_corrupt_pack),
		T(test_delta_chain),
		T(test_stat_cache),
		T(test_commit_sources_and_parents),
		T(test_commit_reuses_extra_parents),
	};

	/* no user or system git configuration leaks into the tests */
	setenv("HOME", "/nonexistent-mvc-test-home", 1);
	setenv("XDG_CONFIG_HOME", "/nonexistent-mvc-test-home", 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_AUTHOR_NAME", "Unit Tester", 1);
	setenv("GIT_AUTHOR_EMAIL", "unit@example.com", 1);
	setenv("GIT_COMMITTER_NAME", "Unit Tester", 1);
	setenv("GIT_COMMITTER_EMAIL", "unit@example.com", 1);
	unsetenv("MVC_DIR");
	unsetenv("MVC_WORK_TREE");
	umask(022);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
