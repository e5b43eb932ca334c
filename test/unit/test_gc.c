/*
 * lib/gc.c: one pack after gc, every version intact; a commit whose
 * objects are written but whose branch has not moved yet survives a gc
 * run at that very moment; --prune=now removes what nothing reaches;
 * stale temporary files go; one gc or prune at a time.  Runs git.
 */
#include <sys/time.h>
#include "versions.h"
#include "upkeep.h"

static void test_repack(void **state)
{
	ufx *f = *state;
	mvc_gc_options o = MVC_GC_OPTIONS_INIT;
	mvc_gc_report r;
	mvc_oid ids[3];

	git_odb *odb = NULL;
	size_t backends;

	for (unsigned k = 1; k <= 3; k++)
		ufx_commit(f, k, &ids[k - 1]);
	assert_int_equal(ufx_packs(f), 6);
	assert_int_equal(git_repository_odb(&odb, mvc__repo_git(f->repo)), 0);
	backends = git_odb_num_backends(odb);
	git_odb_free(odb);
	assert_ok(mvc_gc(&r, f->repo, &o));
	/* a new object database, guarded as the one before (lib/odb.c) */
	assert_int_equal(git_repository_odb(&odb, mvc__repo_git(f->repo)), 0);
	assert_int_equal(git_odb_num_backends(odb), backends);
	git_odb_free(odb);
	assert_int_equal(r.before.packs, 6);
	assert_int_equal(r.before.loose, 6);
	assert_int_equal(r.after.packs, 1);
	assert_int_equal(r.after.loose, 0);
	assert_string_equal(r.expire, "2.weeks.ago");
	assert_true(r.after.pack_bytes <= r.before.pack_bytes + r.before.loose_bytes);
	for (unsigned k = 1; k <= 3; k++)
		assert_ok(ufx_checkout(f, &ids[k - 1], k));
	/* again, through the handle that saw the old packs go */
	ufx_commit(f, 4, NULL);
	assert_ok(mvc_gc(NULL, f->repo, &o));
	assert_ok(ufx_checkout(f, &ids[0], 1));
}

static int gc_now(const mvc_oid *candidate, void *payload)
{
	mvc_gc_options o = MVC_GC_OPTIONS_INIT;

	(void)candidate;
	return mvc_gc(NULL, payload, &o);
}

/* gc between the commit's objects and its branch move keeps them. */
static void test_commit_racing_gc(void **state)
{
	ufx *f = *state;
	mvc_commit_options o = MVC_COMMIT_OPTIONS_INIT;
	const char *paths[] = { UPKEEP_MODEL };
	mvc_oid id;
	size_t len;
	unsigned char *p;

	ufx_commit(f, 1, NULL);
	p = ufx_model(&len, 2);
	write_bytes(f->model, p, len);
	free(p);
	o.message = "v2, while gc runs";
	o.before_ref_update = gc_now;
	o.before_ref_update_payload = f->repo;
	assert_ok(mvc_commit(&id, NULL, f->repo, paths, 1, &o));
	assert_ok(ufx_checkout(f, &id, 2));
}

/* Is `id` in the store, as a new process sees it?  (libgit2 1.5.1 may
 * not notice packs replaced within the second it last looked.) */
static bool stored(ufx *f, const git_oid *id)
{
	git_repository *git = NULL;
	git_odb *odb = NULL;
	bool yes;

	assert_int_equal(git_repository_open_bare(&git, mvc_repo_path(f->repo)), 0);
	assert_int_equal(git_repository_odb(&odb, git), 0);
	yes = git_odb_exists(odb, id);
	git_odb_free(odb);
	git_repository_free(git);
	return yes;
}

static void test_prune_now(void **state)
{
	ufx *f = *state;
	mvc_gc_options o = MVC_GC_OPTIONS_INIT;
	git_reference *ref = NULL;
	mvc_oid v1, v2;
	git_oid g1, g2;

	ufx_commit(f, 1, &v1);
	ufx_commit(f, 2, &v2);
	mvc__oid_to_git(&g1, &v1);
	mvc__oid_to_git(&g2, &v2);
	/* v2 unreachable: the branch back at v1 */
	assert_int_equal(git_reference_create(&ref, mvc__repo_git(f->repo), "refs/heads/main", &g1, 1,
	    "test"), 0);
	git_reference_free(ref);
	assert_ok(mvc_gc(NULL, f->repo, &o));
	assert_true(stored(f, &g2));       /* young: kept */
	o.prune = "now";
	assert_ok(mvc_gc(NULL, f->repo, &o));
	assert_false(stored(f, &g2));      /* its reflog entry expired too */
	assert_true(stored(f, &g1));
	assert_ok(ufx_checkout(f, &v1, 1));
	o.prune = "someday";
	assert_err(mvc_gc(NULL, f->repo, &o), MVC_ERROR, "prune expiry");
}

static void test_temp_files(void **state)
{
	ufx *f = *state;
	mvc_gc_options o = MVC_GC_OPTIONS_INIT;
	mvc_gc_report r;
	char *stale = path_join(mvc_repo_path(f->repo), "objects/pack/tmp_mvc_stale");
	char *state_tmp = path_join(mvc_repo_path(f->repo), "mvc-state.tmp.4242");
	char *fresh = path_join(mvc_repo_path(f->repo), "objects/pack/tmp_mvc_fresh");
	struct timeval old[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	struct stat st;

	ufx_commit(f, 1, NULL);
	write_bytes(stale, "12345", 5);
	write_bytes(state_tmp, "{}", 2);
	write_bytes(fresh, "1", 1);
	assert_int_equal(utimes(stale, old), 0);
	assert_int_equal(utimes(state_tmp, old), 0);
	assert_ok(mvc_gc(&r, f->repo, &o));
	assert_int_equal(r.before.temp, 3);
	assert_int_equal(r.temp_removed, 2);
	assert_int_equal(r.temp_bytes_removed, 7);
	assert_int_equal(stat(stale, &st), -1);
	assert_int_equal(stat(state_tmp, &st), -1);
	assert_int_equal(stat(fresh, &st), 0);
	o.prune = "never";
	write_bytes(stale, "12345", 5);
	assert_int_equal(utimes(stale, old), 0);
	assert_ok(mvc_gc(&r, f->repo, &o));
	assert_int_equal(r.temp_removed, 0);
	free(stale);
	free(state_tmp);
	free(fresh);
}

static void test_lock(void **state)
{
	ufx *f = *state;
	mvc_gc_options o = MVC_GC_OPTIONS_INIT;
	mvc_prune_options po = MVC_PRUNE_OPTIONS_INIT;
	mvc_prune_report *pr = NULL;
	int fd;

	ufx_commit(f, 1, NULL);
	assert_ok(mvc__maintenance_lock(&fd, f->repo));
	assert_err(mvc_gc(NULL, f->repo, &o), MVC_ECONFLICT, "another mvc gc or prune");
	po.keep_last = 1;
	assert_err(mvc_prune(&pr, f->repo, &po), MVC_ECONFLICT, "another mvc gc or prune");
	mvc__maintenance_unlock(fd);
	assert_ok(mvc_gc(NULL, f->repo, &o));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, ufx_setup, ufx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_repack),
		T(test_commit_racing_gc),
		T(test_prune_now),
		T(test_temp_files),
		T(test_lock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
