/* mvc prune: a retention policy; old versions keep their history, not their data. */
#include <stdio.h>
#include "cli.h"

static int keep_channels, keep_tagged, dry_run, json;
static unsigned long keep_last;
static const char *const syn[] = {
	"--keep-last <n> [--keep-channels] [--keep-tagged] [--dry-run] [--json]", NULL };
static const struct opt opts[] = {
	{ "keep-last", 0, OPT_UINT, &keep_last, "<n>", "keep the data of the <n> newest versions of each branch" },
	{ "keep-channels", 0, OPT_FLAG, &keep_channels, NULL, "keep every version a channel ever pointed at (rollback targets)" },
	{ "keep-tagged", 0, OPT_FLAG, &keep_tagged, NULL, "keep every tagged version" },
	{ "dry-run", 'n', OPT_FLAG, &dry_run, NULL, "say what would be dropped; drop nothing" },
	{ "json", 0, OPT_FLAG, &json, NULL, "print JSON (schema in mvc-prune(1))" },
	{ NULL }
};
const struct cmd_usage usage_prune = { "prune", syn, opts, NULL };

static json_t *versions_json(mvc_repo *repo, const mvc_oid *ids, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++) {
		mvc_version *v = NULL;
		char hex[MVC_OID_HEXSZ + 1];

		mvc_oid_fmt(hex, &ids[i]);
		mvc_version_lookup(&v, repo, hex);
		json_array_append_new(a, json_pack("{s:s, s:s}", "id", hex, "summary",
		    v ? mvc_version_summary(v) : ""));
		mvc_version_free(v);
	}
	return a;
}

int cmd_prune(int argc, char **argv)
{
	mvc_prune_options o = MVC_PRUNE_OPTIONS_INIT;
	mvc_prune_report *r = NULL;
	mvc_repo *repo = NULL;
	int error, rc;

	opt_parse(&usage_prune, &argc, argv);
	if (argc)
		return usage_error(&usage_prune, "prune takes no arguments");
	if (keep_last < 1)
		return usage_error(&usage_prune, "--keep-last <n> is required, with n at least 1");
	if ((rc = open_repo(&repo)) != 0)
		return rc;
	o.keep_last = keep_last;
	o.keep_channels = keep_channels;
	o.keep_tagged = keep_tagged;
	o.dry_run = dry_run;
	if ((error = mvc_prune(&r, repo, &o)) < 0) {
		rc = fail(error);
		goto done;
	}
	if (json) {
		char hex[MVC_OID_HEXSZ + 1];

		if (r->has_promise)
			mvc_oid_fmt(hex, &r->promise);
		rc = json_print(json_pack("{s:i, s:b, s:I, s:o, s:o, s:I, s:I, s:I, s:s?}",
		    "schema", 1, "dry_run", dry_run, "time", (json_int_t)r->time,
		    "kept", versions_json(repo, r->kept, r->kept_count),
		    "pruned", versions_json(repo, r->pruned, r->pruned_count),
		    "chunks", (json_int_t)r->chunks, "bytes", (json_int_t)r->bytes,
		    "packs_rewritten", (json_int_t)r->packs_rewritten,
		    "promise", r->has_promise ? hex : NULL));
		goto done;
	}
	{
		char sz[32];

		printf("kept the data of %zu version%s\n", r->kept_count, r->kept_count == 1 ? "" : "s");
		if (!r->chunks) {
			printf("nothing to drop: every stored chunk is needed by a kept version\n");
		} else {
			printf("%s the data of %zu older version%s: %llu chunk object%s, %s\n",
			    dry_run ? "would drop" : "dropped", r->pruned_count,
			    r->pruned_count == 1 ? "" : "s", (unsigned long long)r->chunks,
			    r->chunks == 1 ? "" : "s", human_size(sz, sizeof(sz), r->bytes));
			for (size_t i = 0; i < r->pruned_count; i++) {
				mvc_version *v = NULL;
				char hex[MVC_OID_HEXSZ + 1];

				mvc_oid_fmt(hex, &r->pruned[i]);
				mvc_version_lookup(&v, repo, hex);
				printf("  %.12s %s\n", hex, v ? mvc_version_summary(v) : "");
				mvc_version_free(v);
			}
			if (!dry_run)
				printf("their history stays (log, show, diff --stat); checking one out says "
				       "where to fetch it\n");
		}
		rc = fflush(stdout) == 0 ? EXIT_OK : die_msg("cannot write output");
	}
done:
	mvc_prune_report_free(r);
	mvc_repo_free(repo);
	return rc;
}
