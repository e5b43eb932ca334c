/*
 * mvc_check (lib/check.c) and the diff option it rests on (all_values in
 * lib/diff.c): NaN and Inf counts of every float tensor, shapes and
 * dtypes against another version, the relative change against the parent.
 */
#include <math.h>
#include "unit.h"
#include "internal.h"

#define MODEL "model.safetensors"

typedef struct {
	char *tmp, *work, *model;
	mvc_repo *repo;
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->tmp = tmpdir_new("check");
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

/*
 * A model of "w" F32 [rows, 8], "b" F32 [8] and "n" I32 [4]: w from
 * `seed`, b all `bias`, n counting.  With a 64-byte chunk size w spans
 * several chunks.
 */
static void put_model(fx *f, unsigned rows, uint64_t seed, float bias, const char *dtype_b)
{
	char hdr[512];
	size_t wl = (size_t)rows * 8 * 4, bl = strcmp(dtype_b, "F32") ? 16 : 32, len;
	unsigned char *data = calloc(1, wl + bl + 16), *p;
	int h;

	weights_fill((float *)(void *)data, (size_t)rows * 8, seed);
	for (unsigned i = 0; i < 8; i++) {
		if (bl == 32) {
			memcpy(data + wl + 4 * i, &bias, 4);
		} else {
			uint16_t one = 0x3c00; /* F16 1.0 */

			memcpy(data + wl + 2 * i, &one, 2);
		}
	}
	for (int32_t i = 0; i < 4; i++)
		memcpy(data + wl + bl + 4 * i, &i, 4);
	h = snprintf(hdr, sizeof(hdr),
	    "{\"w\":{\"dtype\":\"F32\",\"shape\":[%u,8],\"data_offsets\":[0,%zu]},"
	    "\"b\":{\"dtype\":\"%s\",\"shape\":[8],\"data_offsets\":[%zu,%zu]},"
	    "\"n\":{\"dtype\":\"I32\",\"shape\":[4],\"data_offsets\":[%zu,%zu]}}",
	    rows, wl, dtype_b, wl, wl + bl, wl + bl, wl + bl + 16);
	while (h % 8)
		hdr[h++] = ' ';
	p = st_build(&len, hdr, (size_t)h, data, wl + bl + 16);
	write_bytes(f->model, p, len);
	free(p);
	free(data);
}

/* Poke a float into w[i] of the working model. */
static void poke(fx *f, size_t i, float v)
{
	size_t len = 0;
	unsigned char *p = read_bytes(f->model, &len);
	uint64_t hl;

	memcpy(&hl, p, 8);
	memcpy(p + 8 + hl + 4 * i, &v, 4);
	write_bytes(f->model, p, len);
	free(p);
}

static void commit(fx *f, const char *msg)
{
	mvc_commit_options o = MVC_COMMIT_OPTIONS_INIT;
	const char *paths[] = { MODEL };

	o.message = msg;
	o.rehash = 1;
	if (mvc_commit(NULL, NULL, f->repo, paths, 1, &o) < 0)
		fail_msg("commit: %s", mvc_error_last());
}

static void small_chunks(fx *f)
{
	git_config *cfg = NULL;

	assert_int_equal(git_repository_config(&cfg, mvc__repo_git(f->repo)), 0);
	assert_int_equal(git_config_set_int64(cfg, "mvc.chunkSize", 64), 0);
	git_config_free(cfg);
}

static void test_all_values(void **state)
{
	fx *f = *state;
	mvc_diff_options o = MVC_DIFF_OPTIONS_INIT;
	mvc_diff *d = NULL;

	small_chunks(f);
	put_model(f, 16, 1, 0.5f, "F32");
	poke(f, 3, NAN);
	poke(f, 100, INFINITY);
	commit(f, "one");
	/* without the option nothing is read when a version meets itself */
	assert_ok(mvc_diff_versions(&d, f->repo, "HEAD", "HEAD", NULL, 0, &o));
	assert_int_equal(d->files[0].tensors[2].compared, MVC_DIFF_COMPARE_NONE);
	assert_int_equal(d->summary.chunks_decoded, 0);
	mvc_diff_free(d);
	o.all_values = 1;
	assert_ok(mvc_diff_versions(&d, f->repo, "HEAD", "HEAD", NULL, 0, &o));
	/* tensors by name: b, n, w */
	assert_string_equal(d->files[0].tensors[2].name, "w");
	assert_int_equal(d->files[0].tensors[2].status, MVC_DIFF_UNCHANGED);
	assert_int_equal(d->files[0].tensors[2].compared, MVC_DIFF_COMPARE_FLOAT);
	assert_int_equal(d->files[0].tensors[2].nan_count, 1);
	assert_int_equal(d->files[0].tensors[2].inf_count, 1);
	assert_int_equal(d->files[0].tensors[2].elements_changed, 0);
	assert_int_equal(d->files[0].tensors[0].compared, MVC_DIFF_COMPARE_FLOAT);
	assert_int_equal(d->files[0].tensors[0].nan_count, 0);
	assert_true(fabs(d->files[0].tensors[0].l2_new - sqrt(8 * 0.25)) < 1e-12);
	/* integers are not read */
	assert_int_equal(d->files[0].tensors[1].compared, MVC_DIFF_COMPARE_NONE);
	assert_int_equal(d->summary.tensors_changed, 0);
	assert_int_equal(d->summary.differs, 0);
	/* 16 x 8 x 4 bytes in 64-byte chunks, and b in one */
	assert_int_equal(d->summary.chunks_decoded, 9);
	mvc_diff_free(d);
}

static void test_check_nan(void **state)
{
	fx *f = *state;
	mvc_check_options o = MVC_CHECK_OPTIONS_INIT;
	mvc_check_result *r = NULL;

	small_chunks(f);
	put_model(f, 16, 1, 0.5f, "F32");
	commit(f, "clean");
	o.no_nan = 1;
	assert_ok(mvc_check(&r, f->repo, "HEAD", &o));
	assert_int_equal(r->count, 0);
	assert_int_equal(r->float_tensors, 2);
	mvc_check_result_free(r);
	poke(f, 127, -NAN);
	poke(f, 0, -INFINITY);
	poke(f, 1, NAN);
	commit(f, "broken");
	assert_ok(mvc_check(&r, f->repo, "HEAD", &o));
	assert_int_equal(r->count, 1);
	assert_int_equal(r->problems[0].kind, MVC_CHECK_NONFINITE);
	assert_string_equal(r->problems[0].path, MODEL);
	assert_string_equal(r->problems[0].tensor, "w");
	assert_int_equal(r->problems[0].nan_count, 2);
	assert_int_equal(r->problems[0].inf_count, 1);
	assert_string_equal(mvc_check_kind_name(r->problems[0].kind), "nonfinite");
	mvc_check_result_free(r);
	/* the parent is still clean */
	assert_ok(mvc_check(&r, f->repo, "HEAD~1", &o));
	assert_int_equal(r->count, 0);
	mvc_check_result_free(r);
}

static void test_check_shapes(void **state)
{
	fx *f = *state;
	mvc_check_options o = MVC_CHECK_OPTIONS_INIT;
	mvc_check_result *r = NULL;

	put_model(f, 16, 1, 0.5f, "F32");
	commit(f, "v1");
	put_model(f, 16, 2, 0.25f, "F32");
	commit(f, "v2: other values, same shapes");
	o.same_shapes_as = "HEAD~1";
	assert_ok(mvc_check(&r, f->repo, "HEAD", &o));
	assert_int_equal(r->count, 0);
	assert_int_equal(r->has_shapes, 1);
	mvc_check_result_free(r);
	put_model(f, 17, 2, 0.25f, "F16");
	commit(f, "v3: more rows, b in F16");
	assert_ok(mvc_check(&r, f->repo, "HEAD", &o));
	assert_int_equal(r->count, 2);
	assert_int_equal(r->problems[0].kind, MVC_CHECK_DTYPE);
	assert_string_equal(r->problems[0].tensor, "b");
	assert_int_equal(r->problems[0].old_tensor->dtype, MVC_DTYPE_F32);
	assert_int_equal(r->problems[0].new_tensor->dtype, MVC_DTYPE_F16);
	assert_int_equal(r->problems[1].kind, MVC_CHECK_SHAPE);
	assert_string_equal(r->problems[1].tensor, "w");
	assert_int_equal(r->problems[1].old_tensor->shape[0], 16);
	assert_int_equal(r->problems[1].new_tensor->shape[0], 17);
	mvc_check_result_free(r);
	/* an unknown revision is an error */
	o.same_shapes_as = "nosuch";
	assert_err(mvc_check(&r, f->repo, "HEAD", &o), MVC_ENOTFOUND, "nosuch");
	assert_null(r);
}

static void test_check_relative(void **state)
{
	fx *f = *state;
	mvc_check_options o = MVC_CHECK_OPTIONS_INIT;
	mvc_check_result *r = NULL;

	put_model(f, 16, 1, 0.5f, "F32");
	commit(f, "v1");
	o.has_max_relative = 1;
	o.max_relative_change = 0.5;
	/* the first version has nothing to be measured against */
	assert_ok(mvc_check(&r, f->repo, "HEAD", &o));
	assert_int_equal(r->count, 0);
	assert_int_equal(r->has_against, 0);
	mvc_check_result_free(r);
	/* b: 0.5 -> 0.6 is a relative change of 0.2 */
	put_model(f, 16, 1, 0.6f, "F32");
	commit(f, "v2");
	assert_ok(mvc_check(&r, f->repo, "HEAD", &o));
	assert_int_equal(r->count, 0);
	assert_int_equal(r->compared, 1);
	assert_string_equal(r->largest_tensor, "b");
	assert_true(fabs(r->largest_relative - 0.2) < 1e-6);
	mvc_check_result_free(r);
	o.max_relative_change = 0.1;
	assert_ok(mvc_check(&r, f->repo, "HEAD", &o));
	assert_int_equal(r->count, 1);
	assert_int_equal(r->problems[0].kind, MVC_CHECK_RELATIVE);
	assert_string_equal(r->problems[0].tensor, "b");
	assert_true(fabs(r->problems[0].relative - 0.2) < 1e-6);
	mvc_check_result_free(r);
	/* against an explicit version: w retrained on a new seed */
	put_model(f, 16, 9, 0.6f, "F32");
	commit(f, "v3");
	o.max_relative_change = 0.5;
	o.against = "HEAD~2";
	assert_ok(mvc_check(&r, f->repo, "HEAD", &o));
	assert_int_equal(r->compared, 2);
	assert_int_equal(r->count, 1);
	assert_string_equal(r->problems[0].tensor, "w");
	mvc_check_result_free(r);
	/* a value that became NaN is an unbounded change */
	o.against = NULL;
	o.max_relative_change = 1e9;
	poke(f, 5, NAN);
	commit(f, "v4");
	assert_ok(mvc_check(&r, f->repo, "HEAD", &o));
	assert_int_equal(r->count, 1);
	assert_int_equal(r->problems[0].nonfinite_changed, 1);
	mvc_check_result_free(r);
}

static void test_check_bad_options(void **state)
{
	fx *f = *state;
	mvc_check_options o = MVC_CHECK_OPTIONS_INIT;
	mvc_check_result *r = NULL;

	put_model(f, 4, 1, 0.5f, "F32");
	commit(f, "v1");
	assert_err(mvc_check(&r, f->repo, "HEAD", &o), MVC_EINVALID, "no check");
	o.has_max_relative = 1;
	o.max_relative_change = -1;
	assert_err(mvc_check(&r, f->repo, "HEAD", &o), MVC_EINVALID, "finite number");
	o.max_relative_change = INFINITY;
	assert_err(mvc_check(&r, f->repo, "HEAD", &o), MVC_EINVALID, "finite number");
	o.has_max_relative = 0;
	o.no_nan = 1;
	o.against = "HEAD";
	assert_err(mvc_check(&r, f->repo, "HEAD", &o), MVC_EINVALID, "needs a largest");
	o.against = NULL;
	o.version = 99;
	assert_err(mvc_check(&r, f->repo, "HEAD", &o), MVC_EINVALID, "options version");
	o.version = MVC_CHECK_OPTIONS_VERSION;
	assert_err(mvc_check(&r, f->repo, "nosuch", &o), MVC_ENOTFOUND, "nosuch");
	assert_null(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_all_values),
		T(test_check_nan),
		T(test_check_shapes),
		T(test_check_relative),
		T(test_check_bad_options),
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
