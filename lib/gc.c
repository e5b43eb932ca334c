/*
 * mvc gc: git's gc, run with the settings chunk objects need, plus the
 * removal of what mvc itself leaves behind when it is killed.
 *
 * Packed objects are copied into the new pack as they are (git reuses
 * them), so chunk blobs get no zlib pass and no delta search
 * (pack.window=0, pack.depth=0).  What no ref reaches goes once it is
 * older than the expiry (gc.pruneExpire, 2 weeks by default): a commit
 * writes its objects before it moves its branch, so they are young and
 * unreachable for a while, and the expiry keeps them, in a cruft pack
 * (git gc --cruft, git 2.37 or later) rather than as loose files.
 * Reflog entries of unreachable commits expire with the same date, so
 * that "--prune=now" means now.
 *
 * Measured on a 948 MiB store of 3 versions of a 1 GiB float32 model
 * (2 cores, page cache warm): 5.2 to 7.6 s, the store 15 KB smaller (its
 * loose commits packed); pack.compression=0 instead of the store's 1 made
 * it 150 bytes larger and no faster.  With 250 MiB of young unreachable
 * chunks, 6.3 s with --cruft, 15.9 s and 322 loose files without.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <git2/sys/repository.h>
#include "odb.h"
#include "upkeep.h"

extern char **environ;

#define OUT_MAX ((size_t)1 << 20)
#define ERR_MAX 4096

/* git's variables that would point it at another repository */
static bool repo_var(const char *e)
{
	static const char *const names[] = {
		"GIT_DIR=", "GIT_WORK_TREE=", "GIT_OBJECT_DIRECTORY=", "GIT_INDEX_FILE=",
		"GIT_ALTERNATE_OBJECT_DIRECTORIES=", "GIT_COMMON_DIR=", "GIT_QUARANTINE_PATH=",
		"GIT_NAMESPACE=", "GIT_CEILING_DIRECTORIES=", "GIT_PREFIX=", NULL
	};

	for (size_t i = 0; names[i]; i++)
		if (!strncmp(e, names[i], strlen(names[i])))
			return true;
	return false;
}

/* Keep at most `max` bytes: the last ones (stderr) or the first (stdout). */
static int take(mvc_buf *b, const char *data, size_t n, size_t max, bool tail)
{
	if (!tail) {
		if (b->len + n > max)
			n = b->len < max ? max - b->len : 0;
		return n ? mvc_buf_put(b, data, n) : 0;
	}
	if (n >= max) {
		b->len = 0;
		return mvc_buf_put(b, data + n - max, max);
	}
	if (b->len + n > max) {
		size_t drop = b->len + n - max;

		memmove(b->ptr, b->ptr + drop, b->len - drop);
		b->len -= drop;
	}
	return mvc_buf_put(b, data, n);
}

int mvc__run_git(mvc_buf *out, mvc_repo *repo, const char *const *args, const char *what)
{
	posix_spawn_file_actions_t fa;
	mvc_buf gitdir = MVC_BUF_INIT, err = MVC_BUF_INIT, sink = MVC_BUF_INIT;
	const char **argv = NULL;
	char **envp = NULL;
	size_t nargs = 0, nenv = 0;
	int opipe[2] = { -1, -1 }, epipe[2] = { -1, -1 }, fa_ok = 0, status, error = 0;
	pid_t pid = -1;

	while (args[nargs])
		nargs++;
	for (char **e = environ; e && *e; e++)
		nenv++;
	if (!(argv = mvc__calloc(nargs + 3, sizeof(*argv))) ||
	    !(envp = mvc__calloc(nenv + 1, sizeof(*envp))) ||
	    (error = mvc_buf_printf(&gitdir, "--git-dir=%s", mvc_repo_path(repo))) < 0) {
		error = error ? error : MVC_ENOMEM;
		goto done;
	}
	argv[0] = "git";
	argv[1] = gitdir.ptr;
	memcpy(argv + 2, args, nargs * sizeof(*argv));
	nenv = 0;
	for (char **e = environ; e && *e; e++)
		if (!repo_var(*e))
			envp[nenv++] = *e;
	if (pipe2(opipe, O_CLOEXEC) < 0 || pipe2(epipe, O_CLOEXEC) < 0) {
		error = mvc__err_sys("cannot run git");
		goto done;
	}
	if (posix_spawn_file_actions_init(&fa) != 0) {
		error = mvc__err(MVC_ENOMEM, "out of memory");
		goto done;
	}
	fa_ok = 1;
	if (posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0) ||
	    posix_spawn_file_actions_adddup2(&fa, opipe[1], 1) ||
	    posix_spawn_file_actions_adddup2(&fa, epipe[1], 2) ||
	    (errno = posix_spawnp(&pid, "git", &fa, NULL, (char *const *)argv, envp)) != 0) {
		pid = -1;
		error = errno == ENOENT ? mvc__err(MVC_ENOTFOUND, "%s needs git, which is not on PATH",
		                              what)
		                        : mvc__err_sys("cannot run git for %s", what);
		goto done;
	}
	close(opipe[1]);
	close(epipe[1]);
	opipe[1] = epipe[1] = -1;
	/* both pipes until both close: a full one would stall git */
	for (int open_fds = 2; open_fds > 0;) {
		struct pollfd pf[2] = { { opipe[0], POLLIN, 0 }, { epipe[0], POLLIN, 0 } };
		char buf[65536];

		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			error = mvc__err_sys("cannot read git's output");
			break;
		}
		for (int k = 0; k < 2; k++) {
			ssize_t n;
			int *fd = k ? &epipe[0] : &opipe[0];

			if (*fd < 0 || !(pf[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(*fd, buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				close(*fd);
				*fd = -1;
				pf[k].fd = -1;
				open_fds--;
				continue;
			}
			if (!error)
				error = k ? take(&err, buf, (size_t)n, ERR_MAX, true)
				          : take(out ? out : &sink, buf, (size_t)n, out ? OUT_MAX : 0, false);
		}
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			error = mvc__err_sys("cannot wait for git");
			goto done;
		}
	}
	pid = -1;
	if (error)
		goto done;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char *last = err.ptr;

		/* git's last message line says what failed */
		while (err.len && (err.ptr[err.len - 1] == '\n' || err.ptr[err.len - 1] == '\r'))
			err.ptr[--err.len] = '\0';
		if (err.ptr && strrchr(err.ptr, '\n'))
			last = strrchr(err.ptr, '\n') + 1;
		if (WIFEXITED(status))
			error = mvc__err(MVC_ERROR, "%s failed (git exited with %d)%s%s", what,
			    WEXITSTATUS(status), last && *last ? ": " : "", last ? last : "");
		else
			error = mvc__err(MVC_ERROR, "%s failed (git was killed by signal %d)", what,
			    WTERMSIG(status));
	}
done:
	if (pid > 0)
		waitpid(pid, &status, 0);
	if (fa_ok)
		posix_spawn_file_actions_destroy(&fa);
	for (int k = 0; k < 2; k++) {
		if (opipe[k] >= 0)
			close(opipe[k]);
		if (epipe[k] >= 0)
			close(epipe[k]);
	}
	free(argv);
	free(envp);
	mvc_buf_free(&gitdir);
	mvc_buf_free(&err);
	mvc_buf_free(&sink);
	return error;
}

void mvc__odb_reset(mvc_repo *repo)
{
	git_repository *git = mvc__repo_git(repo);
	mvc_buf dir = MVC_BUF_INIT;
	git_odb *old = NULL, *odb = NULL;

	if (getenv("GIT_OBJECT_DIRECTORY") || getenv("GIT_QUARANTINE_PATH"))
		return;
	if (git_repository_odb(&old, git) == 0 &&
	    mvc_buf_printf(&dir, "%s/objects", mvc_repo_path(repo)) == 0 &&
	    git_odb_open(&odb, dir.ptr) == 0 && git_repository_set_odb(git, odb) == 0 &&
	    mvc__odb_guard(git, dir.ptr, NULL) < 0)
		git_repository_set_odb(git, old);  /* never unguarded (lib/odb.c) */
	git_error_clear();
	mvc_error_clear();
	git_odb_free(odb);
	git_odb_free(old);
	mvc_buf_free(&dir);
}

int mvc__maintenance_lock(int *fd, mvc_repo *repo)
{
	mvc_buf p = MVC_BUF_INIT;
	int error;

	*fd = -1;
	if ((error = mvc_buf_printf(&p, "%s/mvc-gc.lock", mvc_repo_path(repo))) < 0)
		return error;
	if ((*fd = open(p.ptr, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0) {
		error = mvc__err_sys("cannot open '%s'", p.ptr);
	} else if (flock(*fd, LOCK_EX | LOCK_NB) < 0) {
		error = errno == EWOULDBLOCK
		    ? mvc__err(MVC_ECONFLICT, "another mvc gc or prune is running on this store")
		    : mvc__err_sys("cannot lock '%s'", p.ptr);
		close(*fd);
		*fd = -1;
	}
	mvc_buf_free(&p);
	return error;
}

void mvc__maintenance_unlock(int fd)
{
	if (fd >= 0)
		close(fd);  /* releases the flock */
}

/* ---- the store's files ---- */

static bool is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[n] == '\0';
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

/*
 * Walk the temporary files mvc leaves when killed: objects/pack/tmp_mvc_*
 * (packs being written) and mvc-state.tmp.* (the state file being
 * replaced).  Those last modified before `cutoff` are removed when
 * `remove` is set; every one is counted in *n and *bytes.
 */
static int temp_files(uint64_t *n, uint64_t *bytes, mvc_repo *repo, bool remove,
                      int64_t cutoff)
{
	const char *const dirs[2] = { "objects/pack", "" };
	const char *const prefix[2] = { "tmp_mvc_", "mvc-state.tmp." };
	int error = 0;

	*n = *bytes = 0;
	for (int k = 0; k < 2 && !error; k++) {
		mvc_buf dir = MVC_BUF_INIT, path = MVC_BUF_INIT;
		struct dirent *de;
		DIR *d;

		if ((error = mvc_buf_printf(&dir, "%s%s%s", mvc_repo_path(repo), *dirs[k] ? "/" : "",
		         dirs[k])) < 0)
			break;
		if ((d = opendir(dir.ptr))) {
			while (!error && (de = readdir(d))) {
				struct stat st;

				if (strncmp(de->d_name, prefix[k], strlen(prefix[k])))
					continue;
				path.len = 0;
				if ((error = mvc_buf_printf(&path, "%s/%s", dir.ptr, de->d_name)) < 0)
					break;
				if (lstat(path.ptr, &st) < 0 || !S_ISREG(st.st_mode))
					continue;
				if (remove) {
					if ((int64_t)st.st_mtime >= cutoff || unlink(path.ptr) < 0)
						continue;
				}
				(*n)++;
				*bytes += (uint64_t)st.st_size;
			}
			closedir(d);
		}
		mvc_buf_free(&dir);
		mvc_buf_free(&path);
	}
	return error;
}

int mvc_store_stats_get(mvc_store_stats *out, mvc_repo *repo)
{
	mvc_buf dir = MVC_BUF_INIT, path = MVC_BUF_INIT;
	struct dirent *de;
	DIR *d;
	int error;

	memset(out, 0, sizeof(*out));
	if ((error = mvc_buf_printf(&dir, "%s/objects/pack", mvc_repo_path(repo))) < 0)
		goto done;
	if ((d = opendir(dir.ptr))) {
		while (!error && (de = readdir(d))) {
			struct stat st;
			bool pack = ends_with(de->d_name, ".pack"), idx = ends_with(de->d_name, ".idx");

			if (strncmp(de->d_name, "pack-", 5) || (!pack && !idx && !ends_with(de->d_name,
			        ".promisor")))
				continue;
			path.len = 0;
			if ((error = mvc_buf_printf(&path, "%s/%s", dir.ptr, de->d_name)) < 0 ||
			    stat(path.ptr, &st) < 0)
				continue;
			out->packs += pack;
			out->promisor_packs += !pack && !idx;
			out->pack_bytes += pack || idx ? (uint64_t)st.st_size : 0;
		}
		closedir(d);
	}
	/* loose objects: objects/xx/<38 hex digits> */
	dir.len = 0;
	if (error || (error = mvc_buf_printf(&dir, "%s/objects", mvc_repo_path(repo))) < 0)
		goto done;
	if ((d = opendir(dir.ptr))) {
		while (!error && (de = readdir(d))) {
			struct dirent *le;
			DIR *ld;

			if (strlen(de->d_name) != 2 || !is_hex(de->d_name, 2))
				continue;
			path.len = 0;
			if ((error = mvc_buf_printf(&path, "%s/%s", dir.ptr, de->d_name)) < 0 ||
			    !(ld = opendir(path.ptr)))
				continue;
			while ((le = readdir(ld))) {
				struct stat st;

				if (strlen(le->d_name) != GIT_OID_HEXSZ - 2 ||
				    !is_hex(le->d_name, GIT_OID_HEXSZ - 2) ||
				    fstatat(dirfd(ld), le->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
					continue;
				out->loose++;
				out->loose_bytes += (uint64_t)st.st_size;
			}
			closedir(ld);
		}
		closedir(d);
	}
	if (!error)
		error = temp_files(&out->temp, &out->temp_bytes, repo, false, 0);
done:
	mvc_buf_free(&dir);
	mvc_buf_free(&path);
	return error;
}

/* ---- gc ---- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The expiry to use, as git takes it, and as a time. */
static int expiry(char *out, size_t n, int64_t *cutoff, mvc_repo *repo, const char *opt)
{
	git_config *cfg = NULL;
	git_buf v = { 0 };
	mvc_buf o = MVC_BUF_INIT, arg = MVC_BUF_INIT;
	const char *args[3];
	int error = 0;

	if (opt) {
		snprintf(out, n, "%s", opt);
	} else {
		snprintf(out, n, "2.weeks.ago");
		if (git_repository_config_snapshot(&cfg, mvc__repo_git(repo)) == 0 &&
		    git_config_get_string_buf(&v, cfg, "gc.pruneExpire") == 0)
			snprintf(out, n, "%s", v.ptr);
		git_error_clear();
	}
	if (!*out || out[0] == '-' || strlen(out) >= n - 1) {
		error = mvc__err(MVC_EINVALID, "'%s' is not an expiry date", out);
		goto done;
	}
	if (!strcmp(out, "now")) {
		*cutoff = INT64_MAX; /* everything, this very second included */
		goto done;
	}
	if (!strcmp(out, "never")) {
		*cutoff = INT64_MIN;
		goto done;
	}
	/* git's own date parser, through rev-parse: "--max-age=<seconds>" */
	if ((error = mvc_buf_printf(&arg, "--since=%s", out)) < 0)
		goto done;
	args[0] = "rev-parse";
	args[1] = arg.ptr;
	args[2] = NULL;
	if ((error = mvc__run_git(&o, repo, args, "git rev-parse")) < 0)
		goto done;
	if (!o.ptr || strncmp(o.ptr, "--max-age=", 10)) {
		error = mvc__err(MVC_EINVALID, "'%s' is not an expiry date", out);
		goto done;
	}
	*cutoff = strtoll(o.ptr + 10, NULL, 10);
done:
	git_buf_dispose(&v);
	git_config_free(cfg);
	mvc_buf_free(&o);
	mvc_buf_free(&arg);
	return error;
}

static bool partial_clone(mvc_repo *repo)
{
	git_config *cfg = NULL;
	git_buf v = { 0 };
	bool yes = false;

	if (git_repository_config_snapshot(&cfg, mvc__repo_git(repo)) == 0 &&
	    git_config_get_string_buf(&v, cfg, "extensions.partialClone") == 0)
		yes = true;
	git_error_clear();
	git_buf_dispose(&v);
	git_config_free(cfg);
	return yes;
}

int mvc_gc(mvc_gc_report *out, mvc_repo *repo, const mvc_gc_options *opts)
{
	mvc_gc_report local;
	mvc_buf prune = MVC_BUF_INIT, reflog = MVC_BUF_INIT;
	const char *args[16];
	size_t n = 0;
	double start = now_s();
	int64_t cutoff = 0;
	int lock = -1, error;

	if (!out)
		out = &local;
	memset(out, 0, sizeof(*out));
	if (!opts || opts->version != MVC_GC_OPTIONS_VERSION)
		return mvc__err(MVC_EINVALID, "bad gc options version");
	if ((error = mvc__maintenance_lock(&lock, repo)) < 0)
		return error;
	if ((error = mvc_store_stats_get(&out->before, repo)) < 0 ||
	    (error = expiry(out->expire, sizeof(out->expire), &cutoff, repo, opts->prune)) < 0 ||
	    (error = mvc_buf_printf(&prune, "--prune=%s", out->expire)) < 0 ||
	    (error = mvc_buf_printf(&reflog, "gc.reflogExpireUnreachable=%s", out->expire)) < 0)
		goto done;
	/*
	 * Chunk blobs are zstd output: reused as they are, never searched for
	 * deltas.  Objects that git does compress (commits written loose by
	 * libgit2, trees) keep the store's pack.compression.
	 */
	args[n++] = "-c";
	args[n++] = "pack.window=0";
	args[n++] = "-c";
	args[n++] = "pack.depth=0";
	args[n++] = "-c";
	args[n++] = reflog.ptr;
	if (partial_clone(repo)) {
		/* a bitmap needs every object reachable: a pruned store lacks some */
		args[n++] = "-c";
		args[n++] = "repack.writeBitmaps=false";
	}
	args[n++] = "gc";
	args[n++] = "--quiet";
	/* young unreachable objects (a commit still running) go into a cruft
	 * pack with their times, copied as they are; without it git writes
	 * each as a zlib-compressed loose file (measured: 2.5x slower) */
	args[n++] = "--cruft";
	args[n++] = prune.ptr;
	args[n] = NULL;
	/* first: git's prune would take the oldest of them too, uncounted */
	if ((error = temp_files(&out->temp_removed, &out->temp_bytes_removed, repo, true,
	         cutoff)) < 0)
		goto done;
	if ((error = mvc__run_git(NULL, repo, args, "git gc")) < 0) {
		/* git's own lock (gc.pid), as after a fetch's automatic gc */
		if (strstr(mvc_error_last(), "gc is already running"))
			error = mvc__err(MVC_ECONFLICT,
			    "another git gc is running on this store (gc.pid); nothing was done");
		goto done;
	}
	if ((error = mvc_store_stats_get(&out->after, repo)) < 0)
		goto done;
	mvc__odb_reset(repo);
	out->seconds = now_s() - start;
done:
	mvc__maintenance_unlock(lock);
	mvc_buf_free(&prune);
	mvc_buf_free(&reflog);
	return error;
}
