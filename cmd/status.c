/* mvc status: which tracked model files differ from the current version. */
#include <stdio.h>
#include "cli.h"

static int json, rehash, exit_code, quiet;
static const char *const syn[] = { "[--json] [--rehash] [--exit-code [--quiet]]", NULL };
static const struct opt opts[] = {
	{ "json", 0, OPT_FLAG, &json, NULL, "print JSON (schema in mvc-status(1))" },
	{ "rehash", 0, OPT_FLAG, &rehash, NULL, "hash every file even if its size and mtime match" },
	{ "exit-code", 0, OPT_FLAG, &exit_code, NULL, "exit 1 if a tracked file is not clean" },
	{ "quiet", 'q', OPT_FLAG, &quiet, NULL, "print nothing (with --exit-code)" },
	{ NULL }
};
const struct cmd_usage usage_status = { "status", syn, opts, NULL };

int cmd_status(int argc, char **argv)
{
	mvc_repo *repo = NULL;
	mvc_status_list *l = NULL;
	size_t dirty = 0, untracked = 0;
	int error, rc;

	opt_parse(&usage_status, &argc, argv);
	if (argc)
		return usage_error(&usage_status, "status takes no arguments");
	if ((rc = open_repo(&repo)) != 0)
		return rc;
	if ((error = mvc_status(&l, repo, rehash)) < 0) {
		rc = fail(error);
		goto done;
	}
	for (size_t i = 0; i < l->count; i++) {
		if (l->entries[i].state == MVC_FILE_UNTRACKED)
			untracked++;
		else if (l->entries[i].state != MVC_FILE_CLEAN)
			dirty++;
	}
	if (json) {
		json_t *files = json_array();

		for (size_t i = 0; i < l->count; i++) {
			json_t *f = json_pack("{s:s, s:s}", "path", l->entries[i].path,
			    "state", mvc_file_state_name(l->entries[i].state));

			if (l->entries[i].state == MVC_FILE_OTHER_VERSION) {
				char hex[MVC_OID_HEXSZ + 1];

				mvc_oid_fmt(hex, &l->entries[i].version);
				json_object_set_new(f, "version", json_string(hex));
			}
			json_array_append_new(files, f);
		}
		rc = json_print(json_pack("{s:i, s:s?, s:b, s:b, s:o}", "schema", 1,
		    "branch", l->branch, "unborn", l->unborn, "clean", dirty == 0, "files", files));
		if (rc)
			goto done;
	} else if (!quiet) {
		if (l->branch)
			printf("On branch %s\n", l->branch);
		else
			printf("HEAD detached\n");
		if (l->unborn)
			printf("\nNo versions yet\n");
		for (size_t i = 0; i < l->count; i++) {
			const mvc_status_entry *e = &l->entries[i];

			if (e->state == MVC_FILE_UNTRACKED)
				continue;
			if (e->state == MVC_FILE_OTHER_VERSION) {
				char hex[MVC_OID_HEXSZ + 1];

				mvc_oid_fmt(hex, &e->version);
				printf("  %-14s %s (as in version %.12s)\n", "other-version", e->path, hex);
			} else {
				printf("  %-14s %s\n", mvc_file_state_name(e->state), e->path);
			}
		}
		if (untracked) {
			printf("\nUntracked model files (use 'mvc commit <file>' to track):\n");
			for (size_t i = 0; i < l->count; i++)
				if (l->entries[i].state == MVC_FILE_UNTRACKED)
					printf("  %s\n", l->entries[i].path);
		}
		if (!dirty && !l->unborn)
			printf("\nnothing to commit, model files clean\n");
	}
	rc = exit_code && dirty ? EXIT_NO : EXIT_OK;
done:
	mvc_status_free(l);
	mvc_repo_free(repo);
	return rc;
}
