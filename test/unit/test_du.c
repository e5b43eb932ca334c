/*
 * lib/du.c: what each version costs, through the public API.  Every
 * object counts once, for the oldest version that uses it; added plus
 * shared is what a version takes alone.
 */
#include "versions.h"

static void test_unborn(void **state)
{
	ufx *f = *state;
	mvc_du_report *r = NULL;

	assert_ok(mvc_du(&r, f->repo, NULL, 0));
	assert_int_equal(r->count, 0);
	assert_int_equal(r->total.added, 0);
	mvc_du_report_free(r);
	assert_err(mvc_du(&r, f->repo, (const char *[]){ "HEAD" }, 1), MVC_ENOTFOUND, "no version");
}

static void test_history(void **state)
{
	ufx *f = *state;
	mvc_du_report *r = NULL, *one = NULL;
	mvc_oid ids[4];
	uint64_t sum = 0;

	for (unsigned k = 1; k <= 4; k++)
		ufx_commit(f, k, &ids[k - 1]);
	assert_ok(mvc_du(&r, f->repo, NULL, 0));
	assert_int_equal(r->count, 4);
	for (size_t i = 0; i < 4; i++) {
		const mvc_du_version *v = &r->versions[i];

		assert_memory_equal(&v->id, &ids[i], sizeof(mvc_oid));
		assert_int_equal(v->missing, 0);
		assert_int_equal(v->pruned, 0);
		assert_true(v->raw > (uint64_t)UPKEEP_ROWS * UPKEEP_DIM * 4);
		sum += v->added;
	}
	/* the first version: all new, its data the whole model, compressed */
	assert_int_equal(r->versions[0].shared, 0);
	assert_int_equal(r->versions[0].raw_added, r->versions[0].raw);
	assert_true(mvc_du_dedup(&r->versions[0]) == 1.0);
	assert_true(mvc_du_compression(&r->versions[0]) > 0.5);
	assert_true(mvc_du_compression(&r->versions[0]) < 1.0);
	/* a tenth of the rows retrained: far less added, most shared */
	assert_true(r->versions[1].added * 3 < r->versions[0].added);
	assert_true(r->versions[1].shared > r->versions[1].added);
	assert_int_equal(r->total.added, sum);
	/* one named version: measured against its history, the same figures */
	assert_ok(mvc_du(&one, f->repo, (const char *[]){ "HEAD" }, 1));
	assert_int_equal(one->count, 1);
	assert_memory_equal(&one->versions[0].id, &ids[3], sizeof(mvc_oid));
	assert_int_equal(one->versions[0].added, r->versions[3].added);
	assert_int_equal(one->versions[0].shared, r->versions[3].shared);
	mvc_du_report_free(one);
	/* named twice, and out of order: once each, in history order */
	assert_ok(mvc_du(&one, f->repo, (const char *[]){ "HEAD", "HEAD~3", "HEAD" }, 3));
	assert_int_equal(one->count, 2);
	assert_memory_equal(&one->versions[0].id, &ids[0], sizeof(mvc_oid));
	mvc_du_report_free(one);
	mvc_du_report_free(r);
	assert_err(mvc_du(&r, f->repo, (const char *[]){ "nosuch" }, 1), MVC_ENOTFOUND, "nosuch");
}

/* An unchanged version reuses the whole tree: its commit is all it adds. */
static void test_unchanged_version(void **state)
{
	ufx *f = *state;
	mvc_commit_options o = MVC_COMMIT_OPTIONS_INIT;
	mvc_du_report *r = NULL;

	ufx_commit(f, 1, NULL);
	o.message = "again";
	o.allow_empty = 1;
	assert_ok(mvc_commit(NULL, NULL, f->repo, NULL, 0, &o));
	assert_ok(mvc_du(&r, f->repo, NULL, 0));
	assert_int_equal(r->count, 2);
	assert_int_equal(r->versions[1].objects_added, 1);
	assert_true(r->versions[1].added < 1000);
	assert_int_equal(r->versions[1].raw_added, 0);
	assert_true(mvc_du_compression(&r->versions[1]) < 0);
	assert_true(mvc_du_dedup(&r->versions[1]) == 0.0);
	/* the same objects, minus the first commit, plus its own */
	assert_true(r->versions[1].shared + 1000 > r->versions[0].added);
	mvc_du_report_free(r);
}

static void test_store_stats(void **state)
{
	ufx *f = *state;
	mvc_store_stats s;
	char *tmp;

	assert_ok(mvc_store_stats_get(&s, f->repo));
	assert_int_equal(s.packs, 0);
	ufx_commit(f, 1, NULL);
	tmp = path_join(mvc_repo_path(f->repo), "objects/pack/tmp_mvc_killed");
	write_bytes(tmp, "xyz", 3);
	assert_ok(mvc_store_stats_get(&s, f->repo));
	assert_int_equal(s.packs, 2);         /* chunks, then trees and manifests */
	assert_int_equal(s.loose, 2);         /* the root tree and the commit */
	assert_int_equal(s.temp, 1);
	assert_int_equal(s.temp_bytes, 3);
	free(tmp);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, ufx_setup, ufx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_unborn),
		T(test_history),
		T(test_unchanged_version),
		T(test_store_stats),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
