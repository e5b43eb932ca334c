/*
 * The store's hooks, run the way git runs its own: .mvc/hooks/<name>,
 * only when executable, from the working directory, output on stderr
 * (stdout may be carrying --json), stdin from /dev/null.  The library
 * only offers the point where a commit may still be refused
 * (mvc_commit_options.before_ref_update); running programs is the
 * command's business.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cli.h"

extern char **environ;

/* Variables that would point the hook's git or mvc elsewhere. */
static bool replaced(const char *kv)
{
	static const char *const names[] = { "MVC_COMMIT=", "MVC_DIR=", "MVC_WORK_TREE=", "GIT_DIR=",
		"GIT_WORK_TREE=", "GIT_OBJECT_DIRECTORY=", "GIT_ALTERNATE_OBJECT_DIRECTORIES=",
		"GIT_INDEX_FILE=", "GIT_QUARANTINE_PATH=" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strncmp(kv, names[i], strlen(names[i])))
			return true;
	return false;
}

static char *joined(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = malloc(la + lb + 1);

	if (s) {
		memcpy(s, a, la);
		memcpy(s + la, b, lb + 1);
	}
	return s;
}

int hook_run(mvc_repo *repo, const char *name, const mvc_oid *id)
{
	char *path = NULL, **envp = NULL, *added[4] = { NULL }, hex[MVC_OID_HEXSZ + 1];
	size_t n = 0, k = 0, na = 0;
	struct stat st;
	int devnull = -1, status, rc = -1;
	pid_t pid;

	if (!(path = malloc(strlen(mvc_repo_path(repo)) + strlen(name) + 8))) {
		die_msg("out of memory");
		return -1;
	}
	sprintf(path, "%s/hooks/%s", mvc_repo_path(repo), name);
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
		free(path);
		return 0;
	}
	if (access(path, X_OK) < 0) {
		fprintf(stderr, "hint: the '%s' hook was ignored because it is not executable\n", path);
		free(path);
		return 0;
	}
	if (id) {
		mvc_oid_fmt(hex, id);
		added[na++] = joined("MVC_COMMIT=", hex);
	}
	added[na++] = joined("MVC_DIR=", mvc_repo_path(repo));
	added[na++] = joined("MVC_WORK_TREE=", mvc_repo_workdir(repo));
	added[na++] = joined("GIT_DIR=", mvc_repo_path(repo));
	while (environ[n])
		n++;
	if (!(envp = calloc(n + na + 1, sizeof(char *)))) {
		die_msg("out of memory");
		goto done;
	}
	for (size_t i = 0; i < n; i++)
		if (!replaced(environ[i]))
			envp[k++] = environ[i];
	for (size_t i = 0; i < na; i++) {
		if (!added[i]) {
			die_msg("out of memory");
			goto done;
		}
		envp[k++] = added[i];
	}
	if ((devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
		die_msg("cannot open /dev/null: %s", strerror(errno));
		goto done;
	}
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) < 0) {
		die_msg("cannot run the %s hook: %s", name, strerror(errno));
		goto done;
	}
	if (pid == 0) {
		/* only async-signal-safe calls between fork and exec */
		if (chdir(mvc_repo_workdir(repo)) < 0 || dup2(devnull, 0) < 0 || dup2(2, 1) < 0)
			_exit(126);
		execve(path, (char *const[]){ path, NULL }, envp);
		_exit(errno == ENOENT ? 127 : 126);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			die_msg("cannot wait for the %s hook: %s", name, strerror(errno));
			goto done;
		}
	rc = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 1;
done:
	if (devnull >= 0)
		close(devnull);
	for (size_t i = 0; i < na; i++)
		free(added[i]);
	free(envp);
	free(path);
	return rc;
}

int hook_pre_commit(const mvc_oid *candidate, void *payload)
{
	struct hook_ctx *h = payload;

	h->candidate = *candidate;
	h->status = hook_run(h->repo, "pre-commit", candidate);
	return h->status == 0 ? 0 : MVC_EREFUSED;
}
