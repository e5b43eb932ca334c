/* mvc: the command table and the entry point. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"

const struct cmd commands[] = {
	{ "init", cmd_init, "create a model repository" },
	{ "commit", cmd_commit, "record a new version of model files" },
	{ "status", cmd_status, "show which model files changed" },
	{ "log", cmd_log, "list versions, newest first" },
	{ "show", cmd_show, "describe one version: files, tensors, metadata" },
	{ "diff", cmd_diff, "show what changed, tensor by tensor, in numbers" },
	{ "score", cmd_score, "evaluate a version; record, gate on and compare scores" },
	{ "checkout", cmd_checkout, "write the files of a version" },
	{ "branch", cmd_branch, "list, create or delete branches" },
	{ "switch", cmd_switch, "change the current branch and write its files" },
	{ "tag", cmd_tag, "list, create or delete tags" },
	{ "channel", cmd_channel, "point a deployment channel at a version; its history" },
	{ "rollback", cmd_rollback, "move a channel or the branch back to an earlier version" },
	{ "aggregate", cmd_aggregate, "combine versions into one: federated averaging and more" },
	{ "clone", cmd_clone, "copy a repository from a server and write its files" },
	{ "fetch", cmd_fetch, "get a remote's versions, channels and scores" },
	{ "pull", cmd_pull, "fetch, then fast-forward the branch and write its files" },
	{ "push", cmd_push, "send versions, channels and scores to a remote" },
	{ "remote", cmd_remote, "add, remove or list the servers you push to and fetch from" },
	{ "key", cmd_key, "make a signing key; print its public key" },
	{ "verify", cmd_verify, "check that versions are signed by trusted keys" },
	{ "check", cmd_check, "refuse a version with NaN, other shapes or too large a change" },
	{ "fsck", cmd_fsck, "check that every stored version decodes and matches its digests" },
	{ "du", cmd_du, "show what each version costs in the store" },
	{ "gc", cmd_gc, "repack the store and prune what no version reaches" },
	{ "prune", cmd_prune, "drop old versions' data from the store, keep their history" },
	{ "help", cmd_help, "show help for mvc or a command" },
	{ NULL, NULL, NULL }
};

const struct cmd_usage *const usages[] = {
	&usage_init, &usage_commit, &usage_status, &usage_log, &usage_show,
	&usage_diff, &usage_score, &usage_checkout, &usage_branch, &usage_switch, &usage_tag, &usage_channel,
	&usage_rollback, &usage_aggregate, &usage_clone, &usage_fetch, &usage_pull,
	&usage_push, &usage_remote, &usage_key, &usage_verify, &usage_check, &usage_fsck,
	&usage_du, &usage_gc, &usage_prune, &usage_help, NULL
};

const struct cmd_usage *find_usage(const char *name)
{
	for (size_t i = 0; usages[i]; i++)
		if (!strcmp(usages[i]->name, name))
			return usages[i];
	return NULL;
}

static void main_usage(FILE *f)
{
	fprintf(f, "usage: mvc [-C <path>] [--version] [--help] <command> [<args>]\n\n"
	           "Version control for machine-learning model weights.\n\ncommands:\n");
	for (const struct cmd *c = commands; c->name; c++)
		fprintf(f, "   %-10s %s\n", c->name, c->summary);
	fprintf(f, "\n'mvc help <command>' or 'mvc <command> --help' describes a command;\n"
	           "man mvc-<command> has the details.\n");
}

static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), prev[64], cur[64];

	if (la >= 63 || lb >= 63)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;

			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, sizeof(cur));
	}
	return prev[lb];
}

/* Help for `mvc help` and `mvc help <command>`. */
static int help_main(int argc, char **argv);

static const char *const help_syn[] = { "[<command>]", NULL };
static const struct opt help_opts[] = { { NULL } };
const struct cmd_usage usage_help = { "help", help_syn, help_opts, "command" };

int cmd_help(int argc, char **argv)
{
	return help_main(argc, argv);
}

static int help_main(int argc, char **argv)
{
	const struct cmd_usage *u;

	opt_parse(&usage_help, &argc, argv);
	if (argc == 0) {
		main_usage(stdout);
		return EXIT_OK;
	}
	if (!(u = find_usage(argv[0])))
		return usage_error(&usage_help, "'%s' is not an mvc command", argv[0]);
	opt_usage(stdout, u);
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	int i = 1;

	while (i < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "--version")) {
			printf("mvc %s\n", mvc_version_string());
			return EXIT_OK;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			main_usage(stdout);
			return EXIT_OK;
		} else if (!strcmp(argv[i], "-C") && i + 1 < argc) {
			if (chdir(argv[i + 1]) < 0) {
				perror("mvc: -C");
				return EXIT_ERR;
			}
			i += 2;
		} else {
			fprintf(stderr, "mvc: unknown option '%s'\n", argv[i]);
			main_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (i >= argc) {
		main_usage(stderr);
		return EXIT_USAGE;
	}
	for (const struct cmd *c = commands; c->name; c++)
		if (!strcmp(c->name, argv[i]))
			return c->fn(argc - i, argv + i);
	fprintf(stderr, "mvc: '%s' is not an mvc command. See 'mvc --help'.\n", argv[i]);
	{
		const struct cmd *best = NULL;
		size_t bd = 3;

		for (const struct cmd *c = commands; c->name; c++) {
			size_t d = distance(argv[i], c->name);

			if (d < bd) {
				bd = d;
				best = c;
			}
		}
		if (best)
			fprintf(stderr, "\nThe most similar command is\n\t%s\n", best->name);
	}
	return EXIT_USAGE;
}
