/*
 * Repositories (lib/repo.c): creating the store, finding it from a
 * working directory or through MVC_DIR / MVC_WORK_TREE, turning user
 * paths into tracked paths, and the chunk size setting.
 */
#include <limits.h>
#include "unit.h"
#include "internal.h"

typedef struct {
	char *tmp;      /* the test's directory */
	char *work;     /* tmp/w, a working directory with a store */
	char cwd[PATH_MAX];
	mvc_repo *repo;
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));

	unsetenv("MVC_DIR");
	unsetenv("MVC_WORK_TREE");
	if (!f || !getcwd(f->cwd, sizeof(f->cwd)))
		return -1;
	f->tmp = tmpdir_new("repo");
	f->work = path_join(f->tmp, "w");
	*state = f;
	return 0;
}

/* With a store in tmp/w, and tmp/w as the current directory. */
static int setup_repo(void **state)
{
	fx *f;

	if (setup(state) < 0)
		return -1;
	f = *state;
	if (mvc_repo_init(&f->repo, f->work) < 0 || chdir(f->work) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;

	unsetenv("MVC_DIR");
	unsetenv("MVC_WORK_TREE");
	if (chdir(f->cwd) < 0)
		return -1;
	mvc_repo_free(f->repo);
	rm_rf(f->tmp);
	free(f->tmp);
	free(f->work);
	free(f);
	return 0;
}

static char *sub(const fx *f, const char *rel)
{
	return path_join(f->tmp, rel);
}

static void assert_config_int(mvc_repo *repo, const char *key, int64_t want)
{
	git_config *cfg = NULL;
	int64_t v = -1;

	assert_int_equal(git_repository_config_snapshot(&cfg, mvc__repo_git(repo)), 0);
	assert_int_equal(git_config_get_int64(&v, cfg, key), 0);
	assert_int_equal(v, want);
	git_config_free(cfg);
}

static void test_init(void **state)
{
	fx *f = *state;
	mvc_repo *r = NULL;
	char *store = path_join(f->work, ".mvc"), *head = path_join(store, "HEAD");
	char *branch = NULL;
	int unborn = -1, v = 0;
	git_config *cfg = NULL;
	struct stat st;

	assert_ok(mvc_repo_init(&r, f->work));
	assert_non_null(r);
	assert_string_equal(mvc_repo_workdir(r), f->work);
	assert_string_equal(mvc_repo_path(r), store);
	/* a bare git repository, HEAD on an unborn "main" */
	assert_int_equal(stat(head, &st), 0);
	assert_true(git_repository_is_bare(mvc__repo_git(r)));
	assert_true(file_equals(head, "ref: refs/heads/main\n", 21));
	assert_ok(mvc_repo_head(&branch, &unborn, r));
	assert_string_equal(branch, "main");
	assert_int_equal(unborn, 1);
	free(branch);
	assert_config_int(r, "mvc.formatVersion", MVC_FORMAT_VERSION);
	assert_config_int(r, "pack.window", 0);
	assert_int_equal(git_repository_config_snapshot(&cfg, mvc__repo_git(r)), 0);
	assert_int_equal(git_config_get_bool(&v, cfg, "core.logAllRefUpdates"), 0);
	assert_int_equal(v, 1);
	git_config_free(cfg);
	mvc_repo_free(r);
	mvc_repo_free(NULL);
	free(store);
	free(head);
}

/* Into a directory that exists already, with files in it. */
static void test_init_existing_dir(void **state)
{
	fx *f = *state;
	mvc_repo *r = NULL;
	char *model = path_join(f->work, "m.safetensors");

	mkdirs(f->work);
	write_bytes(model, "x", 1);
	assert_ok(mvc_repo_init(&r, f->work));
	assert_string_equal(mvc_repo_workdir(r), f->work);
	assert_true(file_equals(model, "x", 1));
	mvc_repo_free(r);
	free(model);
}

static void test_init_twice(void **state)
{
	fx *f = *state;
	mvc_repo *r = NULL, *r2 = (mvc_repo *)&r2;

	assert_ok(mvc_repo_init(&r, f->work));
	assert_err(mvc_repo_init(&r2, f->work), MVC_EEXISTS, "already holds an mvc repository");
	assert_null(r2);
	mvc_repo_free(r);
}

static void test_init_missing_parent(void **state)
{
	fx *f = *state;
	mvc_repo *r = NULL;
	char *deep = sub(f, "no/such/dir");

	assert_err(mvc_repo_init(&r, deep), MVC_ENOTFOUND, "cannot create");
	assert_non_null(strstr(mvc_error_last(), "no/such/dir"));
	assert_null(r);
	free(deep);
}

static void test_open_walks_up(void **state)
{
	fx *f = *state;
	mvc_repo *r = NULL;
	char *deep = path_join(f->work, "a/b/c");

	mkdirs(deep);
	assert_ok(mvc_repo_open(&r, deep));
	assert_string_equal(mvc_repo_workdir(r), f->work);
	mvc_repo_free(r);
	assert_ok(mvc_repo_open(&r, f->work));
	assert_string_equal(mvc_repo_workdir(r), f->work);
	mvc_repo_free(r);
	/* NULL: from the current directory */
	assert_int_equal(chdir(deep), 0);
	assert_ok(mvc_repo_open(&r, NULL));
	assert_string_equal(mvc_repo_workdir(r), f->work);
	mvc_repo_free(r);
	/* a relative start */
	assert_ok(mvc_repo_open(&r, "../.."));
	assert_string_equal(mvc_repo_workdir(r), f->work);
	mvc_repo_free(r);
	free(deep);
}

/* The nearest store wins: a repository nested in another one. */
static void test_open_nearest(void **state)
{
	fx *f = *state;
	mvc_repo *r = NULL;
	char *inner = path_join(f->work, "inner"), *deep = path_join(f->work, "inner/x");

	mkdirs(deep);
	assert_ok(mvc_repo_init(&r, inner));
	mvc_repo_free(r);
	assert_ok(mvc_repo_open(&r, deep));
	assert_string_equal(mvc_repo_workdir(r), inner);
	mvc_repo_free(r);
	free(inner);
	free(deep);
}

static void test_open_not_found(void **state)
{
	fx *f = *state;
	mvc_repo *r = (mvc_repo *)&r;
	char *plain = sub(f, "plain"), *missing = sub(f, "missing");

	mkdirs(plain);
	assert_err(mvc_repo_open(&r, plain), MVC_ENOTFOUND, "not in an mvc repository");
	assert_null(r);
	assert_err(mvc_repo_open(&r, missing), MVC_ENOTFOUND, "cannot resolve");
	assert_null(r);
	free(plain);
	free(missing);
}

/* A .mvc that is not a store stops the search with a clear error; a
 * .mvc that is not a directory is not a store at all. */
static void test_open_not_a_store(void **state)
{
	fx *f = *state;
	mvc_repo *r = NULL;
	char *dir = sub(f, "d"), *store = sub(f, "d/.mvc"), *fdir = sub(f, "e"),
	     *fstore = sub(f, "e/.mvc");

	mkdirs(store);
	assert_err(mvc_repo_open(&r, dir), MVC_ENOTFOUND, "is not an mvc repository");
	assert_null(r);
	mkdirs(fdir);
	write_bytes(fstore, "not a store\n", 12);
	assert_err(mvc_repo_open(&r, fdir), MVC_ENOTFOUND, "not in an mvc repository");
	free(dir);
	free(store);
	free(fdir);
	free(fstore);
}

static void test_mvc_dir(void **state)
{
	fx *f = *state;
	mvc_repo *r = NULL;
	char *store = path_join(f->work, ".mvc"), *other = sub(f, "other");

	assert_ok(mvc_repo_init(&r, f->work));
	mvc_repo_free(r);
	mkdirs(other);
	/* the store's parent is the working directory, wherever we start */
	setenv("MVC_DIR", store, 1);
	assert_ok(mvc_repo_open(&r, other));
	assert_string_equal(mvc_repo_workdir(r), f->work);
	assert_string_equal(mvc_repo_path(r), store);
	mvc_repo_free(r);
	/* MVC_WORK_TREE moves the working directory */
	setenv("MVC_WORK_TREE", other, 1);
	assert_ok(mvc_repo_open(&r, "/"));
	assert_string_equal(mvc_repo_workdir(r), other);
	assert_string_equal(mvc_repo_path(r), store);
	mvc_repo_free(r);
	unsetenv("MVC_WORK_TREE");
	/* relative to the current directory */
	assert_int_equal(chdir(f->tmp), 0);
	setenv("MVC_DIR", "w/.mvc", 1);
	assert_ok(mvc_repo_open(&r, NULL));
	assert_string_equal(mvc_repo_path(r), store);
	assert_string_equal(mvc_repo_workdir(r), f->work);
	mvc_repo_free(r);
	/* empty: ignored, the search applies */
	setenv("MVC_DIR", "", 1);
	assert_ok(mvc_repo_open(&r, f->work));
	mvc_repo_free(r);
	free(store);
	free(other);
}

/* A store under any name, outside the tree it tracks. */
static void test_mvc_dir_renamed_store(void **state)
{
	fx *f = *state;
	mvc_repo *r = NULL;
	char *store = path_join(f->work, ".mvc"), *moved = sub(f, "models.git");

	assert_ok(mvc_repo_init(&r, f->work));
	mvc_repo_free(r);
	assert_int_equal(rename(store, moved), 0);
	setenv("MVC_DIR", moved, 1);
	assert_ok(mvc_repo_open(&r, NULL));
	assert_string_equal(mvc_repo_path(r), moved);
	assert_string_equal(mvc_repo_workdir(r), f->tmp);
	mvc_repo_free(r);
	free(store);
	free(moved);
}

static void test_mvc_dir_bad(void **state)
{
	fx *f = *state;
	mvc_repo *r = (mvc_repo *)&r;
	char *missing = sub(f, "missing"), *plain = sub(f, "plain"), *file = sub(f, "file");

	setenv("MVC_DIR", missing, 1);
	assert_err(mvc_repo_open(&r, f->tmp), MVC_ENOTFOUND, "MVC_DIR");
	assert_non_null(strstr(mvc_error_last(), "is not a directory"));
	assert_null(r);
	write_bytes(file, "x", 1);
	setenv("MVC_DIR", file, 1);
	assert_err(mvc_repo_open(&r, f->tmp), MVC_ENOTFOUND, "is not a directory");
	mkdirs(plain);
	setenv("MVC_DIR", plain, 1);
	assert_err(mvc_repo_open(&r, f->tmp), MVC_ENOTFOUND, "is not an mvc repository");
	assert_null(r);
	/* a good store with a working tree that does not exist */
	assert_ok(mvc_repo_init(&r, f->work));
	mvc_repo_free(r);
	{
		char *store = path_join(f->work, ".mvc");

		setenv("MVC_DIR", store, 1);
		setenv("MVC_WORK_TREE", missing, 1);
		assert_err(mvc_repo_open(&r, f->tmp), MVC_ENOTFOUND, "cannot open repository");
		assert_null(r);
		free(store);
	}
	free(missing);
	free(plain);
	free(file);
}

static void unset_git_env(void)
{
	unsetenv("GIT_DIR");
	unsetenv("GIT_OBJECT_DIRECTORY");
	unsetenv("GIT_ALTERNATE_OBJECT_DIRECTORIES");
}

/*
 * Inside a git hook: GIT_DIR names the repository, and during pre-receive
 * the pushed objects sit in a quarantine directory that only git's
 * environment reveals.
 */
static void test_git_dir(void **state)
{
	fx *f = *state;
	mvc_repo *r = NULL;
	git_repository *code = NULL;
	git_odb *q = NULL;
	git_oid id, own;
	char *store = path_join(f->work, ".mvc"), *objects = path_join(store, "objects");
	char *quarantine = path_join(objects, "incoming-test"), *codedir = sub(f, "code");
	char *codegit = path_join(codedir, ".git"), *elsewhere = sub(f, "elsewhere");

	assert_ok(mvc_repo_init(&r, f->work));
	mvc_repo_free(r);
	r = NULL;
	mkdirs(elsewhere);
	setenv("GIT_DIR", store, 1);
	assert_ok(mvc_repo_open(&r, elsewhere));
	assert_string_equal(mvc_repo_path(r), store);
	assert_string_equal(mvc_repo_workdir(r), f->work);
	mvc_repo_free(r);
	/* a blob only in the quarantine */
	mkdirs(quarantine);
	assert_int_equal(git_odb_open(&q, quarantine), 0);
	assert_int_equal(git_odb_write(&id, q, "pushed", 6, GIT_OBJECT_BLOB), 0);
	git_odb_free(q);
	assert_ok(mvc_repo_open(&r, elsewhere));
	{
		git_odb *odb = NULL;

		assert_int_equal(git_repository_odb(&odb, mvc__repo_git(r)), 0);
		assert_false(git_odb_exists(odb, &id));
		/* one object of the repository's own */
		assert_int_equal(git_odb_write(&own, odb, "own", 3, GIT_OBJECT_BLOB), 0);
		git_odb_free(odb);
	}
	mvc_repo_free(r);
	setenv("GIT_OBJECT_DIRECTORY", quarantine, 1);
	setenv("GIT_ALTERNATE_OBJECT_DIRECTORIES", objects, 1);
	assert_ok(mvc_repo_open(&r, elsewhere));
	{
		git_odb *odb = NULL;

		assert_int_equal(git_repository_odb(&odb, mvc__repo_git(r)), 0);
		assert_true(git_odb_exists(odb, &id));
		/* and the repository's own objects through the alternate */
		assert_true(git_odb_exists(odb, &own));
		git_odb_free(odb);
	}
	mvc_repo_free(r);
	r = NULL;
	unset_git_env();
	/* a code repository's GIT_DIR (not bare) is not a store: search */
	assert_int_equal(git_repository_init(&code, codedir, 0), 0);
	git_repository_free(code);
	setenv("GIT_DIR", codegit, 1);
	assert_err(mvc_repo_open(&r, elsewhere), MVC_ENOTFOUND, "not in an mvc repository");
	assert_ok(mvc_repo_open(&r, f->work));
	assert_string_equal(mvc_repo_path(r), store);
	mvc_repo_free(r);
	r = NULL;
	/* nor is a directory that is no repository at all */
	setenv("GIT_DIR", elsewhere, 1);
	assert_ok(mvc_repo_open(&r, f->work));
	mvc_repo_free(r);
	r = NULL;
	/* MVC_DIR comes first */
	setenv("GIT_DIR", codegit, 1);
	setenv("MVC_DIR", store, 1);
	assert_ok(mvc_repo_open(&r, elsewhere));
	assert_string_equal(mvc_repo_path(r), store);
	mvc_repo_free(r);
	unset_git_env();
	free(store);
	free(objects);
	free(quarantine);
	free(codedir);
	free(codegit);
	free(elsewhere);
}

/* mvc_repo_relpath: run from tmp/w unless said otherwise. */
static void rel_ok(const fx *f, const char *in, const char *want)
{
	char *out = NULL;
	int rc = mvc_repo_relpath(&out, f->repo, in);

	if (rc != 0)
		fail_msg("relpath('%s') failed (%d): %s", in, rc, mvc_error_last());
	if (strcmp(out, want))
		fail_msg("relpath('%s') gave '%s', wanted '%s'", in, out, want);
	free(out);
}

static void rel_bad(const fx *f, const char *in, const char *frag)
{
	char *out = (char *)&out;

	assert_err(mvc_repo_relpath(&out, f->repo, in), MVC_EINVALID, frag);
	assert_null(out);
}

static void test_relpath_normalise(void **state)
{
	fx *f = *state;

	rel_ok(f, "m.safetensors", "m.safetensors");
	rel_ok(f, "./m.safetensors", "m.safetensors");
	rel_ok(f, "a/b/c.safetensors", "a/b/c.safetensors");
	rel_ok(f, "./a/../b/./c.st", "b/c.st");
	rel_ok(f, "a//b///c", "a/b/c");
	rel_ok(f, "dir/", "dir");
	rel_ok(f, "a/b/../../c", "c");
	rel_ok(f, "a/./.", "a");
	rel_ok(f, "x/..y/y..", "x/..y/y..");
	rel_ok(f, "...", "...");
	rel_ok(f, ".mvcx", ".mvcx");
	rel_ok(f, "a/.mvc", "a/.mvc");
	rel_ok(f, "name with spaces:and:colons", "name with spaces:and:colons");
	/* out of the working directory and back in */
	rel_ok(f, "../w/m.safetensors", "m.safetensors");
	rel_ok(f, "../w/a/../b", "b");
}

/* Paths given one after another: each result is exact, whatever the
 * previous path left in memory. */
static void test_relpath_sequence(void **state)
{
	fx *f = *state;
	static const char *const in[] = {
		"a/b/c/d/e/f/g", "x", "a/b/..", "./y", "long/long/long/name/../../z", "q/",
		"a/./b/./c", "m",
	};
	static const char *const want[] = {
		"a/b/c/d/e/f/g", "x", "a", "y", "long/long/z", "q", "a/b/c", "m",
	};

	for (int round = 0; round < 3; round++)
		for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++)
			rel_ok(f, in[i], want[i]);
}

static void test_relpath_absolute(void **state)
{
	fx *f = *state;
	char *abs1 = path_join(f->work, "x/y.safetensors");
	char *abs2 = path_join(f->work, "x/../z");
	char *sibling = sub(f, "w2/x");  /* the working directory's name is its prefix */
	char *parent = sub(f, "x");

	rel_ok(f, abs1, "x/y.safetensors");
	rel_ok(f, abs2, "z");
	rel_bad(f, sibling, "is outside the working directory");
	rel_bad(f, parent, "outside the working directory");
	rel_bad(f, "/etc/passwd", "'/etc/passwd' is outside the working directory");
	rel_bad(f, "/", "outside");
	rel_bad(f, f->work, "is the working directory, not a file");
	free(abs1);
	free(abs2);
	free(sibling);
	free(parent);
}

static void test_relpath_refusals(void **state)
{
	fx *f = *state;

	rel_bad(f, "", "empty path");
	rel_bad(f, ".", "is the working directory, not a file");
	rel_bad(f, "./", "is the working directory");
	rel_bad(f, "a/..", "is the working directory");
	rel_bad(f, "..", "'..' is outside the working directory");
	rel_bad(f, "../x", "outside the working directory");
	rel_bad(f, "../w2/x", "outside the working directory");
	rel_bad(f, "../../../../../../../../../../../../../../../../x", "outside");
	rel_bad(f, ".mvc", "'.mvc' is inside the store .mvc/");
	rel_bad(f, ".mvc/", "inside the store");
	rel_bad(f, ".mvc/config", "inside the store");
	rel_bad(f, "./a/../.mvc/objects/x", "inside the store");
}

static void test_relpath_subdir(void **state)
{
	fx *f = *state;
	char *d = path_join(f->work, "sub/deeper");

	mkdirs(d);
	assert_int_equal(chdir(d), 0);
	rel_ok(f, "m.safetensors", "sub/deeper/m.safetensors");
	rel_ok(f, "../m", "sub/m");
	rel_ok(f, "../../m", "m");
	rel_bad(f, "../../../m", "outside the working directory");
	rel_bad(f, "../..", "is the working directory");
	rel_bad(f, "../../.mvc/HEAD", "inside the store");
	free(d);
}

/* Symbolic links in the directory part are resolved, as the working
 * directory itself is: a link out of the tree is outside. */
static void test_relpath_symlinks(void **state)
{
	fx *f = *state;
	char *real = path_join(f->work, "real"), *link = path_join(f->work, "link");
	char *elsewhere = sub(f, "elsewhere"), *out = path_join(f->work, "out");
	char *via = sub(f, "via");

	mkdirs(real);
	mkdirs(elsewhere);
	assert_int_equal(symlink(real, link), 0);
	assert_int_equal(symlink(elsewhere, out), 0);
	assert_int_equal(symlink(f->work, via), 0);
	rel_ok(f, "link/m.safetensors", "real/m.safetensors");
	rel_bad(f, "out/m.safetensors", "outside the working directory");
	/* the working directory reached through a link */
	{
		char *p = path_join(via, "m.safetensors");

		rel_ok(f, p, "m.safetensors");
		free(p);
	}
	/* from a current directory reached through a link */
	assert_int_equal(chdir(via), 0);
	rel_ok(f, "a/b", "a/b");
	free(real);
	free(link);
	free(elsewhere);
	free(out);
	free(via);
}

static void set_config(mvc_repo *repo, const char *key, const char *value)
{
	git_config *cfg = NULL;

	assert_int_equal(git_repository_config(&cfg, mvc__repo_git(repo)), 0);
	assert_int_equal(git_config_set_string(cfg, key, value), 0);
	git_config_free(cfg);
}

static void test_chunk_size(void **state)
{
	fx *f = *state;
	uint64_t cs = 0;
	mvc_repo *again = NULL;

	assert_ok(mvc_repo_chunk_size(&cs, f->repo));
	assert_int_equal(cs, 1 << 20);
	set_config(f->repo, "mvc.chunkSize", "256");
	assert_ok(mvc_repo_chunk_size(&cs, f->repo));
	assert_int_equal(cs, 256);
	/* read back by a repository opened afresh */
	assert_ok(mvc_repo_open(&again, f->work));
	assert_ok(mvc_repo_chunk_size(&cs, again));
	assert_int_equal(cs, 256);
	mvc_repo_free(again);
	set_config(f->repo, "mvc.chunkSize", "4k");
	assert_ok(mvc_repo_chunk_size(&cs, f->repo));
	assert_int_equal(cs, 4096);
	set_config(f->repo, "mvc.chunkSize", "64");
	assert_ok(mvc_repo_chunk_size(&cs, f->repo));
	assert_int_equal(cs, 64);
	set_config(f->repo, "mvc.chunkSize", "268435456");
	assert_ok(mvc_repo_chunk_size(&cs, f->repo));
	assert_int_equal(cs, 256u << 20);
}

static void test_chunk_size_bad(void **state)
{
	fx *f = *state;
	uint64_t cs = 12345;

	set_config(f->repo, "mvc.chunkSize", "63");
	assert_err(mvc_repo_chunk_size(&cs, f->repo), MVC_EINVALID,
	    "mvc.chunkSize 63 is out of range (64 bytes to 256 MiB)");
	set_config(f->repo, "mvc.chunkSize", "268435457");
	assert_err(mvc_repo_chunk_size(&cs, f->repo), MVC_EINVALID, "out of range");
	set_config(f->repo, "mvc.chunkSize", "0");
	assert_err(mvc_repo_chunk_size(&cs, f->repo), MVC_EINVALID, "out of range");
	set_config(f->repo, "mvc.chunkSize", "-1024");
	assert_err(mvc_repo_chunk_size(&cs, f->repo), MVC_EINVALID, "out of range");
	set_config(f->repo, "mvc.chunkSize", "lots");
	assert_err(mvc_repo_chunk_size(&cs, f->repo), MVC_EINVALID, "bad mvc.chunkSize");
	assert_int_equal(cs, 12345); /* untouched on failure */
}

static void test_head_other_branch(void **state)
{
	fx *f = *state;
	char *branch = NULL;
	int unborn = 0;

	assert_int_equal(git_repository_set_head(mvc__repo_git(f->repo), "refs/heads/dev"), 0);
	assert_ok(mvc_repo_head(&branch, &unborn, f->repo));
	assert_string_equal(branch, "dev");
	assert_int_equal(unborn, 1);
	free(branch);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define R(fn) cmocka_unit_test_setup_teardown(fn, setup_repo, teardown)
	const struct CMUnitTest tests[] = {
		T(test_init),
		T(test_init_existing_dir),
		T(test_init_twice),
		T(test_init_missing_parent),
		R(test_open_walks_up),
		R(test_open_nearest),
		T(test_open_not_found),
		T(test_open_not_a_store),
		T(test_mvc_dir),
		T(test_mvc_dir_renamed_store),
		T(test_mvc_dir_bad),
		T(test_git_dir),
		R(test_relpath_normalise),
		R(test_relpath_sequence),
		R(test_relpath_absolute),
		R(test_relpath_refusals),
		R(test_relpath_subdir),
		R(test_relpath_symlinks),
		R(test_chunk_size),
		R(test_chunk_size_bad),
		R(test_head_other_branch),
	};

	/* no user or system git configuration leaks into the tests */
	setenv("HOME", "/nonexistent-mvc-test-home", 1);
	setenv("XDG_CONFIG_HOME", "/nonexistent-mvc-test-home", 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	unset_git_env();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
