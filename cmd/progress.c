/* Progress on a terminal: bytes done, rate, time left, on stderr. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void progress_init(struct progress *p, const char *label, int mode, int silent)
{
	p->label = label;
	p->enabled = mode > 0 || (mode < 0 && !silent && isatty(STDERR_FILENO));
	p->forced = mode > 0;
	p->start = p->last = now_s();
	p->drawn = 0;
}

static void draw(struct progress *p, uint64_t done, uint64_t total, int final)
{
	double t = now_s(), el = t - p->start, rate = el > 0 ? (double)done / el : 0;
	char a[32], b[32], r[32], left[32] = "";

	human_size(a, sizeof(a), done);
	human_size(b, sizeof(b), total);
	human_size(r, sizeof(r), (uint64_t)rate);
	if (!final && rate > 0 && total > done) {
		unsigned s = (unsigned)((double)(total - done) / rate + 0.5);
		snprintf(left, sizeof(left), ", %u:%02u left", s / 60, s % 60);
	}
	fprintf(stderr, "\r%s: %3.0f%% (%s of %s), %s/s%s\033[K%s", p->label,
	    total ? 100.0 * (double)done / (double)total : 100.0, a, b, r, left, final ? "\n" : "");
	fflush(stderr);
	p->last = t;
	p->drawn = 1;
}

void progress_cb(uint64_t done, uint64_t total, void *payload)
{
	struct progress *p = payload;

	if (!p->enabled)
		return;
	p->done = done;
	p->total = total;
	/* unless asked for, wait a moment before the first draw (quick
	 * commands stay quiet); then at most ~10 draws a second */
	if (now_s() - p->last < (p->drawn || p->forced ? 0.1 : 0.5) && (p->drawn || !p->forced))
		return;
	draw(p, done, total, 0);
}

void progress_end(struct progress *p)
{
	if (p->enabled && p->drawn)
		draw(p, p->total, p->total, 1);
}
