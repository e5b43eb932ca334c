/*
 * Remotes (lib/remote.c): names and URLs, hiding secrets, the refspecs of
 * fetch, clone and push, the config, the union of notes line by line and
 * notes refs merged in a repository, and the fast-forward of a pull.  No
 * network: the transfers are git's (cmd/util_transport.c, test_remote.sh).
 */
#include "unit.h"
#include "internal.h"
#include "xfer.h"

#define MODEL "model.safetensors"

typedef struct {
	char *tmp, *work, *model;
	mvc_repo *repo;
	mvc_oid v[4];           /* v[1..3]: versions on main */
} fx;

static unsigned char *model_bytes(size_t *len, uint64_t seed)
{
	static const char hdr[] =
	    "{\"w\":{\"dtype\":\"F32\",\"shape\":[16,8],\"data_offsets\":[0,512]}}       ";
	float w[128];

	weights_fill(w, 128, seed);
	return st_build(len, hdr, sizeof(hdr) - 1, w, sizeof(w));
}

static void commit_model(fx *f, mvc_oid *out, uint64_t seed, const char *msg)
{
	mvc_commit_options o = MVC_COMMIT_OPTIONS_INIT;
	const char *paths[] = { MODEL };
	size_t len;
	unsigned char *b = model_bytes(&len, seed);

	write_bytes(f->model, b, len);
	free(b);
	o.message = msg;
	if (mvc_commit(out, NULL, f->repo, paths, 1, &o) < 0)
		fail_msg("commit %s: %s", msg, mvc_error_last());
}

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->tmp = tmpdir_new("remote");
	f->work = path_join(f->tmp, "w");
	f->model = path_join(f->work, MODEL);
	if (mvc_repo_init(&f->repo, f->work) < 0)
		return -1;
	commit_model(f, &f->v[1], 1, "v1");
	commit_model(f, &f->v[2], 2, "v2");
	commit_model(f, &f->v[3], 3, "v3");
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

static git_repository *git_of(fx *f)
{
	return mvc__repo_git(f->repo);
}

static void set_ref(fx *f, const char *name, const mvc_oid *id)
{
	git_reference *ref = NULL;
	git_oid g;

	mvc__oid_to_git(&g, id);
	if (git_reference_create(&ref, git_of(f), name, &g, 1, "test") < 0)
		fail_msg("create %s: %s", name, git_error_last()->message);
	git_reference_free(ref);
}

static bool ref_is(fx *f, const char *name, const mvc_oid *want)
{
	git_oid g, w;

	mvc__oid_to_git(&w, want);
	return git_reference_name_to_id(&g, git_of(f), name) == 0 && git_oid_equal(&g, &w);
}

static bool ref_exists(fx *f, const char *name)
{
	git_oid g;
	bool found = git_reference_name_to_id(&g, git_of(f), name) == 0;

	git_error_clear();
	return found;
}

static void hex(char out[MVC_OID_HEXSZ + 1], const mvc_oid *id)
{
	mvc_oid_fmt(out, id);
}

/* ---- names, URLs, secrets ---- */

static void test_name_check(void **state)
{
	char longname[MVC_REMOTE_NAME_MAX + 2];
	static const char *const good[] = { "origin", "site-a", "a.b_c", "S3", "x" };
	static const char *const bad[] = { "", "-x", ".x", "a/b", "a..b", "x.lock", "a b", "a:b",
		"a*", "ä" };

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
		assert_ok(mvc_remote_name_check(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		if (mvc_remote_name_check(bad[i]) != MVC_EINVALID)
			fail_msg("'%s' was taken as a remote name", bad[i]);
	assert_err(mvc_remote_name_check("a/b"), MVC_EINVALID, "only letters, digits");
	assert_err(mvc_remote_name_check("-x"), MVC_EINVALID, "must not start with '-'");
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_err(mvc_remote_name_check(longname), MVC_EINVALID, "longer than 100");
	longname[MVC_REMOTE_NAME_MAX] = '\0';
	assert_ok(mvc_remote_name_check(longname));
	assert_err(mvc_remote_name_check(NULL), MVC_EINVALID, "needs a name");
}

static void test_url_check(void **state)
{
	static const char *const good[] = {
		"git://host/models.git", "git://127.0.0.1:9418/x.git", "ssh://git@host/x",
		"ssh://git@host:2222/~/x", "git+ssh://host/x", "https://host/x", "HTTPS://host/x",
		"http://user:pw@host:8080/x.git", "file:///srv/x.git", "file://host/x",
		"git@host:models.git", "host:x", "/srv/models.git", "../models", "models",
		"my models/x.git"
	};
	char *longurl;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
		if (mvc_remote_url_check(good[i]) < 0)
			fail_msg("'%s' refused: %s", good[i], mvc_error_last());
	assert_err(mvc_remote_url_check(""), MVC_EINVALID, "empty URL");
	assert_err(mvc_remote_url_check(NULL), MVC_EINVALID, "empty URL");
	assert_err(mvc_remote_url_check("foo://host/x"), MVC_EINVALID, "unsupported URL scheme 'foo'");
	assert_err(mvc_remote_url_check("ftp://host/x"), MVC_EINVALID, "unsupported URL scheme 'ftp'");
	assert_err(mvc_remote_url_check("http://"), MVC_EINVALID, "names no host");
	assert_err(mvc_remote_url_check("http:///x"), MVC_EINVALID, "names no host");
	assert_err(mvc_remote_url_check("ssh://user@/x"), MVC_EINVALID, "names no host");
	assert_err(mvc_remote_url_check("git://:9418/x"), MVC_EINVALID, "names no host");
	assert_err(mvc_remote_url_check("git://ho st/x"), MVC_EINVALID, "space in its host");
	assert_err(mvc_remote_url_check("file://"), MVC_EINVALID, "names no path");
	assert_err(mvc_remote_url_check("-oProxyCommand=x"), MVC_EINVALID, "must not start with '-'");
	assert_err(mvc_remote_url_check("ext::sh -c x"), MVC_EINVALID, "transport helpers ('ext::')");
	assert_err(mvc_remote_url_check("a\nb"), MVC_EINVALID, "control character");
	assert_err(mvc_remote_url_check(":x"), MVC_EINVALID, "names no host");
	assert_err(mvc_remote_url_check("user@:x"), MVC_EINVALID, "names no host");
	assert_err(mvc_remote_url_check("1http://h/x"), MVC_EINVALID, "unsupported URL scheme");
	longurl = malloc(MVC_REMOTE_URL_MAX + 2);
	memset(longurl, 'a', MVC_REMOTE_URL_MAX + 1);
	longurl[MVC_REMOTE_URL_MAX + 1] = '\0';
	assert_err(mvc_remote_url_check(longurl), MVC_EINVALID, "longer than");
	free(longurl);
}

static void assert_redacted(const char *in, const char *want)
{
	char *out = NULL;

	assert_ok(mvc_remote_redact(&out, in));
	assert_string_equal(out, want);
	free(out);
}

static void test_redact(void **state)
{
	(void)state;
	assert_redacted("https://user:tok3n@host/x.git", "https://user:***@host/x.git");
	assert_redacted("https://tok3n@host/x", "https://***@host/x");
	assert_redacted("http://u:p@h", "http://u:***@h");
	assert_redacted("ssh://git@host/x", "ssh://git@host/x");
	assert_redacted("ssh://git:pw@host/x", "ssh://git:***@host/x");
	assert_redacted("git@host:x.git", "git@host:x.git");
	assert_redacted("git://host/x", "git://host/x");
	assert_redacted("", "");
	assert_redacted(NULL, "");
	assert_redacted("no url here", "no url here");
	assert_redacted("fatal: unable to access 'https://u:s3cret@h:1/x/': refused\n",
	    "fatal: unable to access 'https://u:***@h:1/x/': refused\n");
	assert_redacted("a https://a:b@h/ b https://c:d@g/?q#f",
	    "a https://a:***@h/ b https://c:***@g/?q#f");
	/* the last '@' of the authority ends the user part */
	assert_redacted("https://u:p@ss@h/x", "https://u:***@h/x");
	assert_redacted("https://", "https://");
}

static void assert_strings(char **v, size_t n, const char *const *want, size_t nwant)
{
	if (n != nwant)
		fail_msg("%zu strings, wanted %zu (first: %s)", n, nwant, n ? v[0] : "none");
	for (size_t i = 0; i < n; i++)
		assert_string_equal(v[i], want[i]);
}

static void test_refspecs(void **state)
{
	static const char *const fetch[] = {
		"+refs/heads/*:refs/remotes/site-a/*", "refs/tags/*:refs/tags/*",
		"+refs/mvc/channels/*:refs/mvc/remotes/site-a/channels/*",
		"+refs/notes/mvc/*:refs/mvc/remotes/site-a/notes/*" };
	static const char *const clone[] = {
		"+refs/heads/*:refs/remotes/origin/*",
		"+refs/mvc/channels/*:refs/mvc/remotes/origin/channels/*",
		"+refs/notes/mvc/*:refs/mvc/remotes/origin/notes/*",
		"+refs/mvc/channels/*:refs/mvc/channels/*", "+refs/notes/mvc/*:refs/notes/mvc/*" };
	char **v = NULL;
	size_t n = 0;

	(void)state;
	assert_ok(mvc_remote_fetch_refspecs(&v, &n, "site-a"));
	assert_strings(v, n, fetch, 4);
	mvc_strings_free(v, n);
	assert_ok(mvc_remote_clone_refspecs(&v, &n, "origin"));
	assert_strings(v, n, clone, 5);
	mvc_strings_free(v, n);
	assert_err(mvc_remote_fetch_refspecs(&v, &n, "a/b"), MVC_EINVALID, "remote name");
	assert_null(v);
	assert_int_equal(n, 0);
}

/* ---- the config ---- */

/* The values of remote.<name>.fetch, in order (not through git_remote_lookup(),
 * whose regular expressions leak in libgit2 1.5.1). */
static size_t fetch_of(fx *f, const char *name, char out[8][128])
{
	git_config *cfg = NULL;
	git_config_iterator *it = NULL;
	git_config_entry *e;
	char key[128];
	size_t n = 0;

	snprintf(key, sizeof(key), "remote.%s.fetch", name);
	assert_int_equal(git_repository_config_snapshot(&cfg, git_of(f)), 0);
	assert_int_equal(git_config_multivar_iterator_new(&it, cfg, key, NULL), 0);
	while (n < 8 && git_config_next(&e, it) == 0)
		snprintf(out[n++], 128, "%s", e->value);
	git_config_iterator_free(it);
	git_config_free(cfg);
	return n;
}

static void test_add_list_remove(void **state)
{
	fx *f = *state;
	mvc_remote_list *l = NULL;
	mvc_remote *r = NULL;
	char *cwd = getcwd(NULL, 0), *want, specs[8][128];
	git_config *cfg = NULL;

	assert_ok(mvc_remote_list_read(&l, f->repo));
	assert_int_equal(l->count, 0);
	mvc_remote_list_free(l);
	assert_ok(mvc_remote_add(f->repo, "origin", "git://127.0.0.1:1/models.git"));
	/* a relative path becomes absolute, against the current directory */
	assert_int_equal(chdir(f->tmp), 0);
	assert_ok(mvc_remote_add(f->repo, "b-site", "../elsewhere/srv.git"));
	assert_int_equal(chdir(cwd), 0);
	assert_err(mvc_remote_add(f->repo, "origin", "git://h/x"), MVC_EEXISTS, "already exists");
	assert_err(mvc_remote_add(f->repo, "x", "foo://h/x"), MVC_EINVALID, "unsupported URL scheme");
	assert_err(mvc_remote_add(f->repo, "x/y", "git://h/x"), MVC_EINVALID, "remote name");
	assert_ok(mvc_remote_list_read(&l, f->repo));
	assert_int_equal(l->count, 2);
	assert_string_equal(l->remotes[0].name, "b-site");
	want = strdup(f->tmp);
	*strrchr(want, '/') = '\0';
	{
		char *w2;

		assert_true(asprintf(&w2, "%s/elsewhere/srv.git", want) > 0);
		assert_string_equal(l->remotes[0].url, w2);
		free(w2);
	}
	free(want);
	assert_string_equal(l->remotes[1].name, "origin");
	assert_string_equal(l->remotes[1].url, "git://127.0.0.1:1/models.git");
	assert_null(l->remotes[1].push_url);
	assert_int_equal(l->remotes[1].mirror, 0);
	mvc_remote_list_free(l);
	/* the configured refspecs: branches, channels, notes; no tags */
	assert_int_equal(fetch_of(f, "origin", specs), 3);
	assert_string_equal(specs[1], "+refs/mvc/channels/*:refs/mvc/remotes/origin/channels/*");
	/* git reads the section mvc appended, URL and all */
	{
		git_buf v = GIT_BUF_INIT;

		assert_int_equal(git_repository_config_snapshot(&cfg, git_of(f)), 0);
		assert_int_equal(git_config_get_string_buf(&v, cfg, "remote.origin.url"), 0);
		assert_string_equal(v.ptr, "git://127.0.0.1:1/models.git");
		git_buf_dispose(&v);
		git_config_free(cfg);
		cfg = NULL;
	}

	assert_ok(mvc_remote_lookup(&r, f->repo, "origin"));
	assert_string_equal(r->name, "origin");
	mvc_remote_free(r);
	assert_err(mvc_remote_lookup(&r, f->repo, "nosuch"), MVC_ENOTFOUND, "mvc remote add nosuch");

	/* remove: the remote's namespaces only */
	set_ref(f, "refs/remotes/origin/main", &f->v[1]);
	set_ref(f, "refs/mvc/remotes/origin/channels/prod", &f->v[1]);
	set_ref(f, "refs/mvc/remotes/origin/notes/scores", &f->v[1]);
	set_ref(f, "refs/remotes/b-site/main", &f->v[2]);
	set_ref(f, "refs/tags/v1", &f->v[1]);
	set_ref(f, "refs/mvc/channels/prod", &f->v[1]);
	{
		git_reference *sym = NULL;

		assert_int_equal(git_reference_symbolic_create(&sym, git_of(f), "refs/remotes/origin/HEAD",
		    "refs/remotes/origin/main", 1, "test"), 0);
		git_reference_free(sym);
	}
	assert_ok(mvc_remote_remove(f->repo, "origin"));
	assert_false(ref_exists(f, "refs/remotes/origin/main"));
	assert_false(ref_exists(f, "refs/remotes/origin/HEAD"));
	assert_false(ref_exists(f, "refs/mvc/remotes/origin/channels/prod"));
	assert_false(ref_exists(f, "refs/mvc/remotes/origin/notes/scores"));
	assert_true(ref_exists(f, "refs/remotes/b-site/main"));
	assert_true(ref_exists(f, "refs/tags/v1"));
	assert_true(ref_exists(f, "refs/mvc/channels/prod"));
	assert_true(ref_exists(f, "refs/heads/main"));
	assert_err(mvc_remote_lookup(&r, f->repo, "origin"), MVC_ENOTFOUND, "no remote 'origin'");
	assert_err(mvc_remote_remove(f->repo, "origin"), MVC_ENOTFOUND, "no remote 'origin'");
	assert_ok(mvc_remote_list_read(&l, f->repo));
	assert_int_equal(l->count, 1);
	mvc_remote_list_free(l);
	/* a URL that needs quoting in the config file reads back as it was */
	assert_ok(mvc_remote_add(f->repo, "odd", "/srv/we\"ird\\path #1;x"));
	assert_ok(mvc_remote_lookup(&r, f->repo, "odd"));
	assert_string_equal(r->url, "/srv/we\"ird\\path #1;x");
	mvc_remote_free(r);
	/* a name again after removal */
	assert_ok(mvc_remote_add(f->repo, "origin", "git://h/y"));
	assert_int_equal(git_repository_config_snapshot(&cfg, git_of(f)), 0);
	git_config_free(cfg);
	free(cwd);
}

static void test_clone_setup(void **state)
{
	fx *f = *state;
	git_config *cfg = NULL;
	char specs[8][128];
	int32_t v = 0;
	int mirror = 0;

	/* a store as `git clone --mirror` leaves it */
	assert_int_equal(git_repository_config(&cfg, git_of(f)), 0);
	assert_int_equal(git_config_set_string(cfg, "remote.origin.url", "git://h/x"), 0);
	assert_int_equal(git_config_set_string(cfg, "remote.origin.fetch", "+refs/*:refs/*"), 0);
	assert_int_equal(git_config_set_bool(cfg, "remote.origin.mirror", 1), 0);
	assert_int_equal(git_config_delete_entry(cfg, "mvc.formatVersion"), 0);
	git_config_free(cfg);
	assert_ok(mvc_remote_clone_setup(f->repo, "origin"));
	assert_int_equal(fetch_of(f, "origin", specs), 3);
	assert_string_equal(specs[0], "+refs/heads/*:refs/remotes/origin/*");
	assert_int_equal(git_repository_config_snapshot(&cfg, git_of(f)), 0);
	assert_int_equal(git_config_get_int32(&v, cfg, "mvc.formatVersion"), 0);
	assert_int_equal(v, MVC_FORMAT_VERSION);
	assert_int_equal(git_config_get_int32(&v, cfg, "pack.window"), 0);
	assert_int_equal(v, 0);
	assert_true(git_config_get_bool(&mirror, cfg, "remote.origin.mirror") == GIT_ENOTFOUND);
	git_config_free(cfg);
	git_error_clear();
	/* HEAD naming a branch the clone lacks: main is taken */
	assert_int_equal(git_repository_set_head(git_of(f), "refs/heads/master"), 0);
	assert_ok(mvc_remote_clone_setup(f->repo, "origin"));
	{
		git_reference *head = NULL;

		assert_int_equal(git_reference_lookup(&head, git_of(f), "HEAD"), 0);
		assert_string_equal(git_reference_symbolic_target(head), "refs/heads/main");
		git_reference_free(head);
	}
	assert_err(mvc_remote_clone_setup(f->repo, "nosuch"), MVC_ENOTFOUND, "no remote");
}

/* ---- push refspecs ---- */

static void push_specs(fx *f, const char *const *specs, size_t n, const char *const *want,
                       size_t nwant)
{
	char **v = NULL;
	size_t count = 0;

	if (mvc_remote_push_refspecs(&v, &count, f->repo, "origin", specs, n) < 0)
		fail_msg("push refspecs: %s", mvc_error_last());
	assert_strings(v, count, want, nwant);
	mvc_strings_free(v, count);
}

static void test_push_defaults(void **state)
{
	fx *f = *state;
	mvc_channel_options co = MVC_CHANNEL_OPTIONS_INIT;
	mvc_oid side, prod, stale;
	char h[MVC_OID_HEXSZ + 1];

	/* v1..v3 on main; a side branch with a version main lacks */
	assert_ok(mvc_branch_create(NULL, f->repo, "side", "HEAD~1"));
	assert_ok(mvc_switch(f->repo, "side", &(mvc_switch_options)MVC_SWITCH_OPTIONS_INIT));
	commit_model(f, &side, 9, "side");
	assert_ok(mvc_switch(f->repo, "main", &(mvc_switch_options)MVC_SWITCH_OPTIONS_INIT));
	set_ref(f, "refs/tags/on-main", &f->v[1]);
	set_ref(f, "refs/tags/on-side", &side);
	hex(h, &f->v[2]);
	assert_ok(mvc_channel_set(NULL, f->repo, "production", h, &co));
	hex(h, &f->v[3]);
	assert_ok(mvc_channel_set(NULL, f->repo, "staging", h, &co));
	set_ref(f, "refs/notes/mvc/scores", &f->v[1]);   /* any commit will do */
	{
		static const char *const want[] = {
			"refs/heads/main:refs/heads/main",
			"refs/mvc/channels/production:refs/mvc/channels/production",
			"refs/mvc/channels/staging:refs/mvc/channels/staging",
			"refs/notes/mvc/scores:refs/notes/mvc/scores",
			"refs/tags/on-main:refs/tags/on-main" };

		push_specs(f, NULL, 0, want, 5);
	}
	/* the remote has production already, and a later staging: both left out */
	assert_int_equal(git_reference_name_to_id((git_oid *)&prod, git_of(f),
	    "refs/mvc/channels/production"), 0);
	set_ref(f, "refs/mvc/remotes/origin/channels/production", &prod);
	assert_int_equal(git_reference_name_to_id((git_oid *)&stale, git_of(f),
	    "refs/mvc/channels/staging"), 0);
	hex(h, &f->v[1]);
	assert_ok(mvc_channel_set(NULL, f->repo, "staging", h, &co));
	{
		mvc_oid later;

		assert_int_equal(git_reference_name_to_id((git_oid *)&later, git_of(f),
		    "refs/mvc/channels/staging"), 0);
		set_ref(f, "refs/mvc/remotes/origin/channels/staging", &later);
		set_ref(f, "refs/mvc/channels/staging", &stale);
	}
	/* notes the remote has a descendant of: left out too */
	set_ref(f, "refs/mvc/remotes/origin/notes/scores", &f->v[2]);
	{
		static const char *const want[] = {
			"refs/heads/main:refs/heads/main", "refs/tags/on-main:refs/tags/on-main" };

		push_specs(f, NULL, 0, want, 2);
	}
	/* a tag on a version only a pushed channel holds travels with it */
	set_ref(f, "refs/mvc/remotes/origin/channels/production", &f->v[1]);
	{
		static const char *const want[] = {
			"refs/heads/main:refs/heads/main",
			"refs/mvc/channels/production:refs/mvc/channels/production",
			"refs/tags/on-main:refs/tags/on-main" };

		push_specs(f, NULL, 0, want, 3);
	}
	/* detached HEAD: say what to push */
	hex(h, &f->v[1]);
	{
		git_oid g;

		mvc__oid_to_git(&g, &f->v[1]);
		assert_int_equal(git_repository_set_head_detached(git_of(f), &g), 0);
	}
	{
		char **v = NULL;
		size_t n = 0;

		assert_err(mvc_remote_push_refspecs(&v, &n, f->repo, "origin", NULL, 0), MVC_EINVALID,
		    "HEAD is detached");
		assert_err(mvc_remote_push_refspecs(&v, &n, f->repo, "a/b", NULL, 0), MVC_EINVALID,
		    "remote name");
	}
}

static void test_push_explicit(void **state)
{
	fx *f = *state;
	mvc_channel_options co = MVC_CHANNEL_OPTIONS_INIT;
	char h[MVC_OID_HEXSZ + 1], h2[MVC_OID_HEXSZ + 1], *want1 = NULL;
	char **v = NULL;
	size_t n = 0;

	hex(h, &f->v[1]);
	assert_ok(mvc_channel_set(NULL, f->repo, "production", h, &co));
	set_ref(f, "refs/tags/v1", &f->v[1]);
	{
		static const char *const in[] = { "HEAD:sites/a", "main", "+main:x", "production",
			"production:canary", "v1:v1-copy", ":old", ":refs/tags/gone",
			"refs/heads/*:refs/heads/mirror/*", "HEAD:refs/heads/y" };
		static const char *const want[] = {
			"refs/heads/main:refs/heads/sites/a", "refs/heads/main:refs/heads/main",
			"+refs/heads/main:refs/heads/x",
			"refs/mvc/channels/production:refs/mvc/channels/production",
			"refs/mvc/channels/production:refs/mvc/channels/canary",
			"refs/tags/v1:refs/tags/v1-copy", ":refs/heads/old", ":refs/tags/gone",
			"refs/heads/*:refs/heads/mirror/*", "refs/heads/main:refs/heads/y" };

		push_specs(f, in, 10, want, 10);
	}
	/* any other revision travels by id, to a branch by default */
	hex(h2, &f->v[2]);
	assert_true(asprintf(&want1, "%s:refs/heads/old", h2) > 0);
	{
		const char *in[] = { "HEAD~1:old" };
		const char *want[] = { want1 };

		push_specs(f, in, 1, want, 1);
	}
	free(want1);
	assert_true(asprintf(&want1, "%s:refs/heads/prev", h) > 0);
	{
		const char *in[] = { "production~0:prev" };   /* a channel with a suffix */
		const char *want[] = { want1 };

		push_specs(f, in, 1, want, 1);
	}
	free(want1);
#define BAD(spec, code, frag) do { \
		const char *in_[] = { spec }; \
		assert_err(mvc_remote_push_refspecs(&v, &n, f->repo, "origin", in_, 1), code, frag); \
		assert_null(v); \
	} while (0)
	BAD("HEAD~1", MVC_EINVALID, "say where it goes");
	BAD("nope", MVC_ENOTFOUND, "unknown revision");
	BAD("refs/heads/nope:x", MVC_ENOTFOUND, "no ref 'refs/heads/nope'");
	BAD("-x", MVC_EINVALID, "not a refspec");
	BAD("+", MVC_EINVALID, "not a refspec");
	BAD("main:", MVC_EINVALID, "names no destination");
	BAD("main*:x*", MVC_EINVALID, "full refs");
	BAD("refs/heads/*:refs/heads/x", MVC_EINVALID, "both sides or neither");
	BAD("main:a..b", MVC_EINVALID, "not a valid ref name");
	BAD("refs/other/x:y", MVC_ENOTFOUND, "no ref");
	set_ref(f, "refs/other/x", &f->v[1]);
	BAD("refs/other/x:y", MVC_EINVALID, "full ref");
#undef BAD
}

/* ---- notes ---- */

static void assert_union(const char *a, const char *b, const char *want)
{
	mvc_buf out = MVC_BUF_INIT;

	assert_ok(mvc__notes_union(&out, a, strlen(a), b, strlen(b)));
	assert_string_equal(out.ptr ? out.ptr : "", want);
	mvc_buf_free(&out);
}

static void test_notes_union(void **state)
{
	(void)state;
	assert_union("x\ny\n", "y\nz\n", "x\ny\nz\n");
	assert_union("x\ny", "z", "x\ny\nz\n");
	assert_union("", "a\nb\n", "a\nb\n");
	assert_union("a\n", "", "a\n");
	assert_union("", "", "");
	assert_union("a\nb\n", "a\nb\n", "a\nb\n");                 /* with itself */
	assert_union("a\nb\n", "b\n", "a\nb\n");                    /* it holds b's lines */
	assert_union("a\n", "q\np\nq\n\n\np\nr", "a\nq\np\nr\n");   /* once each, b's order */
	assert_union("a\na\n", "a\nb\n", "a\na\nb\n");              /* a is kept as it is */
	assert_union("{\"m\":1}\n", "{\"m\":1} \n", "{\"m\":1}\n{\"m\":1} \n"); /* whole lines */
	/* union is idempotent: merging the result with b again changes nothing */
	{
		mvc_buf u1 = MVC_BUF_INIT, u2 = MVC_BUF_INIT;
		const char *a = "s1\ns2\n", *b = "s3\ns1\ns4";

		assert_ok(mvc__notes_union(&u1, a, strlen(a), b, strlen(b)));
		assert_ok(mvc__notes_union(&u2, u1.ptr, u1.len, b, strlen(b)));
		assert_string_equal(u1.ptr, u2.ptr);
		mvc_buf_free(&u1);
		mvc_buf_free(&u2);
	}
	/* many lines: sorted, not quadratic */
	{
		size_t n = 20000;
		mvc_buf a = MVC_BUF_INIT, b = MVC_BUF_INIT, out = MVC_BUF_INIT;

		for (size_t i = 0; i < n; i++) {
			assert_ok(mvc_buf_printf(&a, "{\"i\":%zu}\n", i * 2));
			assert_ok(mvc_buf_printf(&b, "{\"i\":%zu}\n", i));
		}
		assert_ok(mvc__notes_union(&out, a.ptr, a.len, b.ptr, b.len));
		/* a's n lines, then the n/2 odd ones of b */
		{
			size_t lines = 0;

			for (size_t i = 0; i < out.len; i++)
				lines += out.ptr[i] == '\n';
			assert_int_equal(lines, n + n / 2);
		}
		mvc_buf_free(&a);
		mvc_buf_free(&b);
		mvc_buf_free(&out);
	}
}

/* A notes commit on top of `parent` (NULL: the first) adding `text` on `obj`. */
static void add_note(fx *f, git_oid *out, const git_oid *parent, const mvc_oid *obj,
                     const char *text)
{
	git_signature *sig = NULL;
	git_commit *p = NULL;
	git_oid target, blob;

	mvc__oid_to_git(&target, obj);
	assert_int_equal(git_signature_now(&sig, "t", "t@e"), 0);
	if (parent)
		assert_int_equal(git_commit_lookup(&p, git_of(f), parent), 0);
	if (git_note_commit_create(out, &blob, git_of(f), p, sig, sig, &target, text, 1) < 0)
		fail_msg("note: %s", git_error_last()->message);
	git_commit_free(p);
	git_signature_free(sig);
}

static char *note_text(fx *f, const char *ref, const mvc_oid *obj)
{
	git_note *n = NULL;
	git_oid target;
	char *s;

	mvc__oid_to_git(&target, obj);
	if (git_note_read(&n, git_of(f), ref, &target) < 0)
		return NULL;
	s = strdup(git_note_message(n));
	git_note_free(n);
	return s;
}

static void set_git_ref(fx *f, const char *name, const git_oid *id)
{
	mvc_oid m;

	mvc__oid_from_git(&m, id);
	set_ref(f, name, &m);
}

static void test_notes_merge(void **state)
{
	fx *f = *state;
	mvc_notes_merge_result *r = NULL;
	git_oid base, mine, theirs, t2;
	char *s;

	/* nothing fetched: nothing to do */
	assert_ok(mvc_remote_notes_merge(&r, f->repo, "origin"));
	assert_int_equal(r->count, 0);
	mvc_notes_merge_result_free(r);

	/* created: no local notes yet */
	add_note(f, &base, NULL, &f->v[1], "{\"rmse\":0.5}\n");
	set_git_ref(f, "refs/mvc/remotes/origin/notes/scores", &base);
	assert_ok(mvc_remote_notes_merge(&r, f->repo, "origin"));
	assert_int_equal(r->count, 1);
	assert_string_equal(r->entries[0].ref, "refs/notes/mvc/scores");
	assert_int_equal(r->entries[0].kind, MVC_NOTES_CREATED);
	mvc_notes_merge_result_free(r);
	assert_true(ref_exists(f, "refs/notes/mvc/scores"));

	/* fast-forward: the remote added one */
	add_note(f, &theirs, &base, &f->v[2], "{\"rmse\":0.4}\n");
	set_git_ref(f, "refs/mvc/remotes/origin/notes/scores", &theirs);
	assert_ok(mvc_remote_notes_merge(&r, f->repo, "origin"));
	assert_int_equal(r->entries[0].kind, MVC_NOTES_FAST_FORWARD);
	mvc_notes_merge_result_free(r);

	/* up to date: we have all it has */
	add_note(f, &mine, &theirs, &f->v[3], "{\"rmse\":0.3}\n");
	set_git_ref(f, "refs/notes/mvc/scores", &mine);
	assert_ok(mvc_remote_notes_merge(&r, f->repo, "origin"));
	assert_int_equal(r->entries[0].kind, MVC_NOTES_UP_TO_DATE);
	mvc_notes_merge_result_free(r);

	/* diverged: both wrote on v1, they on v2 again, we on v3 */
	add_note(f, &mine, &mine, &f->v[1], "{\"rmse\":0.5}\n{\"ndcg\":0.2,\"by\":\"me\"}\n");
	set_git_ref(f, "refs/notes/mvc/scores", &mine);
	add_note(f, &t2, &theirs, &f->v[1], "{\"rmse\":0.5}\n{\"ctr\":0.03,\"by\":\"them\"}\n");
	add_note(f, &t2, &t2, &f->v[2], "{\"rmse\":0.4}\n{\"auc\":0.7}\n");
	set_git_ref(f, "refs/mvc/remotes/origin/notes/scores", &t2);
	/* and a second notes ref, new here */
	set_git_ref(f, "refs/mvc/remotes/origin/notes/online", &base);
	assert_ok(mvc_remote_notes_merge(&r, f->repo, "origin"));
	assert_int_equal(r->count, 2);
	assert_string_equal(r->entries[0].ref, "refs/notes/mvc/online");
	assert_int_equal(r->entries[0].kind, MVC_NOTES_CREATED);
	assert_string_equal(r->entries[1].ref, "refs/notes/mvc/scores");
	assert_int_equal(r->entries[1].kind, MVC_NOTES_MERGED);
	assert_int_equal(r->entries[1].added, 0);
	assert_int_equal(r->entries[1].combined, 2);
	mvc_notes_merge_result_free(r);
	s = note_text(f, "refs/notes/mvc/scores", &f->v[1]);
	assert_non_null(s);
	assert_string_equal(s, "{\"rmse\":0.5}\n{\"ndcg\":0.2,\"by\":\"me\"}\n{\"ctr\":0.03,\"by\":\"them\"}\n");
	free(s);
	s = note_text(f, "refs/notes/mvc/scores", &f->v[2]);
	assert_string_equal(s, "{\"rmse\":0.4}\n{\"auc\":0.7}\n");
	free(s);
	s = note_text(f, "refs/notes/mvc/scores", &f->v[3]);
	assert_string_equal(s, "{\"rmse\":0.3}\n");
	free(s);
	/* the merge commit: parents mine, theirs */
	{
		git_commit *c = NULL;
		git_oid m;

		assert_int_equal(git_reference_name_to_id(&m, git_of(f), "refs/notes/mvc/scores"), 0);
		assert_int_equal(git_commit_lookup(&c, git_of(f), &m), 0);
		assert_int_equal(git_commit_parentcount(c), 2);
		assert_true(git_oid_equal(git_commit_parent_id(c, 0), &mine));
		assert_true(git_oid_equal(git_commit_parent_id(c, 1), &t2));
		git_commit_free(c);
	}
	/* merging again changes nothing */
	assert_ok(mvc_remote_notes_merge(&r, f->repo, "origin"));
	assert_int_equal(r->entries[1].kind, MVC_NOTES_UP_TO_DATE);
	mvc_notes_merge_result_free(r);
	assert_ok(mvc_remote_notes_merge(NULL, f->repo, "origin"));

	/* only the remote has a note on an object */
	{
		git_oid m, t3;
		mvc_oid other = f->v[3];

		assert_int_equal(git_reference_name_to_id(&m, git_of(f), "refs/notes/mvc/scores"), 0);
		add_note(f, &t3, &t2, &other, "{\"theirs\":1}\n");
		set_git_ref(f, "refs/mvc/remotes/origin/notes/scores", &t3);
		add_note(f, &m, &m, &f->v[2], "{\"rmse\":0.4}\n{\"auc\":0.7}\n{\"mine\":2}\n");
		set_git_ref(f, "refs/notes/mvc/scores", &m);
		assert_ok(mvc_remote_notes_merge(&r, f->repo, "origin"));
		assert_int_equal(r->entries[1].kind, MVC_NOTES_MERGED);
		assert_int_equal(r->entries[1].combined, 1);   /* v3: theirs and ours */
		mvc_notes_merge_result_free(r);
		s = note_text(f, "refs/notes/mvc/scores", &f->v[3]);
		assert_string_equal(s, "{\"rmse\":0.3}\n{\"theirs\":1}\n");
		free(s);
		s = note_text(f, "refs/notes/mvc/scores", &f->v[2]);
		assert_string_equal(s, "{\"rmse\":0.4}\n{\"auc\":0.7}\n{\"mine\":2}\n");
		free(s);
	}
	assert_err(mvc_remote_notes_merge(&r, f->repo, "a/b"), MVC_EINVALID, "remote name");
}

/* ---- pull ---- */

static void test_pull(void **state)
{
	fx *f = *state;
	mvc_pull_options o = MVC_PULL_OPTIONS_INIT;
	mvc_pull_result r;
	unsigned char *want;
	size_t len;
	git_oid g;

	/* main at v1, the remote's main at v3: a fast-forward */
	set_ref(f, "refs/heads/main", &f->v[1]);
	assert_ok(mvc_checkout_paths(f->repo, "HEAD", NULL, 0, &(mvc_checkout_options)MVC_CHECKOUT_OPTIONS_INIT));
	set_ref(f, "refs/remotes/origin/main", &f->v[3]);
	assert_ok(mvc_remote_pull(&r, f->repo, "origin", NULL, &o));
	assert_int_equal(r.moved, 1);
	assert_int_equal(r.has_from, 1);
	assert_string_equal(r.branch, "main");
	assert_string_equal(r.upstream, "refs/remotes/origin/main");
	assert_memory_equal(r.from.id, f->v[1].id, 20);
	assert_memory_equal(r.to.id, f->v[3].id, 20);
	mvc_pull_result_clear(&r);
	assert_true(ref_is(f, "refs/heads/main", &f->v[3]));
	want = model_bytes(&len, 3);
	assert_true(file_equals(f->model, want, len));
	free(want);

	/* up to date, also when the remote is behind */
	assert_ok(mvc_remote_pull(&r, f->repo, "origin", NULL, &o));
	assert_int_equal(r.moved, 0);
	mvc_pull_result_clear(&r);
	set_ref(f, "refs/remotes/origin/old", &f->v[2]);
	assert_ok(mvc_remote_pull(&r, f->repo, "origin", "old", &o));
	assert_int_equal(r.moved, 0);
	mvc_pull_result_clear(&r);
	assert_true(ref_is(f, "refs/heads/main", &f->v[3]));

	/* diverged: refused, nothing moves */
	{
		mvc_oid side;

		assert_ok(mvc_branch_create(NULL, f->repo, "side", "HEAD~1"));
		assert_ok(mvc_switch(f->repo, "side", &(mvc_switch_options)MVC_SWITCH_OPTIONS_INIT));
		commit_model(f, &side, 9, "side");
		assert_ok(mvc_switch(f->repo, "main", &(mvc_switch_options)MVC_SWITCH_OPTIONS_INIT));
		set_ref(f, "refs/remotes/origin/side", &side);
		assert_err(mvc_remote_pull(&r, f->repo, "origin", "side", &o), MVC_EREFUSED,
		    "not a fast-forward");
		mvc_pull_result_clear(&r);
		assert_true(ref_is(f, "refs/heads/main", &f->v[3]));
		want = model_bytes(&len, 3);
		assert_true(file_equals(f->model, want, len));
		free(want);
	}

	/* a modified file: refused before anything moves; --force writes it */
	set_ref(f, "refs/heads/main", &f->v[2]);
	assert_ok(mvc_checkout_paths(f->repo, "HEAD", NULL, 0, &(mvc_checkout_options)MVC_CHECKOUT_OPTIONS_INIT));
	want = model_bytes(&len, 77);
	write_bytes(f->model, want, len);
	assert_err(mvc_remote_pull(&r, f->repo, "origin", NULL, &o), MVC_EDIRTY, "");
	mvc_pull_result_clear(&r);
	assert_true(ref_is(f, "refs/heads/main", &f->v[2]));
	assert_true(file_equals(f->model, want, len));
	free(want);
	o.force = 1;
	assert_ok(mvc_remote_pull(&r, f->repo, "origin", NULL, &o));
	mvc_pull_result_clear(&r);
	assert_true(ref_is(f, "refs/heads/main", &f->v[3]));
	o.force = 0;

	/* an unborn branch is created */
	assert_int_equal(git_repository_set_head(git_of(f), "refs/heads/fresh"), 0);
	set_ref(f, "refs/remotes/origin/fresh", &f->v[1]);
	assert_ok(mvc_remote_pull(&r, f->repo, "origin", NULL, &o));
	assert_int_equal(r.moved, 1);
	assert_int_equal(r.has_from, 0);
	mvc_pull_result_clear(&r);
	assert_true(ref_is(f, "refs/heads/fresh", &f->v[1]));

	/* bad input */
	assert_err(mvc_remote_pull(&r, f->repo, "origin", "nope", &o), MVC_ENOTFOUND,
	    "has no branch 'nope'");
	mvc_pull_result_clear(&r);
	assert_err(mvc_remote_pull(&r, f->repo, "origin", "a..b", &o), MVC_EINVALID,
	    "not a valid branch name");
	mvc_pull_result_clear(&r);
	assert_err(mvc_remote_pull(&r, f->repo, "x/y", NULL, &o), MVC_EINVALID, "remote name");
	mvc_pull_result_clear(&r);
	o.version = 99;
	assert_err(mvc_remote_pull(&r, f->repo, "origin", NULL, &o), MVC_EINVALID, "options version");
	mvc_pull_result_clear(&r);
	o.version = MVC_PULL_OPTIONS_VERSION;
	mvc__oid_to_git(&g, &f->v[1]);
	assert_int_equal(git_repository_set_head_detached(git_of(f), &g), 0);
	assert_err(mvc_remote_pull(&r, f->repo, "origin", NULL, &o), MVC_EINVALID, "HEAD is detached");
	mvc_pull_result_clear(&r);
}

/* ---- the refs a fetch may change ---- */

static void test_remote_refs(void **state)
{
	fx *f = *state;
	mvc_ref_list *l = NULL;

	set_ref(f, "refs/remotes/origin/main", &f->v[1]);
	set_ref(f, "refs/remotes/origin2/main", &f->v[1]);
	set_ref(f, "refs/mvc/remotes/origin/channels/p", &f->v[2]);
	set_ref(f, "refs/tags/t", &f->v[3]);
	set_ref(f, "refs/notes/mvc/scores", &f->v[3]);
	set_ref(f, "refs/notes/other", &f->v[3]);
	assert_ok(mvc_remote_refs(&l, f->repo, "origin"));
	assert_int_equal(l->count, 4);
	assert_string_equal(l->entries[0].name, "refs/mvc/remotes/origin/channels/p");
	assert_string_equal(l->entries[1].name, "refs/notes/mvc/scores");
	assert_string_equal(l->entries[2].name, "refs/remotes/origin/main");
	assert_string_equal(l->entries[3].name, "refs/tags/t");
	assert_memory_equal(l->entries[2].target.id, f->v[1].id, 20);
	mvc_ref_list_free(l);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_check),
		cmocka_unit_test(test_url_check),
		cmocka_unit_test(test_redact),
		cmocka_unit_test(test_refspecs),
		cmocka_unit_test(test_notes_union),
		T(test_add_list_remove),
		T(test_clone_setup),
		T(test_push_defaults),
		T(test_push_explicit),
		T(test_notes_merge),
		T(test_pull),
		T(test_remote_refs),
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
	unsetenv("GIT_DIR");
	umask(022);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
