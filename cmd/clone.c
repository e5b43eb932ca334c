/* mvc clone: a new repository from a remote, with its files checked out. */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "xfer.h"

static int quiet, progress = -1;
static const char *branch;
static const char *const syn[] = {
	"[-b <branch>] [--quiet] <url> [<dir>]", NULL };
static const struct opt opts[] = {
	{ "branch", 'b', OPT_STRING, &branch, "<branch>", "check out <branch> instead of the remote's HEAD" },
	{ "quiet", 'q', OPT_FLAG, &quiet, NULL, "print nothing on success" },
	{ "progress", 0, OPT_FLAG, &progress, NULL, "show progress on stderr (default: on a terminal; --no-progress: never)" },
	{ NULL }
};
const struct cmd_usage usage_clone = { "clone", syn, opts, "url" };

/* "git://host/models.git/" -> "models", as git names its clones. */
static char *dir_from_url(const char *url)
{
	size_t len = strlen(url), start;
	char *d;

	while (len > 1 && url[len - 1] == '/')
		len--;
	if (len > 5 && !strncmp(url + len - 5, "/.git", 5))
		len -= 5;
	if (len > 4 && !strncmp(url + len - 4, ".git", 4))
		len -= 4;
	start = len;
	while (start > 0 && url[start - 1] != '/' && url[start - 1] != ':')
		start--;
	if (start == len || !(d = malloc(len - start + 1)))
		return NULL;
	memcpy(d, url + start, len - start);
	d[len - start] = '\0';
	return d;
}

/* 1: missing, 0: an empty directory, -1: something else is there. */
static int dir_state(const char *dir)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	int empty = 1;

	if (stat(dir, &st) < 0)
		return errno == ENOENT ? 1 : -1;
	if (!S_ISDIR(st.st_mode) || !(d = opendir(dir)))
		return -1;
	while (empty && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			empty = 0;
	closedir(d);
	return empty ? 0 : -1;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/* Remove what the failed clone left: `dir` if we made it, else its store. */
static void clean_up(const char *dir, const char *store, int made)
{
	nftw(made ? dir : store, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int cmd_clone(int argc, char **argv)
{
	mvc_checkout_options co = MVC_CHECKOUT_OPTIONS_INIT;
	mvc_repo *repo = NULL;
	struct progress bar;
	struct xfer x;
	const char **args = NULL;
	char **specs = NULL, **cfg = NULL, *dir = NULL, *store = NULL, *url = NULL, *cur = NULL;
	size_t nspecs = 0, n = 0;
	int rc = EXIT_ERR, error, state, made = 0, unborn = 1;

	opt_parse(&usage_clone, &argc, argv);
	if (argc < 1 || argc > 2)
		return usage_error(&usage_clone, "clone needs a URL, and takes a directory");
	if ((error = mvc_remote_url_check(argv[0])) < 0)
		return fail(error);
	if (branch && (!*branch || branch[0] == '-'))
		return usage_error(&usage_clone, "'%s' is not a branch name", branch);
	if ((error = mvc_remote_redact(&url, argv[0])) < 0)
		return fail(error);
	if (argc > 1)
		dir = strdup(argv[1]);
	else if (!(dir = dir_from_url(argv[0]))) {
		rc = die_msg("cannot name a directory after '%s'; say which: mvc clone <url> <dir>", url);
		goto done;
	}
	if (!dir || !(store = malloc(strlen(dir) + sizeof("/" MVC_DIRNAME)))) {
		rc = die_msg("out of memory");
		goto done;
	}
	sprintf(store, "%s/%s", dir, MVC_DIRNAME);
	if ((state = dir_state(dir)) < 0) {
		rc = die_msg("'%s' already exists and is not an empty directory", dir);
		goto done;
	}
	if (state == 1) {
		if (mkdir(dir, 0777) < 0) {
			rc = die_msg("cannot create '%s': %s", dir, strerror(errno));
			goto done;
		}
		made = 1;
	}
	if ((error = mvc_remote_clone_refspecs(&specs, &nspecs, "origin")) < 0) {
		rc = fail(error);
		goto done;
	}
	if (!(args = calloc(2 * nspecs + 24, sizeof(char *))) ||
	    !(cfg = calloc(nspecs + 1, sizeof(char *)))) {
		rc = die_msg("out of memory");
		goto done;
	}
	args[n++] = "clone";
	/* a bare clone: branches and tags as the server has them */
	args[n++] = "--bare";
	args[n++] = "-q";
	if (xfer_progress(progress, quiet))
		args[n++] = "--progress";
	if (branch) {
		args[n++] = "--branch";
		args[n++] = branch;
	}
	args[n++] = "-c";
	args[n++] = "core.logAllRefUpdates=true";
	/* and with these refspecs in the same fetch, the channels and notes too */
	for (size_t i = 0; i < nspecs; i++) {
		if (!(cfg[i] = malloc(strlen(specs[i]) + sizeof("remote.origin.fetch=")))) {
			rc = die_msg("out of memory");
			goto done;
		}
		sprintf(cfg[i], "remote.origin.fetch=%s", specs[i]);
		args[n++] = "-c";
		args[n++] = cfg[i];
	}
	args[n++] = "--";
	args[n++] = argv[0];
	args[n++] = store;
	args[n] = NULL;
	if ((rc = xfer_git(&x, NULL, args)) != 0) {
		clean_up(dir, store, made);
		goto done;
	}
	xfer_free(&x);
	if (x.status != 0) {
		clean_up(dir, store, made);
		rc = die_msg("clone of '%s' failed (git exited with %d); nothing was left behind", url,
		    x.status);
		goto done;
	}
	rc = EXIT_ERR;
	/* the new store, not one the environment names */
	unsetenv("MVC_DIR");
	unsetenv("MVC_WORK_TREE");
	unsetenv("GIT_DIR");
	if ((error = mvc_repo_open(&repo, dir)) < 0 ||
	    (error = mvc_remote_clone_setup(repo, "origin")) < 0 ||
	    (error = mvc_repo_head(&cur, &unborn, repo)) < 0) {
		rc = fail(error);
		goto done;
	}
	if (!unborn) {
		progress_init(&bar, "checkout", progress, quiet);
		co.progress = progress_cb;
		co.progress_payload = &bar;
		error = mvc_checkout_paths(repo, "HEAD", NULL, 0, &co);
		progress_end(&bar);
		if (error < 0) {
			rc = fail(error);
			fprintf(stderr, "mvc: the store was cloned into '%s'; its files were not written\n",
			    store);
			goto done;
		}
	}
	if (!quiet) {
		if (unborn)
			printf("cloned %s into %s: no versions yet\n", url, dir);
		else {
			mvc_version *v = NULL;
			char id[13];

			if (mvc_version_lookup(&v, repo, "HEAD") == 0) {
				xfer_short(id, mvc_version_id(v));
				printf("cloned %s into %s: %s%s%s at %s, %zu file%s written\n", url, dir,
				    cur ? "branch " : "", cur ? cur : "detached HEAD", "", id,
				    mvc_version_file_count(v), mvc_version_file_count(v) == 1 ? "" : "s");
			}
			mvc_version_free(v);
		}
	}
	rc = EXIT_OK;
done:
	for (size_t i = 0; cfg && i < nspecs; i++)
		free(cfg[i]);
	free(cfg);
	free(args);
	mvc_strings_free(specs, nspecs);
	mvc_repo_free(repo);
	free(cur);
	free(store);
	free(dir);
	free(url);
	return rc;
}
