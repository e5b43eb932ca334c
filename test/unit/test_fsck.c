/*
 * mvc_fsck (lib/fsck.c): a clean store passes; damage made by hand with
 * libgit2 -- a garbage chunk, a chunk of other bytes, a missing chunk
 * object, a missing delta base, a chunk missing from its tree, a corrupt
 * manifest, a damaged header, a ref to nothing -- is found and named by
 * version, file, tensor, chunk and object.
 */
#include <zlib.h>
#include "unit.h"
#include "internal.h"

#define MODEL "model.safetensors"

typedef struct {
	char *tmp, *work, *model;
	mvc_repo *repo;
	git_repository *git;
	mvc_oid v1, v2;
} fx;

static void put_model(fx *f, uint64_t seed)
{
	static const char hdr[] =
	    "{\"w\":{\"dtype\":\"F32\",\"shape\":[32,8],\"data_offsets\":[0,1024]},"
	    "\"b\":{\"dtype\":\"F32\",\"shape\":[8],\"data_offsets\":[1024,1056]}}  ";
	float w[264];
	size_t len;
	unsigned char *p;

	weights_fill(w, 264, seed);
	p = st_build(&len, hdr, sizeof(hdr) - 1, w, sizeof(w));
	write_bytes(f->model, p, len);
	free(p);
}

static void commit(fx *f, mvc_oid *out, const char *msg)
{
	mvc_commit_options o = MVC_COMMIT_OPTIONS_INIT;
	const char *paths[] = { MODEL };

	o.message = msg;
	o.rehash = 1;
	if (mvc_commit(out, NULL, f->repo, paths, 1, &o) < 0)
		fail_msg("commit: %s", mvc_error_last());
}

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	git_config *cfg = NULL;

	if (!f)
		return -1;
	f->tmp = tmpdir_new("fsck");
	f->work = path_join(f->tmp, "w");
	f->model = path_join(f->work, MODEL);
	if (mvc_repo_init(&f->repo, f->work) < 0)
		return -1;
	f->git = mvc__repo_git(f->repo);
	/* w in four chunks of 256 bytes, b in one */
	if (git_repository_config(&cfg, f->git) < 0 || git_config_set_int64(cfg, "mvc.chunkSize", 256) < 0)
		return -1;
	git_config_free(cfg);
	put_model(f, 1);
	commit(f, &f->v1, "v1");
	put_model(f, 2);
	commit(f, &f->v2, "v2");
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

static mvc_fsck_report *run(fx *f, int full, unsigned threads)
{
	mvc_fsck_options o = MVC_FSCK_OPTIONS_INIT;
	mvc_fsck_report *r = NULL;

	o.full = full;
	o.threads = threads;
	if (mvc_fsck(&r, f->repo, &o) < 0)
		fail_msg("fsck: %s", mvc_error_last());
	return r;
}

/*
 * A version on branch `branch` made from v2 with the tree entry at `path`
 * (below the file's tree) set to `id` with `mode`, or removed when id is
 * NULL.  Its id in hex.
 */
static void damaged(fx *f, char hex[MVC_OID_HEXSZ + 1], const char *branch, const char *path,
                    const git_oid *id, git_filemode_t mode)
{
	git_commit *base = NULL;
	git_tree *root = NULL, *nt = NULL;
	git_tree_update u;
	git_signature *sig = NULL;
	git_reference *ref = NULL;
	git_oid tid, cid, g;
	char full[256], refname[128];
	const git_commit *parents[1];

	mvc__oid_to_git(&g, &f->v2);
	assert_int_equal(git_commit_lookup(&base, f->git, &g), 0);
	assert_int_equal(git_commit_tree(&root, base), 0);
	snprintf(full, sizeof(full), "%s/%s", MODEL, path);
	memset(&u, 0, sizeof(u));
	u.action = id ? GIT_TREE_UPDATE_UPSERT : GIT_TREE_UPDATE_REMOVE;
	if (id)
		u.id = *id;
	u.filemode = mode;
	u.path = full;
	assert_int_equal(git_tree_create_updated(&tid, f->git, root, 1, &u), 0);
	assert_int_equal(git_tree_lookup(&nt, f->git, &tid), 0);
	assert_int_equal(git_signature_now(&sig, "t", "t@e"), 0);
	parents[0] = base;
	assert_int_equal(git_commit_create(&cid, f->git, NULL, sig, sig, NULL, "damaged\n", nt, 1,
	    parents), 0);
	snprintf(refname, sizeof(refname), "refs/heads/%s", branch);
	assert_int_equal(git_reference_create(&ref, f->git, refname, &cid, 1, "test"), 0);
	git_oid_tostr(hex, MVC_OID_HEXSZ + 1, &cid);
	git_reference_free(ref);
	git_signature_free(sig);
	git_tree_free(nt);
	git_tree_free(root);
	git_commit_free(base);
}

static void blob(fx *f, git_oid *out, const void *data, size_t len)
{
	assert_int_equal(git_blob_create_from_buffer(out, f->git, data, len), 0);
}

/* The only problem of `r`, checked field by field (NULL/-1: not named). */
static void one_problem(const mvc_fsck_report *r, const char *version, const char *path,
                        const char *tensor, int64_t chunk, const char *object, const char *frag)
{
	const mvc_fsck_problem *p;

	if (r->count != 1) {
		for (size_t i = 0; i < r->count; i++)
			print_message("problem: %s\n", r->problems[i].message);
		fail_msg("%zu problems, wanted 1 (%s)", r->count, frag);
	}
	p = &r->problems[0];
	if (version)
		assert_string_equal(p->version, version);
	if (path)
		assert_string_equal(p->path, path);
	else
		assert_null(p->path);
	if (tensor)
		assert_string_equal(p->tensor, tensor);
	else
		assert_null(p->tensor);
	assert_int_equal(p->chunk, chunk);
	if (object)
		assert_string_equal(p->object, object);
	if (!strstr(p->message, frag))
		fail_msg("message '%s' lacks '%s'", p->message, frag);
}

static void test_clean(void **state)
{
	fx *f = *state;
	mvc_fsck_report *r = run(f, 0, 0);

	assert_int_equal(r->count, 0);
	assert_int_equal(r->versions, 2);
	assert_int_equal(r->files, 2);
	assert_int_equal(r->tensors, 4);
	assert_int_equal(r->chunks, 10);
	assert_int_equal(r->chunks_decoded, 0);
	mvc_fsck_report_free(r);
	r = run(f, 1, 0);
	assert_int_equal(r->count, 0);
	assert_int_equal(r->chunks_decoded, 10);
	assert_int_equal(r->bytes_decoded, 2 * 1056);
	mvc_fsck_report_free(r);
}

/* Versions, channels and tags sharing everything are checked once. */
static void test_shared(void **state)
{
	fx *f = *state;
	mvc_channel_options co = MVC_CHANNEL_OPTIONS_INIT;
	mvc_commit_options o = MVC_COMMIT_OPTIONS_INIT;
	mvc_fsck_report *r;

	o.message = "same again";
	o.allow_empty = 1;
	assert_ok(mvc_commit(NULL, NULL, f->repo, NULL, 0, &o));
	assert_ok(mvc_channel_set(NULL, f->repo, "production", "HEAD~2", &co));
	assert_ok(mvc_tag_create(NULL, f->repo, "v1", "HEAD~2", "first"));
	r = run(f, 1, 0);
	assert_int_equal(r->count, 0);
	assert_int_equal(r->versions, 4); /* three versions and a move */
	assert_int_equal(r->chunks_decoded, 10);
	mvc_fsck_report_free(r);
}

static void test_garbage_chunk(void **state)
{
	fx *f = *state;
	mvc_fsck_report *r;
	git_oid id;
	char hex[MVC_OID_HEXSZ + 1], obj[MVC_OID_HEXSZ + 1];

	blob(f, &id, "not a chunk at all", 18);
	git_oid_tostr(obj, sizeof(obj), &id);
	/* tensors are numbered in file order: w is t/000000 */
	damaged(f, hex, "bad", "t/000000/000002", &id, GIT_FILEMODE_BLOB);
	/* the structure is intact: only decoding finds it */
	r = run(f, 0, 0);
	assert_int_equal(r->count, 0);
	mvc_fsck_report_free(r);
	r = run(f, 1, 0);
	one_problem(r, hex, MODEL, "w", 2, obj, "cannot be decoded");
	mvc_fsck_report_free(r);
}

static void test_wrong_bytes(void **state)
{
	fx *f = *state;
	mvc_codec *codec = NULL;
	mvc_fsck_report *r, *r1;
	const unsigned char *enc;
	size_t enclen;
	unsigned char raw[256];
	git_oid id;
	char hex[MVC_OID_HEXSZ + 1], obj[MVC_OID_HEXSZ + 1];

	/* a well-formed chunk of the right size, of other bytes */
	rnd_fill(raw, sizeof(raw), 99);
	assert_ok(mvc_codec_new(&codec));
	assert_ok(mvc_codec_encode(codec, &enc, &enclen, raw, sizeof(raw), 4, 0));
	blob(f, &id, enc, enclen);
	mvc_codec_free(codec);
	git_oid_tostr(obj, sizeof(obj), &id);
	damaged(f, hex, "bad", "t/000000/000001", &id, GIT_FILEMODE_BLOB);
	r = run(f, 1, 4);
	one_problem(r, hex, MODEL, "w", 1, obj, "fails its BLAKE2b digest");
	/* the same answer on one thread */
	r1 = run(f, 1, 1);
	one_problem(r1, hex, MODEL, "w", 1, obj, "fails its BLAKE2b digest");
	mvc_fsck_report_free(r1);
	mvc_fsck_report_free(r);
}

static void test_missing_objects(void **state)
{
	fx *f = *state;
	mvc_fsck_report *r;
	git_oid id;
	char hex[MVC_OID_HEXSZ + 1];

	git_libgit2_opts(GIT_OPT_ENABLE_STRICT_OBJECT_CREATION, 0);
	git_oid_fromstr(&id, "0123456789abcdef0123456789abcdef01234567");
	damaged(f, hex, "bad", "t/000000/000003", &id, GIT_FILEMODE_BLOB);
	r = run(f, 0, 0);
	one_problem(r, hex, MODEL, "w", 3, "0123456789abcdef0123456789abcdef01234567",
	    "the chunk's object is missing");
	mvc_fsck_report_free(r);
	/* a delta base named in the tree but gone */
	damaged(f, hex, "bad", "t/000000/000003-1", &id, GIT_FILEMODE_BLOB);
	r = run(f, 0, 0);
	one_problem(r, hex, MODEL, "w", 3, "0123456789abcdef0123456789abcdef01234567",
	    "delta base 1 of the chunk is missing");
	mvc_fsck_report_free(r);
	/* a ref to nothing */
	{
		git_reference *ref = NULL;

		assert_int_equal(git_reference_create(&ref, f->git, "refs/heads/bad", &id, 1, "t"), 0);
		git_reference_free(ref);
	}
	r = run(f, 0, 0);
	assert_int_equal(r->count, 1);
	assert_string_equal(r->problems[0].ref, "refs/heads/bad");
	assert_string_equal(r->problems[0].object, "0123456789abcdef0123456789abcdef01234567");
	assert_non_null(strstr(r->problems[0].message, "missing or damaged object"));
	mvc_fsck_report_free(r);
	git_libgit2_opts(GIT_OPT_ENABLE_STRICT_OBJECT_CREATION, 1);
}

static void test_missing_entry(void **state)
{
	fx *f = *state;
	mvc_fsck_report *r;
	char hex[MVC_OID_HEXSZ + 1];

	damaged(f, hex, "bad", "t/000000/000000", NULL, GIT_FILEMODE_BLOB);
	r = run(f, 0, 0);
	one_problem(r, hex, MODEL, "w", 0, NULL, "missing from its tensor's tree");
	mvc_fsck_report_free(r);
	damaged(f, hex, "bad", "t/000001", NULL, GIT_FILEMODE_TREE);
	r = run(f, 0, 0);
	one_problem(r, hex, MODEL, "b", -1, NULL, "its chunk tree is missing");
	mvc_fsck_report_free(r);
}

static void test_bad_manifest_and_header(void **state)
{
	fx *f = *state;
	mvc_fsck_report *r;
	git_oid id;
	char hex[MVC_OID_HEXSZ + 1], obj[MVC_OID_HEXSZ + 1];

	blob(f, &id, "{\"mvc\":1,", 9);
	git_oid_tostr(obj, sizeof(obj), &id);
	damaged(f, hex, "bad", "MANIFEST", &id, GIT_FILEMODE_BLOB);
	r = run(f, 0, 0);
	one_problem(r, hex, MODEL, NULL, -1, obj, "corrupt manifest");
	mvc_fsck_report_free(r);
	blob(f, &id, "{\"other\":1}     ", 16);
	git_oid_tostr(obj, sizeof(obj), &id);
	damaged(f, hex, "bad", "header", &id, GIT_FILEMODE_BLOB);
	r = run(f, 0, 0);
	one_problem(r, hex, MODEL, NULL, -1, obj, "header");
	mvc_fsck_report_free(r);
}

/*
 * A truncated loose object: libgit2 1.5.1 would loop forever inflating
 * it (libgit2 issue 7342); fsck inflates loose objects itself first.
 */
static void test_truncated_loose(void **state)
{
	fx *f = *state;
	mvc_fsck_report *r;
	git_odb *odb = NULL;
	git_odb_object *o = NULL;
	git_oid id;
	unsigned char *raw, *z;
	uLongf zlen;
	char hex[MVC_OID_HEXSZ + 1], obj[MVC_OID_HEXSZ + 1], *dir, *path;
	size_t hl;

	/* a copy of chunk 0 of w, as a loose object cut short */
	assert_int_equal(git_repository_odb(&odb, f->git), 0);
	{
		git_object *b = NULL;

		assert_int_equal(git_revparse_single(&b, f->git, "HEAD:" MODEL "/t/000000/000000"), 0);
		id = *git_object_id(b);
		git_object_free(b);
	}
	assert_int_equal(git_odb_read(&o, odb, &id), 0);
	hl = (size_t)snprintf(NULL, 0, "blob %zu", git_odb_object_size(o)) + 1;
	raw = malloc(hl + git_odb_object_size(o));
	snprintf((char *)raw, hl, "blob %zu", git_odb_object_size(o));
	memcpy(raw + hl, git_odb_object_data(o), git_odb_object_size(o));
	zlen = compressBound((uLong)(hl + git_odb_object_size(o)));
	z = malloc(zlen);
	assert_int_equal(compress2(z, &zlen, raw, (uLong)(hl + git_odb_object_size(o)), 1), Z_OK);
	/* rename it: the same content under the id of a new, other blob */
	{
		unsigned char other[64];

		rnd_fill(other, sizeof(other), 3);
		blob(f, &id, other, sizeof(other));
	}
	git_oid_tostr(obj, sizeof(obj), &id);
	if (asprintf(&dir, "%s/objects/%.2s", mvc_repo_path(f->repo), obj) < 0 ||
	    asprintf(&path, "%s/%s", dir, obj + 2) < 0)
		fail_msg("oom");
	mkdirs(dir);
	unlink(path);
	write_bytes(path, z, zlen / 2);
	git_odb_free(odb);
	git_odb_object_free(o);
	damaged(f, hex, "bad", "t/000000/000000", &id, GIT_FILEMODE_BLOB);
	r = run(f, 1, 0);
	one_problem(r, hex, MODEL, "w", 0, obj, "the loose object is truncated");
	mvc_fsck_report_free(r);
	/* the structure alone does not read chunks */
	r = run(f, 0, 0);
	assert_int_equal(r->count, 0);
	mvc_fsck_report_free(r);
	free(dir);
	free(path);
	free(raw);
	free(z);
}

static void test_bad_options(void **state)
{
	fx *f = *state;
	mvc_fsck_options o = MVC_FSCK_OPTIONS_INIT;
	mvc_fsck_report *r = NULL;

	o.version = 7;
	assert_err(mvc_fsck(&r, f->repo, &o), MVC_EINVALID, "options version");
	assert_null(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_clean),
		T(test_shared),
		T(test_garbage_chunk),
		T(test_wrong_bytes),
		T(test_missing_objects),
		T(test_missing_entry),
		T(test_bad_manifest_and_header),
		T(test_truncated_loose),
		T(test_bad_options),
	};

	setenv("HOME", "/nonexistent-mvc-test-home", 1);
	setenv("XDG_CONFIG_HOME", "/nonexistent-mvc-test-home", 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_AUTHOR_NAME", "Unit Tester", 1);
	setenv("GIT_AUTHOR_EMAIL", "unit@example.com", 1);
	unsetenv("MVC_DIR");
	unsetenv("MVC_WORK_TREE");
	unsetenv("GIT_DIR");
	umask(022);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
