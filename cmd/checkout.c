/* mvc checkout: write the files of a version; HEAD does not move. */
#include <stdio.h>
#include <stdlib.h>
#include "cli.h"

static const char *output;
static int force, quiet, progress = -1;
static const char *const syn[] = {
	"[--force] <rev> [<file>...]",
	"-o <path> <rev> [<file>]", NULL };
static const struct opt opts[] = {
	{ "output", 'o', OPT_STRING, &output, "<path>", "write the file to <path> instead of the working directory", "file" },
	{ "force", 'f', OPT_FLAG, &force, NULL, "overwrite files with uncommitted changes" },
	{ "quiet", 'q', OPT_FLAG, &quiet, NULL, "print nothing on success" },
	{ "progress", 0, OPT_FLAG, &progress, NULL, "show progress on stderr (default: on a terminal; --no-progress: never)" },
	{ NULL }
};
const struct cmd_usage usage_checkout = { "checkout", syn, opts, "rev" };

int cmd_checkout(int argc, char **argv)
{
	mvc_checkout_options o = MVC_CHECKOUT_OPTIONS_INIT;
	struct progress bar;
	mvc_repo *repo = NULL;
	char **paths = NULL;
	int error, rc;

	opt_parse(&usage_checkout, &argc, argv);
	if (argc < 1)
		return usage_error(&usage_checkout, "which version? name a revision, e.g. HEAD~1");
	if (output && argc > 2)
		return usage_error(&usage_checkout, "-o writes one file: name at most one");
	if ((rc = open_repo(&repo)) != 0)
		return rc;
	rc = EXIT_ERR;
	o.force = force;
	progress_init(&bar, "checkout", progress, quiet);
	o.progress = progress_cb;
	o.progress_payload = &bar;
	if (!(paths = calloc((size_t)argc, sizeof(char *))))
		goto done;
	for (int i = 1; i < argc; i++)
		if ((error = mvc_repo_relpath(&paths[i - 1], repo, argv[i])) < 0) {
			rc = fail(error);
			goto done;
		}
	if (output)
		error = mvc_checkout_to(repo, argv[0], argc > 1 ? paths[0] : NULL, output, &o);
	else
		error = mvc_checkout_paths(repo, argv[0], (const char *const *)paths,
		    (size_t)argc - 1, &o);
	progress_end(&bar);
	if (error < 0) {
		rc = fail(error);
		goto done;
	}
	if (!quiet && output)
		fprintf(stderr, "wrote '%s' from %s\n", output, argv[0]);
	rc = EXIT_OK;
done:
	for (int i = 0; paths && i < argc - 1; i++)
		free(paths[i]);
	free(paths);
	mvc_repo_free(repo);
	return rc;
}
