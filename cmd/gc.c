/* mvc gc: repack the store for chunk objects and prune what nothing reaches. */
#include <stdio.h>
#include "cli.h"

static int quiet;
static const char *prune;
static const char *const syn[] = { "[--prune=<date>] [--quiet]", NULL };
static const struct opt opts[] = {
	{ "prune", 0, OPT_STRING, &prune, "<date>", "prune unreachable objects older than <date> (default: gc.pruneExpire, else 2.weeks.ago; 'now', 'never')" },
	{ "quiet", 'q', OPT_FLAG, &quiet, NULL, "print nothing on success" },
	{ NULL }
};
const struct cmd_usage usage_gc = { "gc", syn, opts, NULL };

int cmd_gc(int argc, char **argv)
{
	mvc_gc_options o = MVC_GC_OPTIONS_INIT;
	mvc_gc_report r;
	mvc_repo *repo = NULL;
	int error, rc;

	opt_parse(&usage_gc, &argc, argv);
	if (argc)
		return usage_error(&usage_gc, "gc takes no arguments");
	if (prune && !*prune)
		return usage_error(&usage_gc, "--prune needs a date");
	if ((rc = open_repo(&repo)) != 0)
		return rc;
	o.prune = prune;
	if ((error = mvc_gc(&r, repo, &o)) < 0) {
		rc = fail(error);
		goto done;
	}
	if (!quiet) {
		char b0[32], b1[32], t[32];

		printf("packs: %llu -> %llu (%s -> %s), loose objects: %llu -> %llu\n",
		    (unsigned long long)r.before.packs, (unsigned long long)r.after.packs,
		    human_size(b0, sizeof(b0), r.before.pack_bytes + r.before.loose_bytes),
		    human_size(b1, sizeof(b1), r.after.pack_bytes + r.after.loose_bytes),
		    (unsigned long long)r.before.loose, (unsigned long long)r.after.loose);
		if (r.temp_removed)
			printf("removed %llu stale temporary file%s (%s)\n",
			    (unsigned long long)r.temp_removed, r.temp_removed == 1 ? "" : "s",
			    human_size(t, sizeof(t), r.temp_bytes_removed));
		printf("pruned unreachable objects older than %s, in %.1f s\n", r.expire, r.seconds);
		rc = fflush(stdout) == 0 ? EXIT_OK : die_msg("cannot write output");
	}
done:
	mvc_repo_free(repo);
	return rc;
}
