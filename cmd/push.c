/* mvc push: send versions, channels, tags and scores to a remote. */
#include <stdlib.h>
#include <string.h>
#include "xfer.h"

static int quiet, dry_run, progress = -1;
static const char *const syn[] = {
	"[--dry-run] [--quiet] [<remote> [<refspec>...]]", NULL };
static const struct opt opts[] = {
	{ "dry-run", 'n', OPT_FLAG, &dry_run, NULL, "say what would be sent; send nothing" },
	{ "quiet", 'q', OPT_FLAG, &quiet, NULL, "print nothing on success" },
	{ "progress", 0, OPT_FLAG, &progress, NULL, "show progress on stderr (default: on a terminal; --no-progress: never)" },
	{ NULL }
};
const struct cmd_usage usage_push = { "push", syn, opts, "remote" };

/* One "<flag>\t<src>:<dst>\t<summary>" line of git push --porcelain. */
struct status {
	char flag;
	char *src, *dst, *summary;
};

static size_t parse(struct status **out, char *text)
{
	struct status *v = NULL;
	size_t n = 0;

	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
		char *t1 = strchr(line, '\t'), *t2, *colon;
		struct status *nv;

		if (!t1 || t1 != line + 1 || !(t2 = strchr(t1 + 1, '\t')))
			continue;   /* "To <url>", "Done" */
		*t2 = '\0';
		if (!(colon = strchr(t1 + 1, ':')) || !(nv = realloc(v, (n + 1) * sizeof(*v))))
			continue;
		v = nv;
		*colon = '\0';
		v[n].flag = line[0];
		v[n].src = t1 + 1;
		v[n].dst = colon + 1;
		v[n].summary = t2 + 1;
		n++;
	}
	*out = v;
	return n;
}

static const char *word(char flag)
{
	switch (flag) {
	case '*': return "new";
	case ' ': return "updated";
	case '+': return "forced";
	case '-': return "deleted";
	case '=': return "up to date";
	case '!': return "REFUSED";
	default: return "?";
	}
}

static int push(mvc_repo *repo, const char *remote, char **specs, size_t nspecs, int atomic,
                int *retry_plain)
{
	mvc_remote *r = NULL;
	struct status *st = NULL;
	const char **args = NULL;
	char *url = NULL, cfg_mirror[160];
	size_t n = 0, nst, refused = 0;
	struct xfer x;
	int error, rc;

	*retry_plain = 0;
	if ((error = mvc_remote_lookup(&r, repo, remote)) < 0)
		return fail(error);
	if ((error = mvc_remote_redact(&url, r->url)) < 0) {
		rc = fail(error);
		goto done;
	}
	if (!(args = calloc(nspecs + 16, sizeof(char *)))) {
		rc = die_msg("out of memory");
		goto done;
	}
	/* git's hints speak of git pull; mvc prints its own */
	args[n++] = "-c";
	args[n++] = "advice.pushUpdateRejected=false";
	/* a store made by git clone --mirror would push every ref */
	snprintf(cfg_mirror, sizeof(cfg_mirror), "remote.%s.mirror=false", remote);
	args[n++] = "-c";
	args[n++] = cfg_mirror;
	args[n++] = "push";
	/* (not -q: it silences the status lines of --porcelain too) */
	args[n++] = "--porcelain";
	if (atomic)
		args[n++] = "--atomic";
	if (dry_run)
		args[n++] = "--dry-run";
	if (xfer_progress(progress, quiet))
		args[n++] = "--progress";
	args[n++] = "--";
	args[n++] = remote;
	for (size_t i = 0; i < nspecs; i++)
		args[n++] = specs[i];
	args[n] = NULL;
	if ((rc = xfer_git(&x, repo, args)) != 0)
		goto done;
	if (x.status != 0 && atomic && strstr(x.err, "does not support --atomic")) {
		*retry_plain = 1;
		xfer_free(&x);
		goto done;
	}
	nst = parse(&st, x.out);
	for (size_t i = 0; i < nst; i++)
		refused += st[i].flag == '!';
	if (x.status == 0 || refused) {
		if (!quiet || refused)
			printf("%s %s (%s):\n", dry_run ? "would push to" : refused ? "push to" : "pushed to",
			    remote, url);
		for (size_t i = 0; i < nst; i++) {
			if (quiet && st[i].flag != '!')
				continue;
			if (!strcmp(st[i].src, st[i].dst))
				printf("  %-10s %s", word(st[i].flag), st[i].dst);
			else
				printf("  %-10s %s -> %s", word(st[i].flag), st[i].src, st[i].dst);
			if (st[i].flag == ' ' || st[i].flag == '+' || st[i].flag == '!')
				printf("  %s", st[i].summary);
			putchar('\n');
		}
	}
	if (x.status == 0) {
		rc = EXIT_OK;
	} else if (refused) {
		fflush(stdout);
		fprintf(stderr, "mvc: the push to '%s' was refused; nothing changed here%s\n", remote,
		    atomic ? " or there (an atomic push: all or nothing)" : "");
		for (size_t i = 0; i < nst; i++)
			if (st[i].flag == '!' && (strstr(st[i].summary, "fetch first") ||
			                          strstr(st[i].summary, "non-fast-forward"))) {
				fprintf(stderr, "hint: '%s' has versions you do not have: 'mvc fetch %s' (or "
				    "'mvc pull') and combine them first\n", remote, remote);
				break;
			}
		rc = EXIT_NO;
	} else {
		rc = die_msg("push to '%s' failed (git exited with %d)", remote, x.status);
	}
	xfer_free(&x);
done:
	free(st);
	free(args);
	free(url);
	mvc_remote_free(r);
	return rc;
}

int cmd_push(int argc, char **argv)
{
	mvc_repo *repo = NULL;
	const char *remote;
	char **specs = NULL;
	size_t nspecs = 0;
	int rc, error, again = 0;

	opt_parse(&usage_push, &argc, argv);
	remote = argc ? argv[0] : "origin";
	if ((rc = open_repo(&repo)) != 0)
		return rc;
	if ((error = mvc_remote_push_refspecs(&specs, &nspecs, repo, remote,
	         (const char *const *)argv + (argc ? 1 : 0), argc ? (size_t)argc - 1 : 0)) < 0) {
		rc = fail(error);
		goto done;
	}
	if (!nspecs) {
		if (!quiet)
			printf("nothing to push\n");
		goto done;
	}
	rc = push(repo, remote, specs, nspecs, 1, &again);
	/* a server without atomic pushes: ref by ref, as git would */
	if (again)
		rc = push(repo, remote, specs, nspecs, 0, &again);
done:
	mvc_strings_free(specs, nspecs);
	mvc_repo_free(repo);
	return rc;
}
