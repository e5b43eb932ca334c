/* mvc switch: change the current branch and write its files. */
#include <stdio.h>
#include "cli.h"

static int create, force, quiet;
static const char *const syn[] = {
	"[--force] [--quiet] <branch>",
	"--create [--force] [--quiet] <branch> [<rev>]",
	NULL };
static const struct opt opts[] = {
	{ "create", 'c', OPT_FLAG, &create, NULL, "create the branch (at <rev>, default HEAD) first" },
	{ "force", 'f', OPT_FLAG, &force, NULL, "overwrite files with uncommitted changes" },
	{ "quiet", 'q', OPT_FLAG, &quiet, NULL, "print nothing on success" },
	{ NULL }
};
const struct cmd_usage usage_switch = { "switch", syn, opts, "branch" };

int cmd_switch(int argc, char **argv)
{
	mvc_switch_options o = MVC_SWITCH_OPTIONS_INIT;
	mvc_repo *repo = NULL;
	int error, rc;

	opt_parse(&usage_switch, &argc, argv);
	if (argc < 1)
		return usage_error(&usage_switch, "which branch?");
	if (argc > (create ? 2 : 1))
		return usage_error(&usage_switch, create ? "too many arguments"
		    : "too many arguments (a start version needs --create)");
	if ((rc = open_repo(&repo)) != 0)
		return rc;
	o.create = create;
	o.start = argc > 1 ? argv[1] : NULL;
	o.force = force;
	if ((error = mvc_switch(repo, argv[0], &o)) < 0)
		rc = fail(error);
	else if (!quiet)
		fprintf(stderr, "%s branch '%s'\n", create ? "switched to a new" : "switched to",
		    argv[0]);
	mvc_repo_free(repo);
	return rc;
}
