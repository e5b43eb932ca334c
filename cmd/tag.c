/* mvc tag: name versions; list and delete the names. */
#include <stdio.h>
#include <string.h>
#include "cli.h"

static const char *message;
static int del, json;
static const char *const syn[] = {
	"[--json]",
	"[-m <msg>] <tag> [<rev>]",
	"-d <tag>",
	NULL };
static const struct opt opts[] = {
	{ "message", 'm', OPT_STRING, &message, "<msg>", "an annotated tag with this message" },
	{ "delete", 'd', OPT_FLAG, &del, NULL, "delete the tag" },
	{ "json", 0, OPT_FLAG, &json, NULL, "print JSON (schema in mvc-tag(1))" },
	{ NULL }
};
const struct cmd_usage usage_tag = { "tag", syn, opts, "tag" };

static int list(mvc_repo *repo)
{
	mvc_ref_list *l = NULL;
	json_t *arr = json ? json_array() : NULL;
	int error, rc = EXIT_OK;

	if ((error = mvc_tag_list(&l, repo)) < 0)
		return fail(error);
	for (size_t i = 0; i < l->count; i++) {
		const mvc_ref_entry *e = &l->entries[i];
		char hex[MVC_OID_HEXSZ + 1];

		mvc_oid_fmt(hex, &e->target);
		if (json) {
			json_array_append_new(arr, json_pack("{s:s, s:s, s:s?}", "name", e->name,
			    "id", hex, "message", e->message));
		} else {
			const char *m = e->message, *nl = m ? strchr(m, '\n') : NULL;

			printf("%-20s %.12s%s%.*s\n", e->name, hex, m ? "  " : "",
			    m ? (int)(nl ? (size_t)(nl - m) : strlen(m)) : 0, m ? m : "");
		}
	}
	if (json) {
		rc = json_print(json_pack("{s:i, s:o}", "schema", 1, "tags", arr));
		arr = NULL;
	}
	json_decref(arr);
	mvc_ref_list_free(l);
	return rc;
}

int cmd_tag(int argc, char **argv)
{
	mvc_repo *repo = NULL;
	int error = 0, rc;

	opt_parse(&usage_tag, &argc, argv);
	if (del && argc != 1)
		return usage_error(&usage_tag, "-d needs exactly one tag name");
	if (!del && argc > 2)
		return usage_error(&usage_tag, "too many arguments");
	if (message && (del || !argc))
		return usage_error(&usage_tag, "-m goes with creating a tag");
	if (json && (del || argc))
		return usage_error(&usage_tag, "--json goes with the list of tags");
	if ((rc = open_repo(&repo)) != 0)
		return rc;
	if (del)
		error = mvc_tag_delete(repo, argv[0]);
	else if (argc)
		error = mvc_tag_create(NULL, repo, argv[0], argc > 1 ? argv[1] : NULL, message);
	else
		rc = list(repo);
	if (error < 0)
		rc = fail(error);
	mvc_repo_free(repo);
	return rc;
}
