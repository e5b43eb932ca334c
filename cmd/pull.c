/* mvc pull: fetch, then fast-forward the current branch and write its files. */
#include <stdlib.h>
#include <string.h>
#include "xfer.h"

static int quiet, force, progress = -1;
static const char *const syn[] = {
	"[--force] [--quiet] [<remote> [<branch>]]", NULL };
static const struct opt opts[] = {
	{ "force", 'f', OPT_FLAG, &force, NULL, "overwrite files with uncommitted changes" },
	{ "quiet", 'q', OPT_FLAG, &quiet, NULL, "print nothing on success" },
	{ "progress", 0, OPT_FLAG, &progress, NULL, "show progress on stderr (default: on a terminal; --no-progress: never)" },
	{ NULL }
};
const struct cmd_usage usage_pull = { "pull", syn, opts, "remote" };

int cmd_pull(int argc, char **argv)
{
	mvc_pull_options o = MVC_PULL_OPTIONS_INIT;
	mvc_pull_result r;
	mvc_repo *repo = NULL;
	struct progress bar;
	const char *remote;
	char from[13], to[13];
	int rc, fetched, error;

	opt_parse(&usage_pull, &argc, argv);
	if (argc > 2)
		return usage_error(&usage_pull, "pull takes a remote and a branch");
	remote = argc ? argv[0] : "origin";
	if ((rc = open_repo(&repo)) != 0)
		return rc;
	/* a tag git would not clobber does not stop the pull (fetched is 1) */
	if ((fetched = fetch_remote(repo, remote, quiet, progress)) == EXIT_ERR) {
		mvc_repo_free(repo);
		return EXIT_ERR;
	}
	progress_init(&bar, "checkout", progress, quiet);
	o.force = force;
	o.progress = progress_cb;
	o.progress_payload = &bar;
	error = mvc_remote_pull(&r, repo, remote, argc > 1 ? argv[1] : NULL, &o);
	progress_end(&bar);
	if (error < 0) {
		/* not a fast-forward is a refusal, whatever fail() makes of it */
		rc = fail(error);
		if (error == MVC_EREFUSED)
			rc = EXIT_NO;
	} else {
		rc = fetched;
		xfer_short(to, &r.to);
		if (quiet)
			;
		else if (!r.moved)
			printf("%s: up to date with %s (%s)\n", r.branch, r.upstream + 13, to);
		else if (!r.has_from)
			printf("%s: created at %s from %s; files written\n", r.branch, to, r.upstream + 13);
		else {
			xfer_short(from, &r.from);
			printf("%s: %s -> %s (fast-forward to %s); files written\n", r.branch, from, to,
			    r.upstream + 13);
		}
	}
	mvc_pull_result_clear(&r);
	mvc_repo_free(repo);
	return rc;
}
