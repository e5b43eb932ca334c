#ifndef MVC_CLI_H
#define MVC_CLI_H
/* Shared by the cmd/ files: option tables, errors, output helpers. */
#include <stdbool.h>
#include <stdio.h>
#include <jansson.h>
#include "mvc.h"

/* Exit codes (mvc(1)): */
#define EXIT_OK 0
#define EXIT_NO 1       /* a difference, a failed check, a refused update */
#define EXIT_ERR 2      /* an error */
#define EXIT_USAGE 129  /* bad command line */

typedef enum opt_type {
	OPT_FLAG,    /* int: set to 1 (--no-X sets 0) */
	OPT_STRING,  /* const char * */
	OPT_LIST,    /* struct opt_list, repeatable */
	OPT_UINT     /* unsigned long */
} opt_type;

struct opt_list {
	const char **items;
	size_t count;
};

struct opt {
	const char *lng;
	char shrt;
	opt_type type;
	void *dest;
	const char *arg;     /* name of the argument in help, e.g. "<msg>" */
	const char *help;
	const char *complete; /* completion hint: "rev", "file", "dir", "branch" */
};

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

struct cmd_usage {
	const char *name;
	const char *const *synopsis;  /* lines after "mvc <name> " */
	const struct opt *opts;       /* terminated by an entry with lng NULL */
	const char *args;             /* completion of positionals: "rev", "file", ... */
};

/*
 * Parse options in place: on return argv[0..*nargs) are the positional
 * arguments.  --help prints usage and exits 0; a usage error prints a
 * message and the usage, and exits 129.
 */
void opt_parse(const struct cmd_usage *u, int *argc, char **argv);
/* Index in the positional arguments where "--" stood, or -1. */
extern int opt_dashdash;
void opt_usage(FILE *f, const struct cmd_usage *u);
int usage_error(const struct cmd_usage *u, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Print "mvc: <message>" for the last libmvc error; return the exit code. */
int fail(int code);
/* Print "mvc: <message>" and return EXIT_ERR. */
int die_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Open the repository around the current directory, or print why not. */
int open_repo(mvc_repo **out);

/* Format bytes as "1.5 MiB". */
const char *human_size(char *buf, size_t n, uint64_t bytes);
/* Print a JSON value and a newline on stdout; consumes the reference. */
int json_print(json_t *v);
/* "2026-11-30T12:00:00+01:00" */
void fmt_time(char *buf, size_t n, int64_t t, int tz_minutes);
/* Shape as "[3, 4]" or "[]" for a scalar. */
void fmt_shape(char *buf, size_t n, const mvc_tensor *t);
json_t *json_shape(const mvc_tensor *t);

/* Progress on stderr (cmd/progress.c): `mode` is 1 for --progress, 0 for
 * --no-progress, -1 for a terminal unless `silent` (--quiet, --json). */
struct progress {
	const char *label;
	int enabled, drawn, forced;
	double start, last;
	uint64_t done, total;
};
void progress_init(struct progress *p, const char *label, int mode, int silent);
void progress_cb(uint64_t done, uint64_t total, void *payload);
void progress_end(struct progress *p);

/* Versions for log and show (cmd/output.c). */
void decoration(char *buf, size_t n, char **refs, size_t count);
json_t *version_json(mvc_repo *repo, mvc_version *v);
void print_version_header(mvc_repo *repo, mvc_version *v);
/* Recorded scores (cmd/output.c; schema in mvc-score(1)). */
json_t *score_json(const mvc_score *s);
void print_score_line(const mvc_score *s);
void print_version_scores(mvc_repo *repo, mvc_version *v);
json_t *version_scores_json(mvc_repo *repo, mvc_version *v);

/*
 * Signing for the commands that write versions (cmd/util_sign.c): --sign,
 * --key, --passphrase-fd and --passphrase-env, in each option table.
 */
struct sign_opts {
	int sign;
	const char *key;
	unsigned long pass_fd;
	const char *pass_env;
};
#define SIGN_OPTS_INIT { 0, NULL, (unsigned long)-1, NULL }
#define SIGN_OPT_ENTRIES(s, what) \
	{ "sign", 0, OPT_FLAG, &(s).sign, NULL, "sign " what " with your key (mvc-key(1))" }, \
	{ "key", 0, OPT_STRING, &(s).key, "<path>", "sign with this secret key (default: mvc.signingKey)", "file" }, \
	{ "passphrase-fd", 0, OPT_UINT, &(s).pass_fd, "<n>", "read the key's passphrase from file descriptor <n>" }, \
	{ "passphrase-env", 0, OPT_STRING, &(s).pass_env, "<var>", "read the key's passphrase from environment variable <var>" }
/* Check the options (usage errors exit 129). */
void sign_opts_check(const struct cmd_usage *u, const struct sign_opts *s);
/* The key to sign with (NULL when not signing); 0 or an exit code, the
 * error printed. */
int sign_key_open(mvc_key **out, mvc_repo *repo, const struct sign_opts *s);
/* A passphrase from a descriptor or a variable (never the command line),
 * in locked memory: free it with passphrase_free().  0 or an exit code. */
int passphrase_read(char **out, size_t *len, unsigned long fd, const char *env);
void passphrase_free(char *p);

/*
 * Hooks (cmd/util_hook.c): run the store's hooks/<name> if it is executable,
 * in the working directory, with MVC_COMMIT=<id> (when `id` is not NULL),
 * MVC_DIR, MVC_WORK_TREE and GIT_DIR set and its output on stderr.  The
 * hook's exit status; 0 when there is no hook; 128 + n for signal n; -1
 * (the error printed) when it could not be run.
 */
int hook_run(mvc_repo *repo, const char *name, const mvc_oid *id);
/* For mvc_commit_options.before_ref_update: runs pre-commit; the
 * payload is a struct hook_ctx.  A refusal returns MVC_EREFUSED and
 * leaves the status in the context. */
struct hook_ctx {
	mvc_repo *repo;
	int status;         /* of the last hook run */
	mvc_oid candidate;
};
int hook_pre_commit(const mvc_oid *candidate, void *payload);

/* The command table (cmd/mvc.c) and the usage of each command. */
extern const struct cmd commands[];
extern const struct cmd_usage *const usages[];
const struct cmd_usage *find_usage(const char *name);

#define DECLARE_CMD(x) int cmd_##x(int argc, char **argv); extern const struct cmd_usage usage_##x
DECLARE_CMD(init);
DECLARE_CMD(commit);
DECLARE_CMD(checkout);
DECLARE_CMD(log);
DECLARE_CMD(show);
DECLARE_CMD(diff);
DECLARE_CMD(score);
DECLARE_CMD(status);
DECLARE_CMD(branch);
DECLARE_CMD(switch);
DECLARE_CMD(tag);
DECLARE_CMD(channel);
DECLARE_CMD(rollback);
DECLARE_CMD(aggregate);
DECLARE_CMD(clone);
DECLARE_CMD(fetch);
DECLARE_CMD(pull);
DECLARE_CMD(push);
DECLARE_CMD(remote);
DECLARE_CMD(key);
DECLARE_CMD(verify);
DECLARE_CMD(check);
DECLARE_CMD(fsck);
DECLARE_CMD(du);
DECLARE_CMD(gc);
DECLARE_CMD(prune);
DECLARE_CMD(help);

#endif
