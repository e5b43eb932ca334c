/* mvc fsck: does every version of the store decode and match its digests? */
#include <stdio.h>
#include <stdlib.h>
#include "cli.h"

static int full, json, quiet, progress = -1;
static const char *const syn[] = { "[--full] [--progress] [--quiet | --json]", NULL };
static const struct opt opts[] = {
	{ "full", 0, OPT_FLAG, &full, NULL, "decode every chunk and check its BLAKE2b digest" },
	{ "progress", 0, OPT_FLAG, &progress, NULL, "with --full: show progress on stderr (default: on a terminal)" },
	{ "quiet", 'q', OPT_FLAG, &quiet, NULL, "print nothing; the exit status tells" },
	{ "json", 0, OPT_FLAG, &json, NULL, "print JSON (schema in mvc-fsck(1))" },
	{ NULL }
};
const struct cmd_usage usage_fsck = { "fsck", syn, opts, NULL };

static const char *safe(char *buf, size_t n, const char *s)
{
	size_t o = 0;

	for (; *s && o + 5 < n; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(buf + o, n - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	buf[o] = '\0';
	return buf;
}

static void problem_text(const mvc_fsck_problem *p)
{
	char t[1024];

	if (p->ref)
		printf("ref %s: ", p->ref);
	if (p->version[0])
		printf("version %.12s: ", p->version);
	if (p->path)
		printf("%s: ", p->path);
	if (p->tensor)
		printf("tensor '%s': ", safe(t, sizeof(t), p->tensor));
	if (p->chunk >= 0)
		printf("chunk %lld: ", (long long)p->chunk);
	if (p->object[0])
		printf("object %s: ", p->object);
	printf("%s\n", p->message);
}

static json_t *problem_json(const mvc_fsck_problem *p)
{
	return json_pack("{s:s?, s:s?, s:s?, s:s?, s:o, s:s?, s:s}",
	    "version", p->version[0] ? p->version : NULL, "ref", p->ref, "path", p->path,
	    "tensor", p->tensor, "chunk", p->chunk >= 0 ? json_integer(p->chunk) : json_null(),
	    "object", p->object[0] ? p->object : NULL, "message", p->message);
}

int cmd_fsck(int argc, char **argv)
{
	mvc_fsck_options o = MVC_FSCK_OPTIONS_INIT;
	mvc_fsck_report *r = NULL;
	mvc_repo *repo = NULL;
	struct progress bar;
	int error, rc;

	opt_parse(&usage_fsck, &argc, argv);
	if (argc)
		return usage_error(&usage_fsck, "fsck takes no arguments");
	if (quiet && json)
		return usage_error(&usage_fsck, "--quiet and --json cannot be used together");
	if ((rc = open_repo(&repo)) != 0)
		return rc;
	o.full = full;
	progress_init(&bar, "fsck", full ? progress : 0, quiet || json);
	o.progress = progress_cb;
	o.progress_payload = &bar;
	error = mvc_fsck(&r, repo, &o);
	progress_end(&bar);
	if (error < 0) {
		rc = fail(error);
		goto done;
	}
	if (json) {
		json_t *ps = json_array();

		for (size_t i = 0; i < r->count; i++)
			json_array_append_new(ps, problem_json(&r->problems[i]));
		rc = json_print(json_pack("{s:i, s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}",
		    "schema", 1, "ok", r->count == 0, "full", full, "refs", (json_int_t)r->refs,
		    "versions", (json_int_t)r->versions, "files", (json_int_t)r->files,
		    "tensors", (json_int_t)r->tensors, "chunks", (json_int_t)r->chunks,
		    "chunks_decoded", (json_int_t)r->chunks_decoded,
		    "bytes_decoded", (json_int_t)r->bytes_decoded,
		    "chunks_pruned", (json_int_t)r->chunks_pruned, "problems", ps));
	} else if (!quiet) {
		char sz[32];

		for (size_t i = 0; i < r->count; i++)
			problem_text(&r->problems[i]);
		printf("%zu version%s, %zu file%s, %zu tensor%s, %llu chunk%s",
		    r->versions, r->versions == 1 ? "" : "s", r->files, r->files == 1 ? "" : "s",
		    r->tensors, r->tensors == 1 ? "" : "s", (unsigned long long)r->chunks,
		    r->chunks == 1 ? "" : "s");
		if (full)
			printf(" (%llu decoded, %s)", (unsigned long long)r->chunks_decoded,
			    human_size(sz, sizeof(sz), r->bytes_decoded));
		if (r->chunks_pruned)
			printf(", %llu dropped by mvc prune", (unsigned long long)r->chunks_pruned);
		if (r->count)
			printf(": %zu problem%s\n", r->count, r->count == 1 ? "" : "s");
		else
			printf(": ok\n");
		rc = fflush(stdout) == 0 ? EXIT_OK : die_msg("cannot write output");
	}
	if (rc == EXIT_OK && r->count)
		rc = EXIT_NO;
done:
	mvc_fsck_report_free(r);
	mvc_repo_free(repo);
	return rc;
}
