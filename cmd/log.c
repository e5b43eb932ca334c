/* mvc log: versions, newest first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static int oneline, json;
static unsigned long max_count = (unsigned long)-1;
static const char *const syn[] = { "[--oneline] [-n <count>] [--json] [<rev>]", NULL };
static const struct opt opts[] = {
	{ "oneline", 0, OPT_FLAG, &oneline, NULL, "one line per version: id and summary" },
	{ "max-count", 'n', OPT_UINT, &max_count, "<count>", "show at most <count> versions" },
	{ "json", 0, OPT_FLAG, &json, NULL, "print JSON (schema in mvc-log(1))" },
	{ NULL }
};
const struct cmd_usage usage_log = { "log", syn, opts, "rev" };

int cmd_log(int argc, char **argv)
{
	mvc_repo *repo = NULL;
	mvc_walk *w = NULL;
	mvc_version *v = NULL;
	json_t *list = NULL;
	unsigned long n = 0;
	int error, rc;

	opt_parse(&usage_log, &argc, argv);
	if (argc > 1)
		return usage_error(&usage_log, "too many arguments");
	if ((rc = open_repo(&repo)) != 0)
		return rc;
	if ((error = mvc_walk_new(&w, repo, argc ? argv[0] : "HEAD")) < 0) {
		rc = fail(error);
		goto done;
	}
	if (json)
		list = json_array();
	while (n < max_count && (error = mvc_walk_next(&v, w)) == 0) {
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
		mvc_version_free(v);
		v = NULL;
		n++;
	}
	if (error < 0 && error != MVC_ITEROVER) {
		rc = fail(error);
		goto done;
	}
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
