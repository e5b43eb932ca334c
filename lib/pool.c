/* The ordered parallel map behind commit and checkout. */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#include "internal.h"
#include "pool.h"

typedef struct pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	size_t n, window;
	size_t next;        /* next item to hand out */
	size_t consumed;    /* items passed to `done` */
	unsigned char *ready;
	int error;
	char message[1024];
	mvc_pool_work work;
	void *ctx;
} pool;

typedef struct worker {
	pool *p;
	unsigned id;
} worker;

unsigned mvc__pool_threads(void)
{
	const char *env = getenv("MVC_THREADS");
	long n = env && *env ? atol(env) : sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		n = 1;
	if (n > 64)
		n = 64;
	return (unsigned)n;
}

static void *run_worker(void *arg)
{
	worker *w = arg;
	pool *p = w->p;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		size_t item;
		int error;

		while (!p->error && p->next < p->n && p->next >= p->consumed + p->window)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->error || p->next >= p->n)
			break;
		item = p->next++;
		pthread_mutex_unlock(&p->mu);
		error = p->work(p->ctx, item, w->id);
		pthread_mutex_lock(&p->mu);
		if (error < 0 && !p->error) {
			p->error = error;
			/* the message is per thread: carry it to the caller */
			snprintf(p->message, sizeof(p->message), "%s", mvc_error_last());
		}
		p->ready[item % p->window] = 1;
		pthread_cond_broadcast(&p->cv);
	}
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int mvc__pool_run(size_t n, unsigned nthreads, size_t window, mvc_pool_work work,
                  mvc_pool_done done, void *ctx)
{
	pthread_t *threads = NULL;
	worker *workers = NULL;
	pool p;
	unsigned started = 0;
	int error = 0;

	if (nthreads <= 1 || n <= 1) {
		for (size_t i = 0; i < n; i++)
			if ((error = work(ctx, i, 0)) < 0 || (error = done(ctx, i)) < 0)
				return error;
		return 0;
	}
	if (window < nthreads)
		window = nthreads;
	memset(&p, 0, sizeof(p));
	p.n = n;
	p.window = window;
	p.work = work;
	p.ctx = ctx;
	if (!(p.ready = calloc(window, 1)) || !(threads = calloc(nthreads, sizeof(*threads))) ||
	    !(workers = calloc(nthreads, sizeof(*workers)))) {
		free(p.ready);
		free(threads);
		return mvc__err(MVC_ENOMEM, "out of memory");
	}
	pthread_mutex_init(&p.mu, NULL);
	pthread_cond_init(&p.cv, NULL);
	for (unsigned t = 0; t < nthreads; t++) {
		workers[t].p = &p;
		workers[t].id = t;
		if (pthread_create(&threads[t], NULL, run_worker, &workers[t]) != 0)
			break;
		started++;
	}
	pthread_mutex_lock(&p.mu);
	if (!started) {
		p.error = mvc__err(MVC_ERROR, "cannot start threads");
		snprintf(p.message, sizeof(p.message), "%s", mvc_error_last());
	}
	while (!p.error && p.consumed < n) {
		size_t slot = p.consumed % window;

		if (!p.ready[slot]) {
			pthread_cond_wait(&p.cv, &p.mu);
			continue;
		}
		pthread_mutex_unlock(&p.mu);
		error = done(ctx, p.consumed);
		pthread_mutex_lock(&p.mu);
		p.ready[slot] = 0;
		p.consumed++;
		if (error < 0 && !p.error) {
			p.error = error;
			snprintf(p.message, sizeof(p.message), "%s", mvc_error_last());
		}
		pthread_cond_broadcast(&p.cv);
	}
	pthread_mutex_unlock(&p.mu);
	for (unsigned t = 0; t < started; t++)
		pthread_join(threads[t], NULL);
	error = p.error;
	if (error < 0)
		mvc__err(error, "%s", p.message);
	pthread_mutex_destroy(&p.mu);
	pthread_cond_destroy(&p.cv);
	free(p.ready);
	free(threads);
	free(workers);
	return error;
}
