/* Per-thread error messages and the translation of dependency errors. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>
#include <sodium.h>
#include "internal.h"

static _Thread_local char last_error[1024];

const char *mvc_error_last(void)
{
	return last_error;
}

void mvc_error_clear(void)
{
	last_error[0] = '\0';
}

const char *mvc_version_string(void)
{
	return MVC_VERSION;
}

static void set_message(const char *fmt, va_list ap)
{
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
}

int mvc__err(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_message(fmt, ap);
	va_end(ap);
	return code;
}

static void append(const char *detail)
{
	size_t len = strlen(last_error);

	if (detail && *detail && len < sizeof(last_error) - 3)
		snprintf(last_error + len, sizeof(last_error) - len, ": %s", detail);
}

int mvc__git_code(int giterr)
{
	switch (giterr) {
	case GIT_ENOTFOUND: return MVC_ENOTFOUND;
	case GIT_EEXISTS: return MVC_EEXISTS;
	case GIT_EAMBIGUOUS: return MVC_EINVALID;
	case GIT_EINVALIDSPEC: return MVC_EINVALID;
	case GIT_EMODIFIED:
	case GIT_ELOCKED: return MVC_ECONFLICT;
	case GIT_EUNBORNBRANCH: return MVC_ENOTFOUND;
	default: return MVC_ERROR;
	}
}

int mvc__err_git(int code, const char *fmt, ...)
{
	const git_error *ge = git_error_last();
	char detail[512];
	va_list ap;

	/* Copy first: formatting may not touch libgit2, but be safe. */
	snprintf(detail, sizeof(detail), "%s", ge && ge->message ? ge->message : "");
	va_start(ap, fmt);
	set_message(fmt, ap);
	va_end(ap);
	append(detail);
	return code;
}

int mvc__err_sys(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	set_message(fmt, ap);
	va_end(ap);
	append(strerror(saved));
	errno = saved;
	return saved == ENOMEM ? MVC_ENOMEM : saved == ENOENT ? MVC_ENOTFOUND : MVC_EIO;
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_result;

static void global_init(void)
{
	if (sodium_init() < 0) {
		init_result = -1;
		return;
	}
	if (git_libgit2_init() < 0) {
		init_result = -1;
		return;
	}
	/*
	 * Chunks carry BLAKE2b digests that mvc checks itself, so libgit2's
	 * SHA-1 re-hash of every object read is redundant work.  The pack
	 * window limits keep mapped packs from growing RSS with model size.
	 */
	git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, 0);
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_SIZE, (size_t)8 << 20);
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_MAPPED_LIMIT, (size_t)64 << 20);
	/*
	 * mvc prune makes the store a git partial clone (lib/prune.c):
	 * libgit2 reads such a store like any other, but refuses to open one
	 * through git's environment (a hook) unless told the extension is fine.
	 */
	{
		const char *ext[] = { "partialclone" };

		git_libgit2_opts(GIT_OPT_SET_EXTENSIONS, ext, (size_t)1);
	}
	init_result = 0;
}

int mvc__global_init(void)
{
	pthread_once(&init_once, global_init);
	if (init_result < 0)
		return mvc__err(MVC_ERROR, "cannot initialise libgit2 or libsodium");
	return 0;
}
