/* Option parsing driven by one table per command, which also feeds
 * --help and the completion scripts' checks. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"

void opt_usage(FILE *f, const struct cmd_usage *u)
{
	for (size_t i = 0; u->synopsis[i]; i++)
		fprintf(f, "%s mvc %s %s\n", i ? "   or:" : "usage:", u->name, u->synopsis[i]);
	if (u->opts && u->opts[0].lng)
		fputc('\n', f);
	for (const struct opt *o = u->opts; o && o->lng; o++) {
		char left[64];

		snprintf(left, sizeof(left), "%c%c%s--%s%s%s", o->shrt ? '-' : ' ',
		    o->shrt ? o->shrt : ' ', o->shrt ? ", " : "  ", o->lng, o->arg ? " " : "",
		    o->arg ? o->arg : "");
		fprintf(f, "    %-28s %s\n", left, o->help);
	}
	fprintf(f, "    %-28s %s\n", "-h, --help", "show this help");
}

int usage_error(const struct cmd_usage *u, const char *fmt, ...)
{
	va_list ap;

	fputs("mvc: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	opt_usage(stderr, u);
	exit(EXIT_USAGE);
}

static void set(const struct cmd_usage *u, const struct opt *o, const char *val, int neg)
{
	switch (o->type) {
	case OPT_FLAG:
		*(int *)o->dest = !neg;
		break;
	case OPT_STRING:
		*(const char **)o->dest = val;
		break;
	case OPT_LIST: {
		struct opt_list *l = o->dest;
		const char **n = realloc(l->items, (l->count + 1) * sizeof(char *));

		if (!n)
			usage_error(u, "out of memory");
		l->items = n;
		l->items[l->count++] = val;
		break;
	}
	case OPT_UINT: {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(val, &end, 10);
		if (errno || end == val || *end || val[0] == '-')
			usage_error(u, "option '--%s' needs a non-negative integer, not '%s'", o->lng, val);
		*(unsigned long *)o->dest = v;
		break;
	}
	}
}

int opt_dashdash = -1;

void opt_parse(const struct cmd_usage *u, int *argc, char **argv)
{
	int n = 0, i;

	opt_dashdash = -1;
	for (i = 1; i < *argc; i++) {
		char *a = argv[i];
		const struct opt *o = NULL;

		if (!strcmp(a, "--")) {
			opt_dashdash = n;
			i++;
			break;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			opt_usage(stdout, u);
			exit(EXIT_OK);
		}
		if (a[0] == '-' && a[1] == '-') {
			char *name = a + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			int neg = 0;

			for (o = u->opts; o && o->lng; o++)
				if (strlen(o->lng) == len && !strncmp(o->lng, name, len))
					break;
			if ((!o || !o->lng) && len > 3 && !strncmp(name, "no-", 3)) {
				for (o = u->opts; o && o->lng; o++)
					if (o->type == OPT_FLAG && strlen(o->lng) == len - 3 &&
					    !strncmp(o->lng, name + 3, len - 3))
						break;
				neg = 1;
			}
			if (!o || !o->lng)
				usage_error(u, "unknown option '--%.*s'", (int)len, name);
			if (o->type == OPT_FLAG) {
				if (eq)
					usage_error(u, "option '--%s' takes no value", o->lng);
				set(u, o, NULL, neg);
			} else if (eq) {
				set(u, o, eq + 1, 0);
			} else if (i + 1 < *argc) {
				set(u, o, argv[++i], 0);
			} else {
				usage_error(u, "option '--%s' needs a value", o->lng);
			}
			continue;
		}
		if (a[0] == '-' && a[1]) {
			/* bundled short options: -qf, -n5, -m msg */
			for (char *s = a + 1; *s; s++) {
				for (o = u->opts; o && o->lng; o++)
					if (o->shrt == *s)
						break;
				if (!o || !o->lng)
					usage_error(u, "unknown option '-%c'", *s);
				if (o->type == OPT_FLAG) {
					set(u, o, NULL, 0);
					continue;
				}
				if (s[1])
					set(u, o, s + 1, 0);
				else if (i + 1 < *argc)
					set(u, o, argv[++i], 0);
				else
					usage_error(u, "option '-%c' needs a value", *s);
				break;
			}
			continue;
		}
		argv[n++] = a;
	}
	for (; i < *argc; i++)
		argv[n++] = argv[i];
	*argc = n;
}

int fail(int code)
{
	const char *msg = mvc_error_last();

	fprintf(stderr, "mvc: %s\n", *msg ? msg : "unknown error");
	switch (code) {
	case MVC_ECONFLICT:
	case MVC_EUNCHANGED:
	case MVC_EDIRTY:
	case MVC_EREFUSED:
		return EXIT_NO;
	default:
		return EXIT_ERR;
	}
}

int die_msg(const char *fmt, ...)
{
	va_list ap;

	fputs("mvc: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_ERR;
}

int open_repo(mvc_repo **out)
{
	int error = mvc_repo_open(out, ".");

	return error < 0 ? fail(error) : 0;
}

const char *human_size(char *buf, size_t n, uint64_t bytes)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)bytes;
	int u = 0;

	if (bytes < 1024) {
		snprintf(buf, n, "%llu B", (unsigned long long)bytes);
		return buf;
	}
	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	snprintf(buf, n, "%.1f %s", v, units[u]);
	return buf;
}

int json_print(json_t *v)
{
	int rc = v ? json_dumpf(v, stdout, JSON_INDENT(2)) : -1;

	json_decref(v);
	if (rc < 0)
		return die_msg("cannot write JSON output");
	putchar('\n');
	return fflush(stdout) == 0 ? EXIT_OK : die_msg("cannot write output");
}

void fmt_time(char *buf, size_t n, int64_t t, int tz)
{
	time_t local = (time_t)(t + (int64_t)tz * 60);
	struct tm tm;
	char base[32];

	gmtime_r(&local, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, n, "%s%c%02d:%02d", base, tz < 0 ? '-' : '+', abs(tz) / 60, abs(tz) % 60);
}

void fmt_shape(char *buf, size_t n, const mvc_tensor *t)
{
	size_t o = 0;

	o += (size_t)snprintf(buf, n, "[");
	for (unsigned i = 0; i < t->ndim && o < n; i++)
		o += (size_t)snprintf(buf + o, n - o, "%s%llu", i ? ", " : "",
		    (unsigned long long)t->shape[i]);
	if (o < n)
		snprintf(buf + o, n - o, "]");
}

json_t *json_shape(const mvc_tensor *t)
{
	json_t *a = json_array();

	for (unsigned i = 0; a && i < t->ndim; i++)
		json_array_append_new(a, json_integer((json_int_t)t->shape[i]));
	return a;
}
