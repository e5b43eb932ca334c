/*
 * lib/prune.c: a retention policy that drops chunk blobs no kept version
 * needs, keeps every commit, tree and manifest, records a promise that
 * git fsck accepts, and makes reading a pruned version say so.
 */
#include "versions.h"
#include "upkeep.h"

#define N 12

static mvc_oid ids[N + 1];     /* ids[k]: version k */

static void commit_all(ufx *f)
{
	for (unsigned k = 1; k <= N; k++)
		ufx_commit(f, k, &ids[k]);
}

static bool listed(const mvc_oid *list, size_t n, const mvc_oid *id)
{
	for (size_t i = 0; i < n; i++)
		if (!memcmp(&list[i], id, sizeof(*id)))
			return true;
	return false;
}

/* The bytes of every file under the store's objects directory. */
static uint64_t store_bytes(ufx *f)
{
	mvc_store_stats s;

	assert_ok(mvc_store_stats_get(&s, f->repo));
	return s.pack_bytes + s.loose_bytes;
}

static void test_keep_last(void **state)
{
	ufx *f = *state;
	mvc_prune_options o = MVC_PRUNE_OPTIONS_INIT;
	mvc_prune_report *dry = NULL, *r = NULL;
	mvc_fsck_options fo = MVC_FSCK_OPTIONS_INIT;
	mvc_fsck_report *fr = NULL;
	uint64_t before, after;
	int64_t when;

	commit_all(f);
	before = store_bytes(f);
	o.keep_last = 2;
	o.dry_run = 1;
	assert_ok(mvc_prune(&dry, f->repo, &o));
	assert_int_equal(store_bytes(f), before);
	assert_int_equal(dry->has_promise, 0);
	assert_int_equal(dry->kept_count, 2);
	assert_true(dry->chunks > 0);
	o.dry_run = 0;
	assert_ok(mvc_prune(&r, f->repo, &o));
	assert_int_equal(r->chunks, dry->chunks);
	assert_int_equal(r->bytes, dry->bytes);
	assert_int_equal(r->has_promise, 1);
	after = store_bytes(f);
	assert_true(after < before + 4096);   /* the promise, minus what went */
	/* kept: the two newest; pruned: every older one (its dense layer) */
	assert_true(listed(r->kept, r->kept_count, &ids[N]));
	assert_true(listed(r->kept, r->kept_count, &ids[N - 1]));
	assert_int_equal(r->pruned_count, N - 2);
	for (unsigned k = 1; k <= N - 2; k++)
		assert_true(listed(r->pruned, r->pruned_count, &ids[k]));
	assert_ok(ufx_checkout(f, &ids[N], N));
	assert_ok(ufx_checkout(f, &ids[N - 1], N - 1));
	assert_err(ufx_checkout(f, &ids[3], 3), MVC_ENOTFOUND, "was pruned on");
	assert_err(ufx_checkout(f, &ids[3], 3), MVC_ENOTFOUND, "fetch --refetch");
	assert_int_equal(mvc_prune_lookup(&when, f->repo, &ids[3]), 1);
	assert_true(when >= r->time - 1 && when <= r->time + 1);
	assert_int_equal(mvc_prune_lookup(&when, f->repo, &ids[N]), 0);
	assert_int_equal(when, 0);
	/* history and manifests stay */
	{
		mvc_version *v = NULL;
		mvc_manifest *m = NULL;
		char hex[MVC_OID_HEXSZ + 1];

		mvc_oid_fmt(hex, &ids[1]);
		assert_ok(mvc_version_lookup(&v, f->repo, hex));
		assert_string_equal(mvc_version_summary(v), "v1");
		assert_ok(mvc_version_manifest(&m, v, UPKEEP_MODEL));
		assert_int_equal(m->ntensors, 2);
		mvc_manifest_free(m);
		mvc_version_free(v);
	}
	/* fsck: the dropped chunks are no problem */
	fo.full = 1;
	assert_ok(mvc_fsck(&fr, f->repo, &fo));
	assert_int_equal(fr->count, 0);
	assert_true(fr->chunks_pruned > 0);
	mvc_fsck_report_free(fr);
	mvc_prune_report_free(dry);
	mvc_prune_report_free(r);
	/* a second run has nothing left to drop */
	assert_ok(mvc_prune(&r, f->repo, &o));
	assert_int_equal(r->chunks, 0);
	assert_int_equal(r->pruned_count, 0);
	assert_int_equal(r->has_promise, 0);
	mvc_prune_report_free(r);
}

static void test_du_after_prune(void **state)
{
	ufx *f = *state;
	mvc_prune_options o = MVC_PRUNE_OPTIONS_INIT;
	mvc_prune_report *r = NULL;
	mvc_du_report *d = NULL;

	commit_all(f);
	o.keep_last = 3;
	assert_ok(mvc_prune(&r, f->repo, &o));
	assert_ok(mvc_du(&d, f->repo, NULL, 0));
	assert_int_equal(d->count, N);
	assert_true(d->versions[0].pruned > 0);
	assert_true(d->versions[0].missing > 0);
	assert_int_equal(d->versions[N - 1].pruned, 0);
	assert_int_equal(d->versions[N - 1].missing, 0);
	mvc_du_report_free(d);
	mvc_prune_report_free(r);
}

static void test_channels_and_tags(void **state)
{
	ufx *f = *state;
	mvc_prune_options o = MVC_PRUNE_OPTIONS_INIT;
	mvc_channel_options co = MVC_CHANNEL_OPTIONS_INIT;
	mvc_prune_report *r = NULL;
	char hex[MVC_OID_HEXSZ + 1];

	commit_all(f);
	/* production served v2, then v4; v6 is tagged */
	mvc_oid_fmt(hex, &ids[2]);
	assert_ok(mvc_channel_set(NULL, f->repo, "production", hex, &co));
	mvc_oid_fmt(hex, &ids[4]);
	assert_ok(mvc_channel_set(NULL, f->repo, "production", hex, &co));
	mvc_oid_fmt(hex, &ids[6]);
	assert_ok(mvc_tag_create(NULL, f->repo, "v6", hex, NULL));
	o.keep_last = 1;
	o.keep_channels = 1;
	o.keep_tagged = 1;
	o.dry_run = 1;
	assert_ok(mvc_prune(&r, f->repo, &o));
	assert_int_equal(r->kept_count, 4);
	for (unsigned k = 2; k <= 6; k += 2)
		assert_false(listed(r->pruned, r->pruned_count, &ids[k]));
	assert_true(listed(r->pruned, r->pruned_count, &ids[5]));
	mvc_prune_report_free(r);
	/* without the options: what production serves now stays, the rest goes */
	o.keep_channels = 0;
	o.keep_tagged = 0;
	o.dry_run = 0;
	assert_ok(mvc_prune(&r, f->repo, &o));
	assert_int_equal(r->kept_count, 2);
	assert_ok(ufx_checkout(f, &ids[4], 4));
	assert_ok(ufx_checkout(f, &ids[N], N));
	assert_err(ufx_checkout(f, &ids[6], 6), MVC_ENOTFOUND, "was pruned");
	assert_err(ufx_checkout(f, &ids[2], 2), MVC_ENOTFOUND, "was pruned");
	mvc_prune_report_free(r);
}

/* A pruned model committed again is stored again and reads back. */
static void test_commit_after_prune(void **state)
{
	ufx *f = *state;
	mvc_prune_options o = MVC_PRUNE_OPTIONS_INIT;
	mvc_prune_report *r = NULL;
	mvc_oid again;

	commit_all(f);
	o.keep_last = 1;
	assert_ok(mvc_prune(&r, f->repo, &o));
	mvc_prune_report_free(r);
	ufx_commit(f, 1, &again);
	assert_ok(ufx_checkout(f, &again, 1));
}

static void test_options(void **state)
{
	ufx *f = *state;
	mvc_prune_options o = MVC_PRUNE_OPTIONS_INIT;
	mvc_prune_report *r = NULL;

	assert_err(mvc_prune(&r, f->repo, &o), MVC_EINVALID, "at least the newest");
	o.version = 99;
	o.keep_last = 1;
	assert_err(mvc_prune(&r, f->repo, &o), MVC_EINVALID, "options version");
	assert_null(r);
	/* an empty store: nothing to do */
	o.version = MVC_PRUNE_OPTIONS_VERSION;
	assert_ok(mvc_prune(&r, f->repo, &o));
	assert_int_equal(r->kept_count, 0);
	assert_int_equal(r->chunks, 0);
	mvc_prune_report_free(r);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, ufx_setup, ufx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_keep_last),
		T(test_du_after_prune),
		T(test_channels_and_tags),
		T(test_commit_after_prune),
		T(test_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
