/*
 * git's command-line client as mvc's transport.  libgit2 1.5.1 packs
 * what it sends itself, inflating and deflating every object again;
 * git's pack-objects sends the chunks of the store's packs as they are
 * (see mvc-push(1) for the numbers), and brings its credential helpers,
 * ssh configuration and protocol support with it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "xfer.h"

extern char **environ;

/* Largest standard output kept (ref status lines: a line per ref). */
#define OUT_MAX ((size_t)16 << 20)
/* Longest line of standard error redacted as one (progress lines are short). */
#define LINE_MAX_ 4096

/* Settings for every git run: no delta search over chunks that zstd has
 * already compressed, and packs kept as they arrive (below 100 objects
 * git would explode them into loose objects, deflating every chunk). */
static const char *const common[] = {
	"-c", "pack.window=0", "-c", "pack.depth=0", "-c", "fetch.unpackLimit=1",
	"-c", "transfer.unpackLimit=1", NULL
};

/* Variables that would point git at another repository than the store. */
static bool dropped(const char *kv)
{
	static const char *const names[] = { "GIT_DIR=", "GIT_WORK_TREE=", "GIT_OBJECT_DIRECTORY=",
		"GIT_ALTERNATE_OBJECT_DIRECTORIES=", "GIT_INDEX_FILE=", "GIT_QUARANTINE_PATH=",
		"GIT_COMMON_DIR=", "GIT_NAMESPACE=", "GIT_TERMINAL_PROMPT=", "GIT_PREFIX=" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strncmp(kv, names[i], strlen(names[i])))
			return true;
	return false;
}

static volatile sig_atomic_t child_pgrp;

static void forward(int sig)
{
	if (child_pgrp > 0)
		kill(-(pid_t)child_pgrp, sig);
}

int xfer_progress(int mode, int quiet)
{
	return mode > 0 || (mode < 0 && !quiet && isatty(STDERR_FILENO));
}

void xfer_short(char out[13], const mvc_oid *id)
{
	char hex[MVC_OID_HEXSZ + 1];

	mvc_oid_fmt(hex, id);
	memcpy(out, hex, 12);
	out[12] = '\0';
}

void xfer_free(struct xfer *x)
{
	free(x->out);
	x->out = NULL;
	x->out_len = 0;
}

/* Keep the end of standard error for the caller's messages. */
static void keep_tail(struct xfer *x, const char *s, size_t n)
{
	size_t have = strlen(x->err), cap = sizeof(x->err) - 1;

	if (n >= cap) {
		memcpy(x->err, s + n - cap, cap);
		x->err[cap] = '\0';
		return;
	}
	if (have + n > cap) {
		memmove(x->err, x->err + (have + n - cap), cap - n);
		have = cap - n;
	}
	memcpy(x->err + have, s, n);
	x->err[have + n] = '\0';
}

/* One line (or a progress update ending in '\r') of git's stderr. */
static void pass_line(struct xfer *x, const char *s, size_t n)
{
	char *line = malloc(n + 1), *red = NULL;

	if (!line)
		return;
	memcpy(line, s, n);
	line[n] = '\0';
	if (mvc_remote_redact(&red, line) == 0) {
		size_t rn = strlen(red);

		if (write(STDERR_FILENO, red, rn) < 0) {
			/* nowhere left to say it */
		}
		keep_tail(x, red, rn);
	}
	free(red);
	free(line);
}

static int set_env(char ***out)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	if (!(env = calloc(n + 2, sizeof(char *))))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!dropped(environ[i]))
			env[k++] = environ[i];
	env[k++] = "GIT_TERMINAL_PROMPT=0";
	env[k] = NULL;
	*out = env;
	return 0;
}

int xfer_git(struct xfer *x, mvc_repo *repo, const char *const *args)
{
	const char **argv = NULL;
	char **env = NULL, *gitdir = NULL, line[LINE_MAX_];
	size_t n = 0, na = 0, ll = 0, cap = 0;
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, devnull = -1, status, rc = EXIT_ERR;
	struct sigaction sa, old[3];
	static const int sigs[3] = { SIGINT, SIGTERM, SIGHUP };
	bool out_open = true, err_open = true, truncated = false;
	pid_t pid;

	memset(x, 0, sizeof(*x));
	while (args[na])
		na++;
	if (!(argv = calloc(na + sizeof(common) / sizeof(common[0]) + 3, sizeof(char *))))
		return die_msg("out of memory");
	argv[n++] = "git";
	if (repo) {
		if (!(gitdir = malloc(strlen(mvc_repo_path(repo)) + 16))) {
			free(argv);
			return die_msg("out of memory");
		}
		sprintf(gitdir, "--git-dir=%s", mvc_repo_path(repo));
		argv[n++] = gitdir;
	}
	for (size_t i = 0; common[i]; i++)
		argv[n++] = common[i];
	for (size_t i = 0; i < na; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	if (set_env(&env) < 0) {
		die_msg("out of memory");
		goto done;
	}
	if ((devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0 ||
	    pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		die_msg("cannot run git: %s", strerror(errno));
		goto done;
	}
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) < 0) {
		die_msg("cannot run git: %s", strerror(errno));
		goto done;
	}
	if (pid == 0) {
		/* only async-signal-safe calls between fork and exec; a session
		 * of its own: no controlling terminal to prompt on */
		setsid();
		if (dup2(devnull, 0) < 0 || dup2(outp[1], 1) < 0 || dup2(errp[1], 2) < 0)
			_exit(126);
		execvpe("git", (char *const *)argv, env);
		_exit(errno == ENOENT ? 127 : 126);
	}
	child_pgrp = pid;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = forward;
	sigemptyset(&sa.sa_mask);
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &sa, &old[i]);
	close(outp[1]);
	close(errp[1]);
	outp[1] = errp[1] = -1;
	while (out_open || err_open) {
		struct pollfd fds[2] = { { out_open ? outp[0] : -1, POLLIN, 0 },
		                         { err_open ? errp[0] : -1, POLLIN, 0 } };
		char buf[65536];
		ssize_t got;

		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (out_open && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			got = read(outp[0], buf, sizeof(buf));
			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0) {
				out_open = false;
			} else if (x->out_len + (size_t)got > OUT_MAX) {
				truncated = true;
			} else {
				if (x->out_len + (size_t)got + 1 > cap) {
					size_t nc = cap ? cap * 2 : 65536;
					char *nb;

					while (nc < x->out_len + (size_t)got + 1)
						nc *= 2;
					if (!(nb = realloc(x->out, nc))) {
						truncated = true;
						continue;
					}
					x->out = nb;
					cap = nc;
				}
				memcpy(x->out + x->out_len, buf, (size_t)got);
				x->out_len += (size_t)got;
				x->out[x->out_len] = '\0';
			}
		}
		if (err_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			got = read(errp[0], buf, sizeof(buf));
			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0) {
				err_open = false;
				continue;
			}
			for (ssize_t i = 0; i < got; i++) {
				line[ll++] = buf[i];
				if (buf[i] == '\n' || buf[i] == '\r' || ll == sizeof(line)) {
					pass_line(x, line, ll);
					ll = 0;
				}
			}
		}
	}
	if (ll)
		pass_line(x, line, ll);
	while ((rc = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	child_pgrp = 0;
	for (int i = 0; i < 3; i++)
		sigaction(sigs[i], &old[i], NULL);
	if (rc < 0) {
		rc = die_msg("cannot wait for git: %s", strerror(errno));
		goto done;
	}
	rc = EXIT_ERR;
	x->status = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status)
	    ? 128 + WTERMSIG(status) : 1;
	if (x->status == 127) {
		die_msg("cannot run git (is it installed and on PATH?): mvc uses git's client for transfers");
		goto done;
	}
	if (truncated) {
		die_msg("git said more than %zu bytes on its output; gave up reading it", OUT_MAX);
		goto done;
	}
	if (!x->out && !(x->out = calloc(1, 1))) {
		die_msg("out of memory");
		goto done;
	}
	rc = 0;
done:
	for (int i = 0; i < 2; i++) {
		if (outp[i] >= 0)
			close(outp[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	if (devnull >= 0)
		close(devnull);
	free(env);
	free(gitdir);
	free(argv);
	if (rc)
		xfer_free(x);
	return rc;
}
