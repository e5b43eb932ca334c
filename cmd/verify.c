/* mvc verify: are these versions signed by trusted keys, and are their files the signed ones? */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static const char *trusted_path;
static int json, quiet;
static const char *const syn[] = { "[--trusted <file>] [--quiet | --json] [<rev>...]", NULL };
static const struct opt opts[] = {
	{ "trusted", 0, OPT_STRING, &trusted_path, "<file>", "the trusted keys (default: mvc.trustedKeys)", "file" },
	{ "quiet", 'q', OPT_FLAG, &quiet, NULL, "print nothing; the exit status tells" },
	{ "json", 0, OPT_FLAG, &json, NULL, "print JSON (schema in mvc-verify(1))" },
	{ NULL }
};
const struct cmd_usage usage_verify = { "verify", syn, opts, "rev" };

int cmd_verify(int argc, char **argv)
{
	static const char *head[] = { "HEAD" };
	const char **revs = (const char **)argv;
	mvc_repo *repo = NULL;
	mvc_trusted *trusted = NULL;
	mvc_verify_result *res = NULL;
	char *path = NULL, hex[MVC_OID_HEXSZ + 1];
	json_t *vs = NULL;
	int n = argc, bad = 0, error, rc;

	opt_parse(&usage_verify, &argc, argv);
	n = argc;
	if (quiet && json)
		return usage_error(&usage_verify, "--quiet and --json cannot be used together");
	if (n == 0) {
		revs = head;
		n = 1;
	}
	if ((rc = open_repo(&repo)) != 0)
		return rc;
	rc = EXIT_ERR;
	if (!trusted_path && (error = mvc_trusted_config_path(&path, repo)) < 0) {
		rc = fail(error);
		goto done;
	}
	if ((error = mvc_trusted_load(&trusted, trusted_path ? trusted_path : path)) < 0) {
		rc = fail(error);
		goto done;
	}
	if (!(res = calloc((size_t)n, sizeof(*res)))) {
		rc = die_msg("out of memory");
		goto done;
	}
	/* every revision first: an unknown one is an error, not a verdict */
	for (int i = 0; i < n; i++)
		if ((error = mvc_verify(&res[i], repo, revs[i], trusted)) < 0) {
			rc = fail(error);
			goto done;
		}
	vs = json_array();
	for (int i = 0; i < n; i++) {
		const mvc_verify_result *r = &res[i];
		int good = r->status == MVC_VERIFY_GOOD;

		mvc_oid_fmt(hex, &r->id);
		bad |= !good;
		if (json) {
			json_array_append_new(vs, json_pack("{s:s, s:s, s:s, s:b, s:s?, s:s?, s:I, s:s?}",
			    "rev", revs[i], "id", hex, "status", mvc_verify_status_name(r->status),
			    "good", good, "key", r->key_id[0] ? r->key_id : NULL, "signer", r->signer,
			    "files", (json_int_t)r->files, "reason", r->reason));
		} else if (quiet) {
			continue;
		} else if (good) {
			printf("%.12s good signature by %s (key %s); %zu file digest%s\n", hex,
			    r->signer, r->key_id, r->files, r->files == 1 ? " matches" : "s match");
		} else {
			fflush(stdout);
			fprintf(stderr, "mvc: version %.12s (%s): %s\n", hex, revs[i], r->reason);
		}
	}
	if (json)
		rc = json_print(json_pack("{s:i, s:b, s:O}", "schema", 1, "ok", !bad, "versions", vs));
	else
		rc = fflush(stdout) == 0 ? EXIT_OK : die_msg("cannot write output");
	if (rc == EXIT_OK && bad)
		rc = EXIT_NO;
done:
	json_decref(vs);
	for (int i = 0; res && i < n; i++)
		mvc_verify_result_clear(&res[i]);
	free(res);
	free(path);
	mvc_trusted_free(trusted);
	mvc_repo_free(repo);
	return rc;
}
