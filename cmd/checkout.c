/* mvc checkout: write the files of a version; HEAD does not move. */
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include "cli.h"

static const char *output, *dtype_arg, *dir;
static struct opt_list tensors;
static int force, quiet, progress = -1;
static const char *const syn[] = {
	"[--force] <rev> [<file>...]",
	"-o <path> [--tensor <glob>]... [--dtype <type>] <rev> [<file>]",
	"--dir <dir> <rev> [<file>...]", NULL };
static const struct opt opts[] = {
	{ "output", 'o', OPT_STRING, &output, "<path>", "write the file to <path> instead of the working directory", "file" },
	{ "dir", 0, OPT_STRING, &dir, "<dir>", "write the files into <dir>, replacing it as a whole at once (sharded models)", "dir" },
	{ "tensor", 0, OPT_LIST, &tensors, "<glob>", "with -o: write a safetensors file of only the tensors matching <glob> (repeatable)" },
	{ "dtype", 0, OPT_STRING, &dtype_arg, "<type>", "with -o: write float tensors as bf16, f16 or f32 (safetensors)" },
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
	if (dir && (output || tensors.count || dtype_arg || force))
		return usage_error(&usage_checkout, "--dir writes whole files of its own: no -o, --tensor, --dtype or --force");
	if ((tensors.count || dtype_arg) && !output)
		return usage_error(&usage_checkout, "--tensor and --dtype write a new file: give it with -o");
	if (dtype_arg) {
		if (!strcasecmp(dtype_arg, "bf16"))
			o.dtype = MVC_DTYPE_BF16;
		else if (!strcasecmp(dtype_arg, "f16"))
			o.dtype = MVC_DTYPE_F16;
		else if (!strcasecmp(dtype_arg, "f32"))
			o.dtype = MVC_DTYPE_F32;
		else
			return usage_error(&usage_checkout,
			    "option '--dtype' takes bf16, f16 or f32, not '%s'", dtype_arg);
	}
	o.tensors = tensors.items;
	o.ntensors = tensors.count;
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
	if (dir)
		error = mvc_checkout_dir(repo, argv[0], (const char *const *)paths, (size_t)argc - 1,
		    dir, &o);
	else if (output)
		error = mvc_checkout_to(repo, argv[0], argc > 1 ? paths[0] : NULL, output, &o);
	else
		error = mvc_checkout_paths(repo, argv[0], (const char *const *)paths,
		    (size_t)argc - 1, &o);
	progress_end(&bar);
	if (error < 0) {
		rc = fail(error);
		goto done;
	}
	if (!quiet && (output || dir))
		fprintf(stderr, "wrote '%s' from %s\n", output ? output : dir, argv[0]);
	rc = EXIT_OK;
done:
	for (int i = 0; paths && i < argc - 1; i++)
		free(paths[i]);
	free(paths);
	free(tensors.items);
	mvc_repo_free(repo);
	return rc;
}
