/* mvc remote: name the servers a store fetches from and pushes to. */
#include <stdlib.h>
#include <string.h>
#include "xfer.h"

static int json;
static const char *const syn[] = { "add <name> <url>", "remove <name>", "list [--json]", NULL };
static const struct opt opts[] = {
	{ "json", 0, OPT_FLAG, &json, NULL, "list: print JSON (schema in mvc-remote(1))" },
	{ NULL }
};
const struct cmd_usage usage_remote = { "remote", syn, opts, "remote" };

static int remote_list(mvc_repo *repo)
{
	mvc_remote_list *l = NULL;
	json_t *arr = json ? json_array() : NULL;
	int error, rc = EXIT_OK;

	if ((error = mvc_remote_list_read(&l, repo)) < 0) {
		json_decref(arr);
		return fail(error);
	}
	for (size_t i = 0; i < l->count; i++) {
		const mvc_remote *r = &l->remotes[i];
		char *url = NULL, *push = NULL;

		/* never print a secret a URL may carry */
		if ((error = mvc_remote_redact(&url, r->url)) < 0 ||
		    (r->push_url && (error = mvc_remote_redact(&push, r->push_url)) < 0)) {
			free(url);
			rc = fail(error);
			goto done;
		}
		if (json)
			json_array_append_new(arr, json_pack("{s:s, s:s, s:s?, s:b}", "name", r->name,
			    "url", url, "push_url", push, "mirror", r->mirror));
		else if (push)
			printf("%s\t%s (push: %s)\n", r->name, url, push);
		else
			printf("%s\t%s\n", r->name, url);
		free(url);
		free(push);
	}
	if (json) {
		rc = json_print(json_pack("{s:i, s:o}", "schema", 1, "remotes", arr));
		arr = NULL;
	}
done:
	json_decref(arr);
	mvc_remote_list_free(l);
	return rc;
}

int cmd_remote(int argc, char **argv)
{
	mvc_repo *repo = NULL;
	const char *sub;
	int rc, error = 0;

	opt_parse(&usage_remote, &argc, argv);
	if (argc < 1)
		return usage_error(&usage_remote, "which subcommand? add, remove or list");
	sub = argv[0];
	if (!strcmp(sub, "add")) {
		if (argc != 3)
			return usage_error(&usage_remote, "remote add needs a name and a URL");
	} else if (!strcmp(sub, "remove") || !strcmp(sub, "rm")) {
		if (argc != 2)
			return usage_error(&usage_remote, "remote remove needs a name");
	} else if (!strcmp(sub, "list")) {
		if (argc != 1)
			return usage_error(&usage_remote, "remote list takes no arguments");
	} else {
		return usage_error(&usage_remote, "'%s' is not a remote subcommand", sub);
	}
	if (json && strcmp(sub, "list"))
		return usage_error(&usage_remote, "--json goes with 'remote list'");
	if ((rc = open_repo(&repo)) != 0)
		return rc;
	if (!strcmp(sub, "list"))
		rc = remote_list(repo);
	else if (!strcmp(sub, "add"))
		rc = (error = mvc_remote_add(repo, argv[1], argv[2])) < 0 ? fail(error) : EXIT_OK;
	else
		rc = (error = mvc_remote_remove(repo, argv[1])) < 0 ? fail(error) : EXIT_OK;
	mvc_repo_free(repo);
	return rc;
}
