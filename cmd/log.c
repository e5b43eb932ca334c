/* mvc log: versions, newest first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static int oneline, json;
static unsigned long max_count = (unsigned long)-1;
static const char *channel;
static const char *const syn[] = {
	"[--oneline] [-n <count>] [--json] [<rev>]",
	"--channel <name> [--oneline] [-n <count>] [--json]",
	NULL };
static const struct opt opts[] = {
	{ "oneline", 0, OPT_FLAG, &oneline, NULL, "one line per version: id and summary" },
	{ "max-count", 'n', OPT_UINT, &max_count, "<count>", "show at most <count> versions" },
	{ "channel", 0, OPT_STRING, &channel, "<name>", "the versions channel <name> pointed at, last deployed first", "channel" },
	{ "json", 0, OPT_FLAG, &json, NULL, "print JSON (schema in mvc-log(1))" },
	{ NULL }
};
const struct cmd_usage usage_log = { "log", syn, opts, "rev" };

static void show(mvc_repo *repo, mvc_version *v, unsigned long n, json_t *list)
{
	if (json) {
		json_array_append_new(list, version_json(repo, v));
	} else if (oneline) {
		char hex[MVC_OID_HEXSZ + 1], deco[512];
		char **refs = NULL;
		size_t nrefs = 0;

		mvc_oid_fmt(hex, mvc_version_id(v));
		if (mvc_version_refs(&refs, &nrefs, repo, mvc_version_id(v)) < 0)
			nrefs = 0;
		decoration(deco, sizeof(deco), refs, nrefs);
		mvc_strings_free(refs, nrefs);
		printf("%.12s%s %s\n", hex, deco, mvc_version_summary(v));
	} else {
		if (n)
			putchar('\n');
		print_version_header(repo, v);
	}
}

/* The targets of a channel's moves, newest first, each once. */
static int channel_versions(mvc_repo *repo, json_t *list)
{
	mvc_channel_log *log = NULL;
	unsigned long n = 0;
	int error;

	if ((error = mvc_channel_log_read(&log, repo, channel, 0)) < 0)
		return fail(error);
	for (size_t i = 0; i < log->count && n < max_count; i++) {
		char hex[MVC_OID_HEXSZ + 1];
		mvc_version *v = NULL;
		size_t j;

		for (j = 0; j < i; j++)
			if (!memcmp(&log->moves[j].target, &log->moves[i].target, sizeof(mvc_oid)))
				break;
		if (j < i)
			continue;
		mvc_oid_fmt(hex, &log->moves[i].target);
		if ((error = mvc_version_lookup(&v, repo, hex)) < 0) {
			mvc_channel_log_free(log);
			return fail(error);
		}
		show(repo, v, n++, list);
		mvc_version_free(v);
	}
	mvc_channel_log_free(log);
	return EXIT_OK;
}

int cmd_log(int argc, char **argv)
{
	mvc_repo *repo = NULL;
	mvc_walk *w = NULL;
	mvc_version *v = NULL;
	json_t *list = NULL;
	unsigned long n = 0;
	int error = 0, rc;

	opt_parse(&usage_log, &argc, argv);
	if (argc > 1)
		return usage_error(&usage_log, "too many arguments");
	if (channel && argc)
		return usage_error(&usage_log, "--channel and a revision cannot be used together");
	if ((rc = open_repo(&repo)) != 0)
		return rc;
	if (json)
		list = json_array();
	if (channel) {
		if ((rc = channel_versions(repo, list)) != EXIT_OK)
			goto done;
		goto print;
	}
	if ((error = mvc_walk_new(&w, repo, argc ? argv[0] : "HEAD")) < 0) {
		rc = fail(error);
		goto done;
	}
	while (n < max_count && (error = mvc_walk_next(&v, w)) == 0) {
		show(repo, v, n, list);
		mvc_version_free(v);
		v = NULL;
		n++;
	}
	if (error < 0 && error != MVC_ITEROVER) {
		rc = fail(error);
		goto done;
	}
print:
	if (json) {
		rc = json_print(json_pack("{s:i, s:o}", "schema", 1, "versions", list));
		list = NULL;
	}
done:
	json_decref(list);
	mvc_walk_free(w);
	mvc_repo_free(repo);
	return rc;
}
