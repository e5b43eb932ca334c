/* mvc channel: point named deployments at versions; list them; their history. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static const char *message;
static int retry, json, quiet;
static unsigned long max_count = (unsigned long)-1;
static struct sign_opts sign = SIGN_OPTS_INIT;
static const char *const syn[] = {
	"set [-m <msg>] [--retry] [--sign [--key <path>] [--passphrase-fd <n> | --passphrase-env <var>]] [--quiet | --json] <name> <rev>",
	"list [--json]",
	"log [-n <count>] [--json] <name>",
	"delete <name>",
	NULL };
static const struct opt opts[] = {
	{ "message", 'm', OPT_STRING, &message, "<msg>", "set: why (recorded in the move)" },
	{ "retry", 0, OPT_FLAG, &retry, NULL, "set: retry when another process moves the channel at once" },
	{ "max-count", 'n', OPT_UINT, &max_count, "<count>", "log: show at most <count> moves" },
	{ "quiet", 'q', OPT_FLAG, &quiet, NULL, "set: print nothing on success" },
	{ "json", 0, OPT_FLAG, &json, NULL, "print JSON (schema in mvc-channel(1))" },
	SIGN_OPT_ENTRIES(sign, "the move (set)"),
	{ NULL }
};
const struct cmd_usage usage_channel = { "channel", syn, opts, "channel" };

static void short_id(char out[13], const mvc_oid *id)
{
	char hex[MVC_OID_HEXSZ + 1];

	mvc_oid_fmt(hex, id);
	snprintf(out, 13, "%.12s", hex);
}

static json_t *hex_json(const mvc_oid *id, int valid)
{
	char hex[MVC_OID_HEXSZ + 1];

	if (!valid)
		return json_null();
	mvc_oid_fmt(hex, id);
	return json_string(hex);
}

static json_t *move_json(const mvc_channel_move *m)
{
	char t[64];

	fmt_time(t, sizeof(t), m->time, m->tz_minutes);
	return json_pack("{s:o, s:s, s:o, s:o, s:s, s:{s:s, s:s}, s:s, s:I}",
	    "id", hex_json(&m->id, 1), "action", mvc_channel_action_name(m->action),
	    "target", hex_json(&m->target, 1), "from", hex_json(&m->from, m->has_from),
	    "reason", m->reason, "by", "name", m->name, "email", m->email,
	    "date", t, "timestamp", (json_int_t)m->time);
}

static int channel_set(mvc_repo *repo, int argc, char **argv)
{
	mvc_channel_options o = MVC_CHANNEL_OPTIONS_INIT;
	mvc_channel_result r;
	mvc_key *key = NULL;
	char to[13], from[13];
	int error;

	if (argc != 3)
		return usage_error(&usage_channel, "channel set needs a name and a revision");
	o.message = message;
	o.retry = retry;
	if ((error = sign_key_open(&key, repo, &sign)) != 0)
		return error;
	o.signing_key = key;
	error = mvc_channel_set(&r, repo, argv[1], argv[2], &o);
	mvc_key_free(key);
	if (error < 0)
		return fail(error);
	if (json)
		return json_print(json_pack("{s:i, s:s, s:b, s:o, s:o, s:o}", "schema", 1,
		    "channel", argv[1], "moved", r.moved, "move", hex_json(&r.move, 1),
		    "target", hex_json(&r.target, 1), "from", hex_json(&r.from, r.has_from)));
	short_id(to, &r.target);
	short_id(from, &r.from);
	if (quiet)
		return EXIT_OK;
	if (!r.moved)
		printf("%s already points at %s\n", argv[1], to);
	else if (r.has_from)
		printf("%s: %s -> %s\n", argv[1], from, to);
	else
		printf("%s: created at %s\n", argv[1], to);
	return EXIT_OK;
}

static int channel_list(mvc_repo *repo)
{
	mvc_ref_list *l = NULL;
	json_t *arr = json ? json_array() : NULL;
	int error, rc = EXIT_OK;

	if ((error = mvc_channel_list(&l, repo)) < 0)
		return fail(error);
	for (size_t i = 0; i < l->count; i++) {
		const mvc_ref_entry *e = &l->entries[i];
		mvc_channel_log *log = NULL;
		mvc_version *v = NULL;
		char id[13], hex[MVC_OID_HEXSZ + 1];

		mvc_oid_fmt(hex, &e->target);
		if ((error = mvc_channel_log_read(&log, repo, e->name, 1)) < 0 ||
		    (error = mvc_version_lookup(&v, repo, hex)) < 0) {
			mvc_channel_log_free(log);
			rc = fail(error);
			goto done;
		}
		if (json) {
			json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:o}", "name", e->name,
			    "target", hex, "summary", mvc_version_summary(v),
			    "last_move", move_json(&log->moves[0])));
		} else {
			char t[64];

			short_id(id, &e->target);
			fmt_time(t, sizeof(t), log->moves[0].time, log->moves[0].tz_minutes);
			printf("%-16s %s  %s  (since %s)\n", e->name, id, mvc_version_summary(v), t);
		}
		mvc_channel_log_free(log);
		mvc_version_free(v);
	}
	if (json) {
		rc = json_print(json_pack("{s:i, s:o}", "schema", 1, "channels", arr));
		arr = NULL;
	}
done:
	json_decref(arr);
	mvc_ref_list_free(l);
	return rc;
}

static int channel_log(mvc_repo *repo, int argc, char **argv)
{
	mvc_channel_log *log = NULL;
	size_t n;
	int error;

	if (argc != 2)
		return usage_error(&usage_channel, "channel log needs a channel name");
	/* -n 0 shows no move, but the channel must still exist */
	if ((error = mvc_channel_log_read(&log, repo, argv[1],
	         max_count == (unsigned long)-1 ? 0 : max_count ? (size_t)max_count : 1)) < 0)
		return fail(error);
	n = max_count == 0 ? 0 : log->count;
	if (json) {
		json_t *arr = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, move_json(&log->moves[i]));
		mvc_channel_log_free(log);
		return json_print(json_pack("{s:i, s:s, s:o}", "schema", 1, "channel", argv[1],
		    "moves", arr));
	}
	for (size_t i = 0; i < n; i++) {
		const mvc_channel_move *m = &log->moves[i];
		char t[64], to[13], from[13] = "(new)";
		const char *nl = strchr(m->reason, '\n');

		fmt_time(t, sizeof(t), m->time, m->tz_minutes);
		short_id(to, &m->target);
		if (m->has_from)
			short_id(from, &m->from);
		printf("%s %-8s %-12s -> %s  %s <%s>%s%.*s\n", t, mvc_channel_action_name(m->action),
		    from, to, m->name, m->email, *m->reason ? ": " : "",
		    (int)(nl ? (size_t)(nl - m->reason) : strlen(m->reason)), m->reason);
	}
	mvc_channel_log_free(log);
	return EXIT_OK;
}

int cmd_channel(int argc, char **argv)
{
	mvc_repo *repo = NULL;
	const char *sub;
	int rc;

	opt_parse(&usage_channel, &argc, argv);
	if (argc < 1)
		return usage_error(&usage_channel, "which subcommand? set, list, log or delete");
	sub = argv[0];
	if (strcmp(sub, "set") && strcmp(sub, "list") && strcmp(sub, "log") && strcmp(sub, "delete"))
		return usage_error(&usage_channel, "'%s' is not a channel subcommand", sub);
	if (strcmp(sub, "set") && (message || retry || quiet || sign.sign || sign.key))
		return usage_error(&usage_channel,
		    "-m, --retry, --quiet, --sign and --key go with 'channel set'");
	sign_opts_check(&usage_channel, &sign);
	if (strcmp(sub, "log") && max_count != (unsigned long)-1)
		return usage_error(&usage_channel, "-n goes with 'channel log'");
	if (!strcmp(sub, "delete") && json)
		return usage_error(&usage_channel, "--json does not go with 'channel delete'");
	if (quiet && json)
		return usage_error(&usage_channel, "--quiet and --json cannot be used together");
	if (!strcmp(sub, "list") && argc != 1)
		return usage_error(&usage_channel, "channel list takes no arguments");
	if (!strcmp(sub, "delete") && argc != 2)
		return usage_error(&usage_channel, "channel delete needs a channel name");
	if ((rc = open_repo(&repo)) != 0)
		return rc;
	if (!strcmp(sub, "set"))
		rc = channel_set(repo, argc, argv);
	else if (!strcmp(sub, "list"))
		rc = channel_list(repo);
	else if (!strcmp(sub, "log"))
		rc = channel_log(repo, argc, argv);
	else {
		int error = mvc_channel_delete(repo, argv[1]);

		rc = error < 0 ? fail(error) : EXIT_OK;
	}
	mvc_repo_free(repo);
	return rc;
}
