/* mvc commit: record a new version of model files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"

/* Attempts of --retry before giving up. */
#define RETRY_ATTEMPTS 100

static const char *message, *message_file, *format_arg;
static struct opt_list meta;
static int allow_empty, rehash, quiet, json, retry, no_verify, progress = -1;
static struct sign_opts sign = SIGN_OPTS_INIT;
static const char *const syn[] = {
	"(-m <msg> | -F <file>) [--meta <key>=<value>]... [--allow-empty] [--rehash] [--format <format>] [--retry] [--sign [--key <path>] [--passphrase-fd <n> | --passphrase-env <var>]] [--no-verify] [--quiet | --json] [<file>...]",
	NULL };
static const struct opt opts[] = {
	{ "message", 'm', OPT_STRING, &message, "<msg>", "the version's message" },
	{ "file", 'F', OPT_STRING, &message_file, "<file>", "read the message from a file ('-': stdin)", "file" },
	{ "meta", 0, OPT_LIST, &meta, "<key>=<value>", "record metadata (repeatable), e.g. num-examples=120000" },
	{ "allow-empty", 0, OPT_FLAG, &allow_empty, NULL, "commit even if nothing changed" },
	{ "rehash", 0, OPT_FLAG, &rehash, NULL, "hash every file even if its size and mtime match" },
	{ "format", 0, OPT_STRING, &format_arg, "<format>", "read the files as safetensors, gguf, npy, npz or opaque (default: by content)" },
	{ "retry", 0, OPT_FLAG, &retry, NULL, "when another commit moves the branch at once, commit again on top" },
	SIGN_OPT_ENTRIES(sign, "the version"),
	{ "no-verify", 0, OPT_FLAG, &no_verify, NULL, "do not run the pre-commit hook" },
	{ "quiet", 'q', OPT_FLAG, &quiet, NULL, "print nothing on success" },
	{ "json", 0, OPT_FLAG, &json, NULL, "print the new version as JSON" },
	{ "progress", 0, OPT_FLAG, &progress, NULL, "show progress on stderr (default: on a terminal; --no-progress: never)" },
	{ NULL }
};
const struct cmd_usage usage_commit = { "commit", syn, opts, "file" };

static char *slurp(const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f)
		return NULL;
	do {
		if (len + 4096 > cap) {
			char *nb = realloc(buf, cap = cap ? cap * 2 : 8192);
			if (!nb || cap > (16u << 20)) {
				free(nb ? nb : buf);
				buf = NULL;
				break;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0);
	if (buf)
		buf[len] = '\0';
	if (f != stdin)
		fclose(f);
	return buf;
}

/* A short random pause before attempt `n` + 1, growing to about 50 ms,
 * so that processes that lost a race do not collide again in step. */
static void backoff(unsigned n)
{
	static unsigned seed;
	unsigned cap = 2000u << (n < 5 ? n : 5);
	struct timespec ts;
	long us;

	if (!seed)
		seed = (unsigned)getpid() ^ (unsigned)time(NULL);
	us = 500 + (long)(rand_r(&seed) % cap);
	ts.tv_sec = us / 1000000;
	ts.tv_nsec = (us % 1000000) * 1000;
	nanosleep(&ts, NULL);
}

int cmd_commit(int argc, char **argv)
{
	struct progress bar;
	struct hook_ctx hook;
	mvc_commit_options o = MVC_COMMIT_OPTIONS_INIT;
	mvc_commit_stats st;
	mvc_repo *repo = NULL;
	mvc_key *key = NULL;
	char **paths = NULL, *msgbuf = NULL, hex[MVC_OID_HEXSZ + 1];
	mvc_oid id;
	int error, rc = EXIT_ERR;

	opt_parse(&usage_commit, &argc, argv);
	if (message && message_file)
		return usage_error(&usage_commit, "-m and -F cannot be used together");
	if (!message && !message_file)
		return usage_error(&usage_commit, "a version needs a message: use -m <msg> or -F <file>");
	sign_opts_check(&usage_commit, &sign);
	if (format_arg && (o.format = mvc_format_from_name(format_arg)) == MVC_FORMAT_UNKNOWN)
		return usage_error(&usage_commit,
		    "option '--format' takes safetensors, gguf, npy, npz or opaque, not '%s'", format_arg);
	if (message_file && !(message = msgbuf = slurp(message_file)))
		return die_msg("cannot read the message from '%s'", message_file);
	if ((rc = open_repo(&repo)) != 0 || (rc = sign_key_open(&key, repo, &sign)) != 0)
		goto done;
	rc = EXIT_ERR;
	if (!(paths = calloc((size_t)argc + 1, sizeof(char *))))
		goto done;
	for (int i = 0; i < argc; i++)
		if ((error = mvc_repo_relpath(&paths[i], repo, argv[i])) < 0) {
			rc = fail(error);
			goto done;
		}
	o.message = message;
	o.meta = meta.items;
	o.nmeta = meta.count;
	o.allow_empty = allow_empty;
	o.rehash = rehash;
	o.signing_key = key;
	/* the pre-commit hook sees the candidate before the branch moves */
	memset(&hook, 0, sizeof(hook));
	hook.repo = repo;
	if (!no_verify) {
		o.before_ref_update = hook_pre_commit;
		o.before_ref_update_payload = &hook;
	}
	progress_init(&bar, "commit", progress, quiet || json);
	o.progress = progress_cb;
	o.progress_payload = &bar;
	/* --retry: the branch moved under us, so commit again on the new HEAD.
	 * The attempt is redone whole; for a small change that is cheap. */
	for (unsigned attempt = 1;; attempt++) {
		error = mvc_commit(&id, &st, repo, (const char *const *)paths, (size_t)argc, &o);
		if (error != MVC_ECONFLICT || !retry)
			break;
		if (attempt == RETRY_ATTEMPTS) {
			fprintf(stderr, "mvc: gave up after %u attempts\n", attempt);
			break;
		}
		backoff(attempt);
	}
	progress_end(&bar);
	if (error == MVC_EREFUSED) {
		mvc_oid_fmt(hex, &hook.candidate);
		if (hook.status >= 0)
			fprintf(stderr, "mvc: the pre-commit hook refused version %.12s (exit %d); the "
			    "branch was not moved\n", hex, hook.status);
		rc = EXIT_NO;
		goto done;
	}
	if (error < 0) {
		rc = fail(error);
		goto done;
	}
	mvc_oid_fmt(hex, &id);
	hook_run(repo, "post-commit", &id); /* after the fact: its status changes nothing */
	if (json) {
		rc = json_print(json_pack("{s:i, s:s, s:I, s:I, s:I, s:I, s:I, s:I}",
		    "schema", 1, "id", hex, "files", (json_int_t)st.files,
		    "tensors", (json_int_t)st.tensors, "chunks", (json_int_t)st.chunks,
		    "chunks_written", (json_int_t)st.chunks_written,
		    "bytes_raw", (json_int_t)st.bytes_raw, "bytes_stored", (json_int_t)st.bytes_stored));
	} else {
		char a[32], b[32];

		if (!quiet)
			printf("[%.12s] %zu file%s, %zu tensors, %llu/%llu chunks stored "
			       "(%s new of %s)\n", hex, st.files, st.files == 1 ? "" : "s", st.tensors,
			    (unsigned long long)st.chunks_written, (unsigned long long)st.chunks,
			    human_size(a, sizeof(a), st.bytes_stored), human_size(b, sizeof(b), st.bytes_raw));
		rc = EXIT_OK;
	}
done:
	for (int i = 0; paths && i < argc; i++)
		free(paths[i]);
	free(paths);
	free(msgbuf);
	free(meta.items);
	mvc_key_free(key);
	mvc_repo_free(repo);
	return rc;
}
