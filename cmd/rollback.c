/* mvc rollback: a channel, or the current branch, back to an earlier version. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static const char *to, *message, *test;
#define UNSET ((unsigned long)-1)
static unsigned long steps = UNSET;
static int retry, force, quiet, json, last_good;
static struct opt_list mins, maxs;
static struct sign_opts sign = SIGN_OPTS_INIT;
static const char *const syn[] = {
	"[--to <rev> | --steps <n>] [--to-last-good (--min | --max) <metric>=<value>... [--test <file>]] [-m <msg>] [--retry] [--sign [--key <path>] [--passphrase-fd <n> | --passphrase-env <var>]] [--quiet | --json] <channel>",
	"[--to <rev> | --steps <n>] [--to-last-good (--min | --max) <metric>=<value>... [--test <file>]] [-m <msg>] [--retry] [--force] [--sign [--key <path>] [--passphrase-fd <n> | --passphrase-env <var>]] [--quiet | --json]",
	NULL };
static const struct opt opts[] = {
	{ "to", 0, OPT_STRING, &to, "<rev>", "roll back to this version", "rev" },
	{ "steps", 0, OPT_UINT, &steps, "<n>", "go back <n> earlier versions (default 1)" },
	{ "to-last-good", 0, OPT_FLAG, &last_good, NULL, "to the newest earlier version whose scores meet the bounds" },
	{ "min", 0, OPT_LIST, &mins, "<metric>=<value>", "--to-last-good: a recorded metric's minimum (repeatable)" },
	{ "max", 0, OPT_LIST, &maxs, "<metric>=<value>", "--to-last-good: a recorded metric's maximum (repeatable)" },
	{ "test", 0, OPT_STRING, &test, "<file>", "--to-last-good: only scores on this test data", "file" },
	{ "message", 'm', OPT_STRING, &message, "<msg>", "why (recorded with the rollback)" },
	{ "retry", 0, OPT_FLAG, &retry, NULL, "retry when another process moves it at once" },
	{ "force", 'f', OPT_FLAG, &force, NULL, "branch: overwrite files with uncommitted changes" },
	SIGN_OPT_ENTRIES(sign, "the move or commit"),
	{ "quiet", 'q', OPT_FLAG, &quiet, NULL, "print nothing on success" },
	{ "json", 0, OPT_FLAG, &json, NULL, "print JSON (schema in mvc-rollback(1))" },
	{ NULL }
};
const struct cmd_usage usage_rollback = { "rollback", syn, opts, "channel" };

int cmd_rollback(int argc, char **argv)
{
	mvc_rollback_options o = MVC_ROLLBACK_OPTIONS_INIT;
	mvc_rollback_result r;
	mvc_repo *repo = NULL;
	mvc_key *key = NULL;
	char c[MVC_OID_HEXSZ + 1], t[MVC_OID_HEXSZ + 1], f[MVC_OID_HEXSZ + 1], *branch = NULL;
	const char *channel;
	int error, rc, unborn;
	mvc_score_bound *bounds = NULL;
	mvc_score_filter filter;
	char digest[MVC_DIGEST_HEXSZ + 1];

	opt_parse(&usage_rollback, &argc, argv);
	if (argc > 1)
		return usage_error(&usage_rollback, "too many arguments: name at most one channel");
	if (to && steps != UNSET)
		return usage_error(&usage_rollback, "--to and --steps cannot be used together");
	if (steps == 0 || (steps != UNSET && steps > 1000000))
		return usage_error(&usage_rollback, "--steps needs a number from 1 to 1000000");
	if (quiet && json)
		return usage_error(&usage_rollback, "--quiet and --json cannot be used together");
	if (last_good && to)
		return usage_error(&usage_rollback, "--to and --to-last-good cannot be used together");
	if (last_good && !mins.count && !maxs.count)
		return usage_error(&usage_rollback, "--to-last-good needs a bound: --min or --max <metric>=<value>");
	if (!last_good && (mins.count || maxs.count || test))
		return usage_error(&usage_rollback, "--min, --max and --test go with --to-last-good");
	memset(&filter, 0, sizeof(filter));
	if (last_good) {
		if (!(bounds = calloc(mins.count + maxs.count, sizeof(*bounds))))
			return die_msg("out of memory");
		for (size_t i = 0; i < mins.count + maxs.count; i++) {
			int max = i >= mins.count;

			if (mvc_score_bound_parse(&bounds[i], max ? maxs.items[i - mins.count] : mins.items[i],
			        max) < 0)
				return usage_error(&usage_rollback, "--%s: %s", max ? "max" : "min",
				    mvc_error_last());
		}
		filter.bounds = bounds;
		filter.nbounds = mins.count + maxs.count;
	}
	channel = argc ? argv[0] : NULL;
	if (channel && force)
		return usage_error(&usage_rollback, "--force applies to the files of a branch rollback, "
		    "not to a channel");
	sign_opts_check(&usage_rollback, &sign);
	if ((rc = open_repo(&repo)) != 0)
		return rc;
	if ((rc = sign_key_open(&key, repo, &sign)) != 0)
		goto done;
	if (test) {
		if ((error = mvc_score_file_digest(digest, test)) < 0) {
			rc = fail(error);
			goto done;
		}
		filter.test_digest = digest;
	}
	o.last_good = last_good ? &filter : NULL;
	o.to = to;
	o.steps = steps == UNSET ? 0 : (unsigned)steps;
	o.message = message;
	o.retry = retry;
	o.force = force;
	o.signing_key = key;
	if ((error = mvc_rollback(&r, repo, channel, &o)) < 0) {
		rc = fail(error);
		goto done;
	}
	mvc_oid_fmt(c, &r.commit);
	mvc_oid_fmt(t, &r.target);
	mvc_oid_fmt(f, &r.from);
	if (!channel)
		mvc_repo_head(&branch, &unborn, repo);
	if (json) {
		rc = json_print(json_pack("{s:i, s:s?, s:s?, s:s, s:s, s:s}", "schema", 1,
		    "channel", channel, "branch", channel ? NULL : branch, "commit", c,
		    "target", t, "from", f));
	} else {
		if (!quiet)
			printf("%s: rolled back from %.12s to %.12s (%s %.12s)\n",
			    channel ? channel : branch ? branch : "HEAD", f, t,
			    channel ? "move" : "version", c);
		rc = EXIT_OK;
	}
done:
	free(bounds);
	free(branch);
	mvc_key_free(key);
	mvc_repo_free(repo);
	return rc;
}
