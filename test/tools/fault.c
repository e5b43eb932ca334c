/*
 * fault.so: a full disk on demand, for the fault tests.  Loaded with
 * LD_PRELOAD, it lets a process write MVC_FAULT_ENOSPC_AFTER bytes to
 * regular files, then fails every further write to a regular file with
 * ENOSPC, as a full file system would (a write that crosses the limit is
 * cut short first, as write(2) does).  Pipes, terminals and sockets are
 * left alone, so messages still reach the test.  Without the variable
 * it does nothing.
 *
 *   LD_PRELOAD=build/tools/fault.so MVC_FAULT_ENOSPC_AFTER=65536 mvc commit ...
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static long long budget = -1;   /* bytes left; -1: no limit */
static int ready;

static void init(void)
{
	const char *v;

	if (ready)
		return;
	v = getenv("MVC_FAULT_ENOSPC_AFTER");
	budget = v && *v ? atoll(v) : -1;
	ready = 1;
}

/* How many of `len` bytes may go to `fd`: len, fewer, or 0 (ENOSPC). */
static size_t allow(int fd, size_t len)
{
	struct stat st;
	size_t n = len;

	pthread_mutex_lock(&mu);
	init();
	if (budget >= 0 && len && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		if ((unsigned long long)budget < len)
			n = (size_t)budget;
		budget -= (long long)n;
	}
	pthread_mutex_unlock(&mu);
	return n;
}

typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
typedef ssize_t (*writev_fn)(int, const struct iovec *, int);

static void *next(const char *name)
{
	void *f = dlsym(RTLD_NEXT, name);

	if (!f)
		abort();
	return f;
}

ssize_t write(int fd, const void *buf, size_t len)
{
	static write_fn real;
	size_t n = allow(fd, len);

	if (!real)
		real = (write_fn)next("write");
	if (len && !n) {
		errno = ENOSPC;
		return -1;
	}
	return real(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off)
{
	static pwrite_fn real;
	size_t n = allow(fd, len);

	if (!real)
		real = (pwrite_fn)next("pwrite");
	if (len && !n) {
		errno = ENOSPC;
		return -1;
	}
	return real(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t len, off_t off)
{
	return pwrite(fd, buf, len, off);
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	static writev_fn real;
	static write_fn real_write;
	size_t len = 0, n, done = 0;

	if (!real) {
		real = (writev_fn)next("writev");
		real_write = (write_fn)next("write");
	}
	for (int i = 0; i < cnt; i++)
		len += iov[i].iov_len;
	n = allow(fd, len);
	if (n == len)
		return real(fd, iov, cnt);
	if (!n) {
		errno = ENOSPC;
		return -1;
	}
	/* cut short: the first n bytes only */
	for (int i = 0; i < cnt && done < n; i++) {
		size_t k = iov[i].iov_len < n - done ? iov[i].iov_len : n - done;
		ssize_t w = real_write(fd, iov[i].iov_base, k);

		if (w < 0)
			return done ? (ssize_t)done : -1;
		done += (size_t)w;
		if ((size_t)w < k)
			break;
	}
	return (ssize_t)done;
}
