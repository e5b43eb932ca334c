/*
 * Channels, rollbacks, branches, tags and switching through the public
 * API (lib/channel.c, lib/rollback.c, lib/refs.c), and channel names as
 * revisions (mvc__resolve in lib/repo.c, mvc_version_refs in
 * lib/version.c), in a temporary repository.
 */
#include <dirent.h>
#include "unit.h"
#include "move.h"

#define MODEL "model.safetensors"

typedef struct {
	char *tmp, *work, *model;
	mvc_repo *repo;
	mvc_oid v[6];         /* v[1..5]: five versions on main */
	unsigned char *bytes[6];
	size_t len[6];
} fx;

/* A one-tensor model whose values come from `seed`. */
static unsigned char *model_bytes(size_t *len, uint64_t seed)
{
	static const char hdr[] =
	    "{\"w\":{\"dtype\":\"F32\",\"shape\":[32,8],\"data_offsets\":[0,1024]}}      ";
	float w[256];

	weights_fill(w, 256, seed);
	return st_build(len, hdr, sizeof(hdr) - 1, w, sizeof(w));
}

static void commit_model(fx *f, int i, const char *msg)
{
	mvc_commit_options o = MVC_COMMIT_OPTIONS_INIT;
	const char *paths[] = { MODEL };

	f->bytes[i] = model_bytes(&f->len[i], (uint64_t)i * 1000 + 7);
	write_bytes(f->model, f->bytes[i], f->len[i]);
	o.message = msg;
	if (mvc_commit(&f->v[i], NULL, f->repo, paths, 1, &o) < 0)
		fail_msg("commit %d: %s", i, mvc_error_last());
}

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	char msg[16];

	if (!f)
		return -1;
	f->tmp = tmpdir_new("channel");
	f->work = path_join(f->tmp, "w");
	f->model = path_join(f->work, MODEL);
	if (mvc_repo_init(&f->repo, f->work) < 0)
		return -1;
	for (int i = 1; i <= 5; i++) {
		snprintf(msg, sizeof(msg), "v%d", i);
		commit_model(f, i, msg);
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;

	mvc_repo_free(f->repo);
	rm_rf(f->tmp);
	for (int i = 0; i < 6; i++)
		free(f->bytes[i]);
	free(f->tmp);
	free(f->work);
	free(f->model);
	free(f);
	return 0;
}

static void hex(char out[MVC_OID_HEXSZ + 1], const mvc_oid *id)
{
	mvc_oid_fmt(out, id);
}

static void assert_oid_equal(const mvc_oid *a, const mvc_oid *b)
{
	char ha[MVC_OID_HEXSZ + 1], hb[MVC_OID_HEXSZ + 1];

	hex(ha, a);
	hex(hb, b);
	assert_string_equal(ha, hb);
}

/* The version a revision resolves to. */
static void assert_rev(const fx *f, const char *rev, const mvc_oid *want)
{
	mvc_version *v = NULL;

	if (mvc_version_lookup(&v, f->repo, rev) < 0)
		fail_msg("lookup '%s': %s", rev, mvc_error_last());
	assert_oid_equal(mvc_version_id(v), want);
	mvc_version_free(v);
}

/* Point `name` at version i. */
static void set(const fx *f, const char *name, int i, const char *why)
{
	mvc_channel_options o = MVC_CHANNEL_OPTIONS_INIT;
	char h[MVC_OID_HEXSZ + 1];

	hex(h, &f->v[i]);
	o.message = why;
	if (mvc_channel_set(NULL, f->repo, name, h, &o) < 0)
		fail_msg("set %s to v%d: %s", name, i, mvc_error_last());
}

static void assert_target(const fx *f, const char *name, int i)
{
	mvc_oid t;

	assert_ok(mvc_channel_target(&t, f->repo, name));
	assert_oid_equal(&t, &f->v[i]);
}

static int rollback(const fx *f, const char *channel, unsigned steps, const char *to,
                    mvc_rollback_result *r)
{
	mvc_rollback_options o = MVC_ROLLBACK_OPTIONS_INIT;

	o.steps = steps;
	o.to = to;
	mvc_error_clear();
	return mvc_rollback(r, f->repo, channel, &o);
}

static git_oid git_id(const mvc_oid *id)
{
	git_oid g;

	mvc__oid_to_git(&g, id);
	return g;
}

/* The id a ref holds now, as hex ("" if none). */
static void ref_hex(const fx *f, const char *ref, char out[MVC_OID_HEXSZ + 1])
{
	git_oid id;

	if (git_reference_name_to_id(&id, mvc__repo_git(f->repo), ref) < 0)
		out[0] = '\0';
	else
		git_oid_tostr(out, MVC_OID_HEXSZ + 1, &id);
}

static size_t nobjects;
static int count_object(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)p; (void)st; (void)ftw;
	nobjects += flag == FTW_F;
	return 0;
}

static size_t count_objects(const fx *f)
{
	char *objs = path_join(mvc_repo_path(f->repo), "objects");

	nobjects = 0;
	nftw(objs, count_object, 16, FTW_PHYS);
	free(objs);
	return nobjects;
}

static void test_name_check(void **state)
{
	static const char *const good[] = { "production", "staging/eu", "a", "v1.2", "canary_7",
	                                    "prod-2" };
	static const struct { const char *name, *frag; } bad[] = {
		{ "", "needs a name" }, { "..", "not a valid channel name" },
		{ "a b", "not a valid channel name" }, { "-x", "must not start with '-'" },
		{ "a..b", "not a valid" }, { "a~1", "not a valid" }, { "a^", "not a valid" },
		{ "a:b", "not a valid" }, { "a//b", "not a valid" }, { "a/", "not a valid" },
		{ "/a", "not a valid" }, { ".a", "not a valid" }, { "a.lock", "not a valid" },
		{ "a*", "not a valid" }, { "a\\b", "not a valid" }, { "a\nb", "not a valid" },
		{ "HEAD", "cannot name a channel" }, { "deadbeef", "looks like a version id" },
		{ "@", "it means HEAD" }, { "a@{1}", "not a valid" },
	};
	char longname[MVC_CHANNEL_NAME_MAX + 2];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_ok(mvc_channel_name_check(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_err(mvc_channel_name_check(bad[i].name), MVC_EINVALID, bad[i].frag);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_err(mvc_channel_name_check(longname), MVC_EINVALID, "longer than");
	assert_err(mvc_channel_name_check(NULL), MVC_EINVALID, "needs a name");
}

static void test_set_and_moves(void **state)
{
	fx *f = *state;
	git_repository *git = mvc__repo_git(f->repo);
	mvc_channel_options o = MVC_CHANNEL_OPTIONS_INIT;
	mvc_channel_result r;
	mvc_channel_log *log = NULL;
	git_commit *move = NULL, *target = NULL;
	git_oid g;
	char h[MVC_OID_HEXSZ + 1];

	hex(h, &f->v[2]);
	o.message = "first deploy";
	assert_ok(mvc_channel_set(&r, f->repo, "production", h, &o));
	assert_true(r.moved);
	assert_false(r.has_from);
	assert_oid_equal(&r.target, &f->v[2]);
	/* the move: target's tree, the target as its only parent, trailers */
	g = git_id(&r.move);
	assert_int_equal(git_commit_lookup(&move, git, &g), 0);
	g = git_id(&f->v[2]);
	assert_int_equal(git_commit_lookup(&target, git, &g), 0);
	assert_true(git_oid_equal(git_commit_tree_id(move), git_commit_tree_id(target)));
	assert_int_equal(git_commit_parentcount(move), 1);
	assert_true(git_oid_equal(git_commit_parent_id(move, 0), &g));
	assert_non_null(strstr(git_commit_message(move), "move production to "));
	assert_non_null(strstr(git_commit_message(move), "\n\nfirst deploy\n\n"));
	assert_non_null(strstr(git_commit_message(move), "Channel: production\n"));
	assert_non_null(strstr(git_commit_message(move), "Channel-Action: set\n"));
	assert_non_null(strstr(git_commit_message(move), "Channel-From: none\n"));
	assert_non_null(strstr(git_commit_message(move), h));
	git_commit_free(move);
	git_commit_free(target);
	move = NULL;

	/* a second move: parents [previous move, target] */
	hex(h, &f->v[4]);
	o.message = NULL;
	assert_ok(mvc_channel_set(&r, f->repo, "production", h, &o));
	assert_true(r.moved);
	assert_true(r.has_from);
	assert_oid_equal(&r.from, &f->v[2]);
	g = git_id(&r.move);
	assert_int_equal(git_commit_lookup(&move, git, &g), 0);
	assert_int_equal(git_commit_parentcount(move), 2);
	g = git_id(&f->v[4]);
	assert_true(git_oid_equal(git_commit_parent_id(move, 1), &g));
	git_commit_free(move);
	assert_target(f, "production", 4);

	/* the same target again is no move */
	assert_ok(mvc_channel_set(&r, f->repo, "production", "HEAD~1", &o));
	assert_false(r.moved);
	assert_ok(mvc_channel_log_read(&log, f->repo, "production", 0));
	assert_int_equal(log->count, 2);
	assert_oid_equal(&log->moves[0].id, &r.move);
	assert_oid_equal(&log->moves[0].target, &f->v[4]);
	assert_true(log->moves[0].has_from);
	assert_oid_equal(&log->moves[0].from, &f->v[2]);
	assert_string_equal(log->moves[0].reason, "");
	assert_string_equal(log->moves[0].name, "Unit Tester");
	assert_string_equal(log->moves[0].email, "unit@example.com");
	assert_int_equal(log->moves[0].action, MVC_CHANNEL_SET);
	assert_false(log->moves[1].has_from);
	assert_string_equal(log->moves[1].reason, "first deploy");
	assert_true(log->moves[1].time > 0);
	mvc_channel_log_free(log);
	assert_ok(mvc_channel_log_read(&log, f->repo, "production", 1));
	assert_int_equal(log->count, 1);
	assert_true(log->moves[0].has_from);
	mvc_channel_log_free(log);
	mvc_channel_log_free(NULL);

	/* a channel may be set from another channel (its target) */
	assert_ok(mvc_channel_set(&r, f->repo, "staging/eu", "production", &o));
	assert_target(f, "staging/eu", 4);
	/* a multi-line reason survives */
	o.message = "  CTR dropped\n\nsee the dashboard \n";
	set(f, "staging/eu", 1, o.message);
	assert_ok(mvc_channel_log_read(&log, f->repo, "staging/eu", 1));
	assert_string_equal(log->moves[0].reason, "CTR dropped\n\nsee the dashboard");
	mvc_channel_log_free(log);
}

static void test_set_bad_input(void **state)
{
	fx *f = *state;
	mvc_channel_options o = MVC_CHANNEL_OPTIONS_INIT;
	mvc_channel_options bad = MVC_CHANNEL_OPTIONS_INIT;
	mvc_ref_list *l = NULL;
	mvc_oid t;

	assert_err(mvc_channel_set(NULL, f->repo, "a b", "HEAD", &o), MVC_EINVALID, "not a valid");
	assert_err(mvc_channel_set(NULL, f->repo, "prod", "nosuch", &o), MVC_ENOTFOUND,
	    "unknown revision 'nosuch'");
	assert_err(mvc_channel_set(NULL, f->repo, "main", "HEAD", &o), MVC_EINVALID, "is a branch");
	bad.version = 99;
	assert_err(mvc_channel_set(NULL, f->repo, "prod", "HEAD", &bad), MVC_EINVALID,
	    "options version");
	assert_err(mvc_channel_target(&t, f->repo, "prod"), MVC_ENOTFOUND, "no channel 'prod'");
	assert_ok(mvc_channel_list(&l, f->repo));
	assert_int_equal(l->count, 0);
	mvc_ref_list_free(l);
}

static void test_list_and_delete(void **state)
{
	fx *f = *state;
	mvc_ref_list *l = NULL;

	set(f, "staging", 3, NULL);
	set(f, "production", 2, NULL);
	set(f, "canary/eu", 5, NULL);
	assert_ok(mvc_channel_list(&l, f->repo));
	assert_int_equal(l->count, 3);
	assert_string_equal(l->entries[0].name, "canary/eu");
	assert_string_equal(l->entries[1].name, "production");
	assert_string_equal(l->entries[2].name, "staging");
	assert_oid_equal(&l->entries[1].target, &f->v[2]);
	mvc_ref_list_free(l);
	assert_ok(mvc_channel_delete(f->repo, "staging"));
	assert_err(mvc_channel_delete(f->repo, "staging"), MVC_ENOTFOUND, "no channel 'staging'");
	assert_err(mvc_channel_delete(f->repo, "../x"), MVC_EINVALID, "not a valid");
	/* git keeps refs as files: "production" and "production/eu" cannot both be */
	{
		mvc_channel_options o = MVC_CHANNEL_OPTIONS_INIT;

		assert_err(mvc_channel_set(NULL, f->repo, "production/eu", "HEAD", &o), MVC_EINVALID,
		    "cannot exist beside channel 'production'");
		assert_err(mvc_channel_set(NULL, f->repo, "canary", "HEAD", &o), MVC_EINVALID,
		    "beside channel 'canary/eu'");
		assert_ok(mvc_channel_set(NULL, f->repo, "canary/us", "HEAD", &o));
		assert_ok(mvc_channel_set(NULL, f->repo, "produce", "HEAD", &o));
	}
	assert_ok(mvc_channel_list(&l, f->repo));
	assert_int_equal(l->count, 4);
	mvc_ref_list_free(l);
	mvc_ref_list_free(NULL);
}

static void test_channel_as_revision(void **state)
{
	fx *f = *state;
	git_repository *git = mvc__repo_git(f->repo);
	mvc_version *v = NULL;
	git_commit *c = NULL;
	git_reference *ref = NULL;
	char **refs = NULL, *out = path_join(f->tmp, "out.st");
	size_t n = 0, found = 0;
	mvc_checkout_options co = MVC_CHECKOUT_OPTIONS_INIT;
	mvc_channel_options co_ch = MVC_CHANNEL_OPTIONS_INIT;
	git_oid g;

	set(f, "production", 3, NULL);
	set(f, "production", 2, NULL);
	assert_rev(f, "production", &f->v[2]);
	assert_rev(f, "production~1", &f->v[1]);
	assert_rev(f, "production^", &f->v[1]);
	assert_rev(f, "refs/mvc/channels/production", &f->v[2]);
	assert_rev(f, "refs/mvc/channels/production~1", &f->v[1]);
	mvc_error_clear();
	assert_err(mvc_version_lookup(&v, f->repo, "production~9"), MVC_ENOTFOUND, "unknown revision");
	assert_err(mvc_version_lookup(&v, f->repo, "nosuch"), MVC_ENOTFOUND, "unknown revision 'nosuch'");
	/* checkout by channel gives the target's bytes */
	assert_ok(mvc_checkout_to(f->repo, "production", NULL, out, &co));
	assert_true(file_equals(out, f->bytes[2], f->len[2]));
	/* decorations */
	assert_ok(mvc_version_refs(&refs, &n, f->repo, &f->v[2]));
	for (size_t i = 0; i < n; i++)
		found += !strcmp(refs[i], "channel:production");
	assert_int_equal(found, 1);
	mvc_strings_free(refs, n);
	assert_ok(mvc_version_refs(&refs, &n, f->repo, &f->v[3]));
	assert_int_equal(n, 0);
	mvc_strings_free(refs, n);
	/* git's names come first; a name that is both is an error */
	g = git_id(&f->v[4]);
	assert_int_equal(git_commit_lookup(&c, git, &g), 0);
	assert_int_equal(git_branch_create(&ref, git, "production", c, 0), 0);
	assert_err(mvc_version_lookup(&v, f->repo, "production"), MVC_EINVALID,
	    "names both a channel and");
	assert_err(mvc_version_lookup(&v, f->repo, "production~1"), MVC_EINVALID, "names both");
	assert_rev(f, "refs/heads/production", &f->v[4]);
	assert_rev(f, "refs/mvc/channels/production", &f->v[2]);
	/* nor can mvc create such a pair itself */
	assert_ok(mvc_branch_create(NULL, f->repo, "staging", NULL));
	assert_err(mvc_channel_set(NULL, f->repo, "staging", "HEAD", &co_ch), MVC_EINVALID,
	    "is a branch");
	set(f, "canary", 1, NULL);
	assert_err(mvc_branch_create(NULL, f->repo, "canary", NULL), MVC_EEXISTS, "is a channel");
	assert_err(mvc_tag_create(NULL, f->repo, "canary", NULL, NULL), MVC_EEXISTS, "is a channel");
	git_reference_free(ref);
	git_commit_free(c);
	free(out);
}

static void test_rollback_channel(void **state)
{
	fx *f = *state;
	mvc_rollback_result r;
	mvc_channel_log *log = NULL;
	char before[MVC_OID_HEXSZ + 1], after[MVC_OID_HEXSZ + 1], h[MVC_OID_HEXSZ + 1];

	for (int i = 1; i <= 4; i++)
		set(f, "production", i, NULL);
	assert_ok(rollback(f, "production", 0, NULL, &r));
	assert_oid_equal(&r.target, &f->v[3]);
	assert_oid_equal(&r.from, &f->v[4]);
	assert_target(f, "production", 3);
	/* a second rollback goes further back, never to the one it left */
	assert_ok(rollback(f, "production", 0, NULL, &r));
	assert_target(f, "production", 2);
	assert_ok(mvc_channel_log_read(&log, f->repo, "production", 0));
	assert_int_equal(log->count, 6);
	assert_int_equal(log->moves[0].action, MVC_CHANNEL_ROLLBACK);
	assert_int_equal(log->moves[1].action, MVC_CHANNEL_ROLLBACK);
	assert_int_equal(log->moves[2].action, MVC_CHANNEL_SET);
	assert_oid_equal(&log->moves[0].id, &r.commit);
	mvc_channel_log_free(log);
	/* --steps 2 from v2: v1 is the only good one left */
	ref_hex(f, "refs/mvc/channels/production", before);
	assert_err(rollback(f, "production", 2, NULL, &r), MVC_ENOTFOUND, "fewer than 2 earlier");
	ref_hex(f, "refs/mvc/channels/production", after);
	assert_string_equal(before, after);
	assert_ok(rollback(f, "production", 1, NULL, &r));
	assert_target(f, "production", 1);
	/* past the first target: refused, nothing moved */
	ref_hex(f, "refs/mvc/channels/production", before);
	assert_err(rollback(f, "production", 0, NULL, &r), MVC_ENOTFOUND, "no earlier version");
	ref_hex(f, "refs/mvc/channels/production", after);
	assert_string_equal(before, after);
	/* --to any version, but not the current one */
	hex(h, &f->v[5]);
	assert_ok(rollback(f, "production", 0, h, &r));
	assert_target(f, "production", 5);
	ref_hex(f, "refs/mvc/channels/production", before);
	assert_err(rollback(f, "production", 0, h, &r), MVC_EINVALID, "already points at");
	assert_err(rollback(f, "production", 0, "nosuch", &r), MVC_ENOTFOUND, "unknown revision");
	assert_err(rollback(f, "production", 2, h, &r), MVC_EINVALID, "not both");
	assert_err(rollback(f, "nosuch", 0, NULL, &r), MVC_ENOTFOUND, "no channel 'nosuch'");
	assert_err(rollback(f, "a b", 0, NULL, &r), MVC_EINVALID, "not a valid");
	ref_hex(f, "refs/mvc/channels/production", after);
	assert_string_equal(before, after);
}

/* A version rolled back from is good again once it is chosen again by name. */
static void test_rollback_bad_then_good(void **state)
{
	fx *f = *state;
	mvc_rollback_result r;

	set(f, "p", 1, NULL);
	set(f, "p", 2, NULL);
	assert_ok(rollback(f, "p", 0, NULL, &r));          /* leaves v2: bad */
	assert_target(f, "p", 1);
	set(f, "p", 3, NULL);
	assert_ok(rollback(f, "p", 0, NULL, &r));          /* skips v2 */
	assert_target(f, "p", 1);
	set(f, "p", 2, "fixed the feature store");         /* v2 chosen again */
	set(f, "p", 4, NULL);
	assert_ok(rollback(f, "p", 0, NULL, &r));
	assert_target(f, "p", 2);
	/* the first target is never skipped for being first */
	assert_ok(rollback(f, "p", 0, NULL, &r));
	assert_target(f, "p", 1);
	assert_err(rollback(f, "p", 0, NULL, &r), MVC_ENOTFOUND, "no earlier version");
}

/* A move built on a tip that is no longer the tip loses, changing nothing. */
static void test_move_compare_and_swap(void **state)
{
	fx *f = *state;
	git_repository *git = mvc__repo_git(f->repo);
	git_commit *tip = NULL, *target = NULL, *stale = NULL;
	mvc_buf refname = MVC_BUF_INIT;
	char before[MVC_OID_HEXSZ + 1], after[MVC_OID_HEXSZ + 1];
	git_oid cur, g, id;

	set(f, "production", 1, NULL);
	assert_ok(mvc__channel_refname(&refname, "production"));
	assert_ok(mvc__channel_tip(&stale, &cur, git, refname.ptr, "production"));
	set(f, "production", 2, NULL);
	ref_hex(f, refname.ptr, before);
	g = git_id(&f->v[3]);
	assert_int_equal(git_commit_lookup(&target, git, &g), 0);
	assert_err(mvc__channel_move(&id, git, "production", refname.ptr, stale, target,
	    MVC_CHANNEL_SET, NULL, NULL), MVC_ECONFLICT, "moved meanwhile");
	ref_hex(f, refname.ptr, after);
	assert_string_equal(before, after);
	/* creating a channel that someone else created meanwhile loses too */
	assert_err(mvc__channel_move(&id, git, "production", refname.ptr, NULL, target,
	    MVC_CHANNEL_SET, NULL, NULL), MVC_ECONFLICT, "moved meanwhile");
	ref_hex(f, refname.ptr, after);
	assert_string_equal(before, after);
	/* from the real tip it wins */
	assert_ok(mvc__channel_tip(&tip, &cur, git, refname.ptr, "production"));
	assert_ok(mvc__channel_move(&id, git, "production", refname.ptr, tip, target,
	    MVC_CHANNEL_SET, NULL, NULL));
	assert_target(f, "production", 3);
	git_commit_free(tip);
	git_commit_free(stale);
	git_commit_free(target);
	mvc_buf_free(&refname);
}

static void test_rollback_branch(void **state)
{
	fx *f = *state;
	git_repository *git = mvc__repo_git(f->repo);
	mvc_rollback_result r;
	git_commit *c = NULL, *t = NULL;
	size_t objs = count_objects(f);
	char h5[MVC_OID_HEXSZ + 1], h4[MVC_OID_HEXSZ + 1];
	mvc_version *v = NULL;
	git_oid g;

	assert_ok(rollback(f, NULL, 0, NULL, &r));
	assert_oid_equal(&r.target, &f->v[4]);
	assert_oid_equal(&r.from, &f->v[5]);
	/* one new object: the commit; the tree is the old version's */
	assert_int_equal(count_objects(f), objs + 1);
	g = git_id(&r.commit);
	assert_int_equal(git_commit_lookup(&c, git, &g), 0);
	g = git_id(&f->v[4]);
	assert_int_equal(git_commit_lookup(&t, git, &g), 0);
	assert_true(git_oid_equal(git_commit_tree_id(c), git_commit_tree_id(t)));
	assert_int_equal(git_commit_parentcount(c), 1);
	g = git_id(&f->v[5]);
	assert_true(git_oid_equal(git_commit_parent_id(c, 0), &g));
	hex(h5, &f->v[5]);
	hex(h4, &f->v[4]);
	assert_non_null(strstr(git_commit_message(c), "Rollback to "));
	assert_non_null(strstr(git_commit_message(c), "Rollback-Of: "));
	assert_non_null(strstr(git_commit_message(c), h5));
	assert_non_null(strstr(git_commit_message(c), "Rollback-To: "));
	assert_non_null(strstr(git_commit_message(c), h4));
	git_commit_free(c);
	git_commit_free(t);
	assert_rev(f, "HEAD", &r.commit);
	assert_rev(f, "main", &r.commit);
	/* the working file now holds v4 */
	assert_true(file_equals(f->model, f->bytes[4], f->len[4]));
	assert_ok(mvc_version_lookup(&v, f->repo, "HEAD"));
	assert_int_equal(mvc_version_meta_count(v), 2);
	mvc_version_free(v);

	/* again: further back, never to v5 */
	assert_ok(rollback(f, NULL, 0, NULL, &r));
	assert_oid_equal(&r.target, &f->v[3]);
	assert_true(file_equals(f->model, f->bytes[3], f->len[3]));
	/* --steps and --to */
	assert_ok(rollback(f, NULL, 2, NULL, &r));
	assert_oid_equal(&r.target, &f->v[1]);
	/* v2 was passed over, not rolled back from: it is still good */
	assert_ok(rollback(f, NULL, 0, NULL, &r));
	assert_oid_equal(&r.target, &f->v[2]);
	assert_err(rollback(f, NULL, 0, NULL, &r), MVC_ENOTFOUND, "no earlier version");
	assert_ok(rollback(f, NULL, 0, h5, &r));
	assert_oid_equal(&r.target, &f->v[5]);
	assert_true(file_equals(f->model, f->bytes[5], f->len[5]));
	assert_err(rollback(f, NULL, 0, h5, &r), MVC_EINVALID, "already holds the models of");
	/* a rollback to a channel's version */
	set(f, "production", 2, NULL);
	assert_ok(rollback(f, NULL, 0, "production", &r));
	assert_oid_equal(&r.target, &f->v[2]);
}

static void test_rollback_branch_dirty(void **state)
{
	fx *f = *state;
	mvc_rollback_options o = MVC_ROLLBACK_OPTIONS_INIT;
	mvc_rollback_result r;
	char before[MVC_OID_HEXSZ + 1], after[MVC_OID_HEXSZ + 1];
	size_t objs, len;
	unsigned char *edited = model_bytes(&len, 99);

	write_bytes(f->model, edited, len);
	ref_hex(f, "refs/heads/main", before);
	objs = count_objects(f);
	assert_err(rollback(f, NULL, 0, NULL, &r), MVC_EDIRTY, "uncommitted changes");
	ref_hex(f, "refs/heads/main", after);
	assert_string_equal(before, after);
	assert_int_equal(count_objects(f), objs);
	assert_true(file_equals(f->model, edited, len));
	o.force = 1;
	assert_ok(mvc_rollback(&r, f->repo, NULL, &o));
	assert_true(file_equals(f->model, f->bytes[4], f->len[4]));
	o.version = 7;
	assert_err(mvc_rollback(&r, f->repo, NULL, &o), MVC_EINVALID, "options version");
	free(edited);
}

static void test_rollback_nothing_before(void **state)
{
	fx *f = *state;
	mvc_rollback_result r;
	mvc_repo *empty = NULL;
	mvc_rollback_options o = MVC_ROLLBACK_OPTIONS_INIT;
	mvc_switch_options so = MVC_SWITCH_OPTIONS_INIT;
	char *dir = path_join(f->tmp, "empty");

	/* an unborn branch */
	assert_ok(mvc_repo_init(&empty, dir));
	assert_err(mvc_rollback(&r, empty, NULL, &o), MVC_ENOTFOUND, "no version committed yet");
	mvc_repo_free(empty);
	free(dir);
	/* a branch of one version */
	assert_ok(mvc_branch_create(NULL, f->repo, "one", "HEAD~4"));
	assert_ok(mvc_switch(f->repo, "one", &so));
	assert_err(rollback(f, NULL, 0, NULL, &r), MVC_ENOTFOUND, "no earlier version");
}

static void test_branches(void **state)
{
	fx *f = *state;
	mvc_ref_list *l = NULL;
	mvc_oid id;
	git_oid g;
	git_commit *c = NULL;
	git_reference *ref = NULL;
	git_repository *git = mvc__repo_git(f->repo);
	mvc_channel_options co = MVC_CHANNEL_OPTIONS_INIT;

	assert_ok(mvc_branch_create(&id, f->repo, "exp", "HEAD~2"));
	assert_oid_equal(&id, &f->v[3]);
	assert_err(mvc_branch_create(NULL, f->repo, "exp", NULL), MVC_EEXISTS, "already exists");
	assert_err(mvc_branch_create(NULL, f->repo, "a b", NULL), MVC_EINVALID, "not a valid branch name");
	assert_err(mvc_branch_create(NULL, f->repo, "-x", NULL), MVC_EINVALID, "not a valid branch name");
	assert_err(mvc_branch_create(NULL, f->repo, "x", "nosuch"), MVC_ENOTFOUND, "unknown revision");
	assert_ok(mvc_branch_list(&l, f->repo));
	assert_int_equal(l->count, 2);
	assert_string_equal(l->entries[0].name, "exp");
	assert_false(l->entries[0].current);
	assert_string_equal(l->entries[1].name, "main");
	assert_true(l->entries[1].current);
	assert_oid_equal(&l->entries[1].target, &f->v[5]);
	mvc_ref_list_free(l);
	/* delete: not the current branch; not one whose versions nothing else keeps */
	assert_err(mvc_branch_delete(f->repo, "main", 0), MVC_EINVALID, "current branch");
	assert_err(mvc_branch_delete(f->repo, "nosuch", 0), MVC_ENOTFOUND, "no branch 'nosuch'");
	assert_ok(mvc_branch_delete(f->repo, "exp", 0));
	/* a branch with its own version */
	g = git_id(&f->v[5]);
	assert_int_equal(git_commit_lookup(&c, git, &g), 0);
	{
		git_oid nid;
		git_signature *sig = NULL;
		git_tree *tree = NULL;
		const git_commit *parents[] = { c };

		assert_int_equal(git_signature_now(&sig, "x", "x@e"), 0);
		assert_int_equal(git_commit_tree(&tree, c), 0);
		assert_int_equal(git_commit_create(&nid, git, "refs/heads/side", sig, sig, NULL, "side\n",
		    tree, 1, parents), 0);
		git_tree_free(tree);
		git_signature_free(sig);
	}
	assert_err(mvc_branch_delete(f->repo, "side", 0), MVC_EINVALID, "no other branch, tag or channel");
	assert_ok(git_reference_lookup(&ref, git, "refs/heads/side"));
	git_reference_free(ref);
	/* a channel keeps it */
	assert_ok(mvc_channel_set(NULL, f->repo, "review", "side", &co));
	assert_ok(mvc_branch_delete(f->repo, "side", 0));
	/* --force deletes what nothing else keeps */
	assert_ok(mvc_branch_create(NULL, f->repo, "side2", "review"));
	assert_ok(mvc_channel_delete(f->repo, "review"));
	assert_err(mvc_branch_delete(f->repo, "side2", 0), MVC_EINVALID, "--force");
	{
		/* upstream settings made with git go with the branch */
		git_config *cfg = NULL;
		git_config_entry *e = NULL;

		assert_int_equal(git_repository_config(&cfg, git), 0);
		assert_int_equal(git_config_set_string(cfg, "branch.side2.remote", "origin"), 0);
		assert_int_equal(git_config_set_string(cfg, "branch.side2.merge", "refs/heads/x"), 0);
		assert_ok(mvc_branch_delete(f->repo, "side2", 1));
		git_config_free(cfg);
		assert_int_equal(git_repository_config(&cfg, git), 0);
		assert_int_equal(git_config_get_entry(&e, cfg, "branch.side2.remote"), GIT_ENOTFOUND);
		assert_int_equal(git_config_get_entry(&e, cfg, "branch.side2.merge"), GIT_ENOTFOUND);
		git_config_free(cfg);
	}
	assert_err(mvc_branch_delete(f->repo, "side2", 1), MVC_ENOTFOUND, "no branch 'side2'");
	git_commit_free(c);
}

static void test_switch(void **state)
{
	fx *f = *state;
	mvc_switch_options o = MVC_SWITCH_OPTIONS_INIT;
	char *branch = NULL;
	int unborn;
	size_t len;
	unsigned char *edited;

	assert_ok(mvc_branch_create(NULL, f->repo, "old", "HEAD~3"));
	assert_ok(mvc_switch(f->repo, "old", &o));
	assert_ok(mvc_repo_head(&branch, &unborn, f->repo));
	assert_string_equal(branch, "old");
	free(branch);
	assert_true(file_equals(f->model, f->bytes[2], f->len[2]));
	assert_rev(f, "HEAD", &f->v[2]);
	/* the current branch again: nothing happens */
	assert_ok(mvc_switch(f->repo, "old", &o));
	/* uncommitted changes are refused: HEAD and files stay */
	edited = model_bytes(&len, 4242);
	write_bytes(f->model, edited, len);
	assert_err(mvc_switch(f->repo, "main", &o), MVC_EDIRTY, "uncommitted changes");
	assert_ok(mvc_repo_head(&branch, &unborn, f->repo));
	assert_string_equal(branch, "old");
	free(branch);
	assert_true(file_equals(f->model, edited, len));
	o.force = 1;
	assert_ok(mvc_switch(f->repo, "main", &o));
	assert_true(file_equals(f->model, f->bytes[5], f->len[5]));
	o.force = 0;
	/* --create at a start version, and its errors */
	o.create = 1;
	o.start = "HEAD~4";
	assert_ok(mvc_switch(f->repo, "fresh", &o));
	assert_rev(f, "HEAD", &f->v[1]);
	assert_rev(f, "fresh", &f->v[1]);
	assert_true(file_equals(f->model, f->bytes[1], f->len[1]));
	assert_err(mvc_switch(f->repo, "main", &o), MVC_EEXISTS, "already exists");
	o.start = "nosuch";
	assert_err(mvc_switch(f->repo, "new2", &o), MVC_ENOTFOUND, "unknown revision");
	o.create = 0;
	o.start = NULL;
	assert_err(mvc_switch(f->repo, "nosuch", &o), MVC_ENOTFOUND, "no branch 'nosuch'");
	o.start = "HEAD";
	assert_err(mvc_switch(f->repo, "main", &o), MVC_EINVALID, "needs --create");
	free(edited);
}

static void test_tags(void **state)
{
	fx *f = *state;
	mvc_ref_list *l = NULL;
	mvc_oid id;

	assert_ok(mvc_tag_create(&id, f->repo, "v1", "HEAD~4", NULL));
	assert_oid_equal(&id, &f->v[1]);
	assert_ok(mvc_tag_create(NULL, f->repo, "release", NULL, "  the first release\n"));
	assert_err(mvc_tag_create(NULL, f->repo, "v1", NULL, NULL), MVC_EEXISTS, "already exists");
	assert_err(mvc_tag_create(NULL, f->repo, "a..b", NULL, NULL), MVC_EINVALID, "not a valid tag");
	assert_err(mvc_tag_create(NULL, f->repo, "x", NULL, " \n"), MVC_EINVALID, "non-empty message");
	assert_ok(mvc_tag_list(&l, f->repo));
	assert_int_equal(l->count, 2);
	assert_string_equal(l->entries[0].name, "release");
	assert_string_equal(l->entries[0].message, "the first release\n");
	assert_oid_equal(&l->entries[0].target, &f->v[5]);
	assert_string_equal(l->entries[1].name, "v1");
	assert_null(l->entries[1].message);
	mvc_ref_list_free(l);
	assert_rev(f, "release", &f->v[5]);
	assert_ok(mvc_tag_delete(f->repo, "v1"));
	assert_err(mvc_tag_delete(f->repo, "v1"), MVC_ENOTFOUND, "no tag 'v1'");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_check),
		T(test_set_and_moves),
		T(test_set_bad_input),
		T(test_list_and_delete),
		T(test_channel_as_revision),
		T(test_rollback_channel),
		T(test_rollback_bad_then_good),
		T(test_move_compare_and_swap),
		T(test_rollback_branch),
		T(test_rollback_branch_dirty),
		T(test_rollback_nothing_before),
		T(test_branches),
		T(test_switch),
		T(test_tags),
	};

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
