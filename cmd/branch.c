/* mvc branch: list, create and delete branches. */
#include <stdio.h>
#include <stdlib.h>
#include "cli.h"

static int del, force, json;
static const char *const syn[] = {
	"[--json]",
	"<branch> [<rev>]",
	"-d [--force] <branch>",
	NULL };
static const struct opt opts[] = {
	{ "delete", 'd', OPT_FLAG, &del, NULL, "delete the branch" },
	{ "force", 'f', OPT_FLAG, &force, NULL, "delete even if no other branch, tag or channel keeps its versions" },
	{ "json", 0, OPT_FLAG, &json, NULL, "print JSON (schema in mvc-branch(1))" },
	{ NULL }
};
const struct cmd_usage usage_branch = { "branch", syn, opts, "branch" };

static int list(mvc_repo *repo)
{
	mvc_ref_list *l = NULL;
	json_t *arr = json ? json_array() : NULL;
	int error, rc = EXIT_OK;

	if ((error = mvc_branch_list(&l, repo)) < 0)
		return fail(error);
	for (size_t i = 0; i < l->count; i++) {
		const mvc_ref_entry *e = &l->entries[i];
		char hex[MVC_OID_HEXSZ + 1];
		mvc_version *v = NULL;

		mvc_oid_fmt(hex, &e->target);
		if ((error = mvc_version_lookup(&v, repo, hex)) < 0) {
			rc = fail(error);
			goto done;
		}
		if (json)
			json_array_append_new(arr, json_pack("{s:s, s:s, s:b, s:s}", "name", e->name,
			    "id", hex, "current", e->current, "summary", mvc_version_summary(v)));
		else
			printf("%c %-20s %.12s %s\n", e->current ? '*' : ' ', e->name, hex,
			    mvc_version_summary(v));
		mvc_version_free(v);
	}
	if (json) {
		rc = json_print(json_pack("{s:i, s:o}", "schema", 1, "branches", arr));
		arr = NULL;
	}
done:
	json_decref(arr);
	mvc_ref_list_free(l);
	return rc;
}

int cmd_branch(int argc, char **argv)
{
	mvc_repo *repo = NULL;
	int error = 0, rc;

	opt_parse(&usage_branch, &argc, argv);
	if (del && argc != 1)
		return usage_error(&usage_branch, "-d needs exactly one branch name");
	if (!del && argc > 2)
		return usage_error(&usage_branch, "too many arguments");
	if (force && !del)
		return usage_error(&usage_branch, "--force goes with -d");
	if (json && (del || argc))
		return usage_error(&usage_branch, "--json goes with the list of branches");
	if ((rc = open_repo(&repo)) != 0)
		return rc;
	if (del)
		error = mvc_branch_delete(repo, argv[0], force);
	else if (argc)
		error = mvc_branch_create(NULL, repo, argv[0], argc > 1 ? argv[1] : NULL);
	else
		rc = list(repo);
	if (error < 0)
		rc = fail(error);
	mvc_repo_free(repo);
	return rc;
}
