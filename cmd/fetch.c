/* mvc fetch: bring a remote's versions, channels, tags and scores here. */
#include <stdlib.h>
#include <string.h>
#include "xfer.h"

static int quiet, progress = -1;
static const char *const syn[] = { "[--quiet] [<remote>]", NULL };
static const struct opt opts[] = {
	{ "quiet", 'q', OPT_FLAG, &quiet, NULL, "print nothing on success" },
	{ "progress", 0, OPT_FLAG, &progress, NULL, "show progress on stderr (default: on a terminal; --no-progress: never)" },
	{ NULL }
};
const struct cmd_usage usage_fetch = { "fetch", syn, opts, "remote" };

/* How a ref that a fetch may change is shown: its kind and short name;
 * NULL for the remote-tracking notes, whose merge is shown instead. */
static const char *kind_of(const char **shortname, const char *ref, const char *remote,
                           char *buf, size_t n)
{
	size_t rl = strlen(remote);

	if (!strncmp(ref, "refs/remotes/", 13) && !strncmp(ref + 13, remote, rl) && ref[13 + rl] == '/') {
		*shortname = ref + 13;
		return "branch";
	}
	if (!strncmp(ref, "refs/mvc/remotes/", 17) && !strncmp(ref + 17, remote, rl) &&
	    ref[17 + rl] == '/') {
		const char *rest = ref + 18 + rl;

		if (!strncmp(rest, "channels/", 9)) {
			snprintf(buf, n, "%s/%s", remote, rest + 9);
			*shortname = buf;
			return "channel";
		}
		return NULL;
	}
	if (!strncmp(ref, "refs/tags/", 10)) {
		*shortname = ref + 10;
		return "tag";
	}
	if (!strncmp(ref, "refs/notes/", 11)) {
		*shortname = ref + 11;
		return "notes";
	}
	*shortname = ref;
	return "ref";
}

static const mvc_notes_merge_entry *merge_of(const mvc_notes_merge_result *m, const char *ref)
{
	for (size_t i = 0; m && i < m->count; i++)
		if (!strcmp(m->entries[i].ref, ref))
			return &m->entries[i];
	return NULL;
}

static void report(const mvc_ref_list *before, const mvc_ref_list *after,
                   const mvc_notes_merge_result *merged, const char *remote)
{
	size_t i = 0, j = 0, shown = 0;

	while (i < before->count || j < after->count) {
		const mvc_ref_entry *b = i < before->count ? &before->entries[i] : NULL;
		const mvc_ref_entry *a = j < after->count ? &after->entries[j] : NULL;
		int c = !b ? 1 : !a ? -1 : strcmp(b->name, a->name);
		const char *kind, *shortname;
		char buf[512], from[13], to[13];

		if (c < 0) {
			i++;
			continue; /* gone: fetch prunes nothing, another process did it */
		}
		if (c > 0)
			j++;
		else {
			i++;
			j++;
			if (!memcmp(a->target.id, b->target.id, sizeof(a->target.id)))
				continue;
		}
		if (!(kind = kind_of(&shortname, a->name, remote, buf, sizeof(buf))))
			continue;
		if (!shown++)
			printf("from %s:\n", remote);
		xfer_short(to, &a->target);
		if (!strcmp(kind, "notes")) {
			const mvc_notes_merge_entry *m = merge_of(merged, a->name);

			if (m && m->kind == MVC_NOTES_MERGED)
				printf("  %-8s %-32s merged: %zu note%s added, %zu combined\n", kind, shortname,
				    m->added, m->added == 1 ? "" : "s", m->combined);
			else if (c > 0)
				printf("  %-8s %-32s new %s\n", kind, shortname, to);
			else
				printf("  %-8s %-32s fast-forward to %s\n", kind, shortname, to);
		} else if (c > 0) {
			printf("  %-8s %-32s new %s\n", kind, shortname, to);
		} else {
			xfer_short(from, &b->target);
			printf("  %-8s %-32s %s -> %s\n", kind, shortname, from, to);
		}
	}
	if (!shown)
		printf("%s: up to date\n", remote);
}

int fetch_remote(mvc_repo *repo, const char *remote, int q, int prog)
{
	mvc_remote *r = NULL;
	mvc_ref_list *before = NULL, *after = NULL;
	mvc_notes_merge_result *merged = NULL;
	char **specs = NULL;
	size_t nspecs = 0, n = 0;
	const char **args = NULL;
	struct xfer x;
	int error, rc = EXIT_OK;

	if ((error = mvc_remote_lookup(&r, repo, remote)) < 0 ||
	    (error = mvc_remote_fetch_refspecs(&specs, &nspecs, remote)) < 0 ||
	    (error = mvc_remote_refs(&before, repo, remote)) < 0) {
		rc = fail(error);
		goto done;
	}
	if (!(args = calloc(nspecs + 8, sizeof(char *)))) {
		rc = die_msg("out of memory");
		goto done;
	}
	args[n++] = "fetch";
	args[n++] = "-q";
	/* only the refspecs given here: not a mirror's "+refs/..." from the config */
	args[n++] = "--refmap=";
	if (xfer_progress(prog, q))
		args[n++] = "--progress";
	args[n++] = "--";
	args[n++] = remote;
	for (size_t i = 0; i < nspecs; i++)
		args[n++] = specs[i];
	args[n] = NULL;
	if ((rc = xfer_git(&x, repo, args)) != 0)
		goto done;
	xfer_free(&x);
	if (x.status == 1) {
		fprintf(stderr, "mvc: some refs of '%s' were not updated here (git said why, above)\n",
		    remote);
		rc = EXIT_NO;
	} else if (x.status != 0) {
		rc = die_msg("fetch from '%s' failed (git exited with %d)", remote, x.status);
		goto done;
	}
	if ((error = mvc_remote_notes_merge(&merged, repo, remote)) < 0 ||
	    (error = mvc_remote_refs(&after, repo, remote)) < 0) {
		rc = fail(error);
		goto done;
	}
	if (!q)
		report(before, after, merged, remote);
done:
	mvc_notes_merge_result_free(merged);
	mvc_ref_list_free(before);
	mvc_ref_list_free(after);
	mvc_strings_free(specs, nspecs);
	mvc_remote_free(r);
	free(args);
	return rc;
}

int cmd_fetch(int argc, char **argv)
{
	mvc_repo *repo = NULL;
	int rc;

	opt_parse(&usage_fetch, &argc, argv);
	if (argc > 1)
		return usage_error(&usage_fetch, "fetch takes one remote");
	if ((rc = open_repo(&repo)) != 0)
		return rc;
	rc = fetch_remote(repo, argc ? argv[0] : "origin", quiet, progress);
	mvc_repo_free(repo);
	return rc;
}
