/* mvc init: create a model repository. */
#include <stdio.h>
#include "cli.h"

static int quiet;
static const char *const syn[] = { "[--quiet] [<directory>]", NULL };
static const struct opt opts[] = {
	{ "quiet", 'q', OPT_FLAG, &quiet, NULL, "print nothing on success" },
	{ NULL }
};
const struct cmd_usage usage_init = { "init", syn, opts, "dir" };

int cmd_init(int argc, char **argv)
{
	mvc_repo *repo = NULL;
	int error;

	opt_parse(&usage_init, &argc, argv);
	if (argc > 1)
		return usage_error(&usage_init, "too many arguments");
	if ((error = mvc_repo_init(&repo, argc ? argv[0] : ".")) < 0)
		return fail(error);
	if (!quiet)
		printf("Initialized empty mvc repository in %s/\n", mvc_repo_path(repo));
	mvc_repo_free(repo);
	return EXIT_OK;
}
