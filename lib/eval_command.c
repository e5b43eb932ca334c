/*
 * The command evaluator: the version's model file is written (verified,
 * as checkout writes it) into a private temporary directory, a command
 * runs on it through /bin/sh, and the last line the command prints on
 * its standard output is a JSON object of numeric metrics.
 *
 * The command's standard input is /dev/null and its standard error is
 * ours; of its standard output only the last non-empty line is kept (at
 * most MVC_SCORE_LINE_MAX bytes), so it may print progress before it.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <jansson.h>
#include "eval.h"

extern char **environ;

/* `s` in single quotes for /bin/sh. */
static int shell_quote(mvc_buf *b, const char *s)
{
	int error = mvc_buf_puts(b, "'");

	for (; !error && *s; s++)
		error = *s == '\'' ? mvc_buf_puts(b, "'\\''") : mvc_buf_put(b, s, 1);
	return error ? error : mvc_buf_puts(b, "'");
}

/* The command with {model} and {test} replaced by quoted paths. */
static int expand(mvc_buf *b, const char *cmd, const char *model, const char *test)
{
	int error = 0;

	while (*cmd && !error) {
		if (!strncmp(cmd, "{model}", 7)) {
			error = shell_quote(b, model);
			cmd += 7;
		} else if (!strncmp(cmd, "{test}", 6)) {
			if (!test)
				return mvc__err(MVC_EINVALID,
				    "the command names {test} but no test data was given");
			error = shell_quote(b, test);
			cmd += 6;
		} else {
			error = mvc_buf_put(b, cmd++, 1);
		}
	}
	return error;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* A metric name a threshold can name: letters, digits and _@.:/+- */
int mvc__metric_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > MVC_METRIC_NAME_MAX)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      strchr("_@.:/+-", *s)))
			return 0;
	return 1;
}

/* Run `cmd`; its last line of output into `last`. */
static int run(mvc_buf *last, const char *cmd, const char *model, const char *version)
{
	posix_spawn_file_actions_t fa;
	char **env = NULL, *m = NULL, *v = NULL;
	char buf[65536];
	mvc_buf line = MVC_BUF_INIT;
	int pipefd[2] = { -1, -1 }, status, error = 0, too_long = 0, line_long = 0, fa_init = 0;
	size_t nenv = 0;
	pid_t pid = -1;
	ssize_t got;

	while (environ && environ[nenv])
		nenv++;
	if (!(env = mvc__calloc(nenv + 3, sizeof(char *))) ||
	    asprintf(&m, "MVC_MODEL=%s", model) < 0 || asprintf(&v, "MVC_VERSION=%s", version) < 0) {
		error = mvc__err(MVC_ENOMEM, "out of memory");
		goto done;
	}
	{
		size_t k = 0;

		for (size_t i = 0; i < nenv; i++)
			if (strncmp(environ[i], "MVC_MODEL=", 10) &&
			    strncmp(environ[i], "MVC_VERSION=", 12))
				env[k++] = environ[i];
		env[k++] = m;
		env[k++] = v;
		env[k] = NULL;
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		error = mvc__err_sys("cannot run the evaluation command");
		goto done;
	}
	if (posix_spawn_file_actions_init(&fa) != 0) {
		error = mvc__err(MVC_ENOMEM, "out of memory");
		goto done;
	}
	fa_init = 1;
	if (posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1) != 0) {
		error = mvc__err(MVC_ENOMEM, "out of memory");
		goto done;
	}
	{
		char *argv[] = { "sh", "-c", (char *)cmd, NULL };
		int rc = posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, env);

		if (rc != 0) {
			errno = rc;
			pid = -1;
			error = mvc__err_sys("cannot run /bin/sh for the evaluation command");
			goto done;
		}
	}
	close(pipefd[1]);
	pipefd[1] = -1;
	/* keep the last non-empty line */
	for (;;) {
		do
			got = read(pipefd[0], buf, sizeof(buf));
		while (got < 0 && errno == EINTR);
		if (got <= 0)
			break;
		for (ssize_t i = 0; i < got; i++) {
			if (buf[i] == '\n') {
				if (line.len || line_long) {
					last->len = 0;
					if (!line_long && (error = mvc_buf_put(last, line.ptr, line.len)) < 0)
						goto done;
					too_long = line_long;
				}
				line.len = 0;
				line_long = 0;
			} else if (buf[i] != '\r' || i + 1 == got || buf[i + 1] != '\n') {
				if (line.len >= MVC_SCORE_LINE_MAX)
					line_long = 1;
				else if ((error = mvc_buf_put(&line, buf + i, 1)) < 0)
					goto done;
			}
		}
	}
	if (line.len || line_long) {
		last->len = 0;
		if (!line_long && (error = mvc_buf_put(last, line.ptr, line.len)) < 0)
			goto done;
		too_long = line_long;
	}
	if (last->ptr)
		last->ptr[last->len] = '\0';
done:
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (pid > 0) {
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (!error) {
			if (WIFSIGNALED(status))
				error = mvc__err(MVC_ERROR, "the evaluation command was killed by signal %d",
				    WTERMSIG(status));
			else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
				error = mvc__err(MVC_ERROR, "the evaluation command failed (exit status %d)",
				    WEXITSTATUS(status));
			else if (too_long)
				error = mvc__err(MVC_EINVALID,
				    "the evaluation command's last line is longer than %d bytes",
				    MVC_SCORE_LINE_MAX);
		}
	}
	if (fa_init)
		posix_spawn_file_actions_destroy(&fa);
	mvc_buf_free(&line);
	free(env);
	free(m);
	free(v);
	return error;
}

int mvc__eval_command(mvc__evres *out, const mvc__evctx *c)
{
	const mvc_score_options *o = c->o;
	mvc_checkout_options co = MVC_CHECKOUT_OPTIONS_INIT;
	char hex[MVC_OID_HEXSZ + 1], digest[MVC_DIGEST_HEXSZ + 1], **files = NULL;
	const char *base, *path = o->file, *tmp = getenv("TMPDIR");
	mvc_buf dir = MVC_BUF_INIT, model = MVC_BUF_INIT, cmd = MVC_BUF_INIT, last = MVC_BUF_INIT;
	size_t nfiles = 0;
	json_t *j = NULL, *opt = NULL, *data = NULL;
	json_error_t jerr;
	mvc_score *s = NULL;
	const char *key;
	json_t *val;
	int error, made = 0;

	if (!o->command || !*o->command)
		return mvc__err(MVC_EINVALID, "the command evaluator needs a command (--cmd)");
	if (o->items || o->users || o->history || o->k || o->dot || o->layers || o->layout)
		return mvc__err(MVC_EINVALID, "the command evaluator takes no %s options",
		    o->layers || o->layout ? "classifier" : "retrieval");
	git_oid_tostr(hex, sizeof(hex), git_commit_id(c->commit));
	if (!path) {
		if ((error = mvc__tree_files(&files, &nfiles, c->git, c->root)) < 0)
			goto done;
		if (nfiles != 1) {
			error = mvc__err(MVC_EINVALID,
			    "version '%s' tracks %zu files: name the one to evaluate", c->rev, nfiles);
			goto done;
		}
		path = files[0];
	}
	if (o->test && (error = mvc_score_file_digest(digest, o->test)) < 0)
		goto done;
	base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	if ((error = mvc_buf_printf(&dir, "%s/mvc-score.XXXXXX", tmp && *tmp ? tmp : "/tmp")) < 0)
		goto done;
	if (!mkdtemp(dir.ptr)) {
		error = mvc__err_sys("cannot create a temporary directory in '%s'",
		    tmp && *tmp ? tmp : "/tmp");
		goto done;
	}
	made = 1;
	if ((error = mvc_buf_printf(&model, "%s/%s", dir.ptr, base)) < 0 ||
	    (error = mvc_checkout_to(c->repo, hex, path, model.ptr, &co)) < 0 ||
	    (error = expand(&cmd, o->command, model.ptr, o->test)) < 0 ||
	    (error = run(&last, cmd.ptr, model.ptr, hex)) < 0)
		goto done;
	if (!last.len) {
		error = mvc__err(MVC_EINVALID,
		    "the evaluation command printed nothing: its last line must be a JSON object of "
		    "metrics");
		goto done;
	}
	if (!(j = json_loadb(last.ptr, last.len, JSON_REJECT_DUPLICATES, &jerr)) || !json_is_object(j)) {
		char q[MVC_QUOTE_MAX];

		error = mvc__err(MVC_EINVALID,
		    "the evaluation command's last line is not a JSON object of metrics: '%s'",
		    mvc_quote(q, sizeof(q), last.ptr));
		goto done;
	}
	if (json_object_size(j) == 0) {
		error = mvc__err(MVC_EINVALID, "the evaluation command printed no metrics ({})");
		goto done;
	}
	if ((error = mvc__score_new(&s, c, "command")) < 0)
		goto done;
	json_object_foreach(j, key, val) {
		char q[MVC_QUOTE_MAX];

		if (!mvc__metric_name_ok(key)) {
			error = mvc__err(MVC_EINVALID,
			    "the evaluation command printed a metric named '%s': names are 1 to %d "
			    "letters, digits and _@.:/+-", mvc_quote(q, sizeof(q), key),
			    MVC_METRIC_NAME_MAX);
			goto done;
		}
		if (!json_is_number(val) || !isfinite(json_number_value(val))) {
			error = mvc__err(MVC_EINVALID,
			    "the evaluation command printed metric '%s' with a value that is not a "
			    "finite number", key);
			goto done;
		}
		if ((error = mvc__score_add(s, key, json_number_value(val))) < 0)
			goto done;
	}
	opt = json_pack("{s:s, s:s}", "cmd", o->command, "file", path);
	data = o->test ? json_pack("{s:s}", "test", digest) : json_object();
	if (!opt || !data || !(s->options = json_dumps(opt, JSON_COMPACT)) ||
	    !(s->data = json_dumps(data, JSON_COMPACT)) ||
	    (o->test && !(s->test_digest = mvc__strdup(digest)))) {
		error = mvc__err(MVC_ENOMEM, "out of memory");
		goto done;
	}
	out->s = s;
	s = NULL;
done:
	if (made)
		nftw(dir.ptr, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	json_decref(j);
	json_decref(opt);
	json_decref(data);
	mvc_score_free(s);
	mvc_strings_free(files, nfiles);
	mvc_buf_free(&dir);
	mvc_buf_free(&model);
	mvc_buf_free(&cmd);
	mvc_buf_free(&last);
	return error;
}
