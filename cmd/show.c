/* mvc show: one version, its files and tensors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static int json, summary;
static const char *const syn[] = { "[--summary] [--json] [<rev>] [-- <file>...]", NULL };
static const struct opt opts[] = {
	{ "summary", 's', OPT_FLAG, &summary, NULL, "files only, no tensor table" },
	{ "json", 0, OPT_FLAG, &json, NULL, "print JSON (schema in mvc-show(1))" },
	{ NULL }
};
const struct cmd_usage usage_show = { "show", syn, opts, "rev" };

static json_t *file_json(const char *path, const mvc_manifest *m)
{
	char d[MVC_DIGEST_HEXSZ + 1];
	json_t *tensors = json_array();

	for (size_t i = 0; i < m->ntensors; i++) {
		const mvc_manifest_tensor *t = &m->tensors[i];

		mvc_digest_hex(d, t->digest);
		json_array_append_new(tensors, json_pack("{s:s, s:s, s:o, s:I, s:I, s:I, s:s}",
		    "name", t->t.name, "dtype", mvc_dtype_name(t->t.dtype), "shape", json_shape(&t->t),
		    "offset", (json_int_t)t->t.offset, "size", (json_int_t)t->t.size,
		    "chunks", (json_int_t)t->nchunks, "digest", d));
	}
	mvc_digest_hex(d, m->digest);
	return json_pack("{s:s, s:s, s:I, s:s, s:I, s:I, s:o}", "path", path,
	    "format", mvc_format_name(m->format), "size", (json_int_t)m->file_size, "digest", d,
	    "header_size", (json_int_t)m->header_size, "tensor_count", (json_int_t)m->ntensors,
	    "tensors", tensors);
}

static void file_text(const char *path, const mvc_manifest *m)
{
	char sz[32], d[MVC_DIGEST_HEXSZ + 1];
	size_t wname = 4, wshape = 5;

	mvc_digest_hex(d, m->digest);
	printf("\n%s  %s, %s (%llu bytes), %zu tensors\n  blake2b %s\n", path,
	    mvc_format_name(m->format), human_size(sz, sizeof(sz), m->file_size),
	    (unsigned long long)m->file_size, m->ntensors, d);
	if (summary || !m->ntensors)
		return;
	for (size_t i = 0; i < m->ntensors; i++) {
		char sh[256];
		size_t l = strlen(m->tensors[i].t.name);

		fmt_shape(sh, sizeof(sh), &m->tensors[i].t);
		if (l > wname)
			wname = l > 60 ? 60 : l;
		if (strlen(sh) > wshape)
			wshape = strlen(sh);
	}
	printf("  %-*s  %-7s  %-*s  %10s  %6s\n", (int)wname, "name", "dtype", (int)wshape, "shape",
	    "size", "chunks");
	for (size_t i = 0; i < m->ntensors; i++) {
		const mvc_manifest_tensor *t = &m->tensors[i];
		char sh[256];

		fmt_shape(sh, sizeof(sh), &t->t);
		printf("  %-*s  %-7s  %-*s  %10s  %6llu\n", (int)wname, t->t.name,
		    mvc_dtype_name(t->t.dtype), (int)wshape, sh, human_size(sz, sizeof(sz), t->t.size),
		    (unsigned long long)t->nchunks);
	}
}

int cmd_show(int argc, char **argv)
{
	mvc_repo *repo = NULL;
	mvc_version *v = NULL;
	json_t *files = NULL, *vj;
	const char *rev = "HEAD";
	char **only = NULL;
	size_t nonly = 0;
	int error, rc;

	opt_parse(&usage_show, &argc, argv);
	if ((rc = open_repo(&repo)) != 0)
		return rc;
	rc = EXIT_ERR;
	if (argc > 0) {
		/* "mvc show -- FILE": no revision before the "--" */
		int first = opt_dashdash == 0 ? 0 : 1;

		if (first)
			rev = argv[0];
		if (opt_dashdash > 1)
			return usage_error(&usage_show, "one revision at most before '--'");
		if (!(only = calloc((size_t)argc + 1, sizeof(char *))))
			goto done;
		for (int i = first; i < argc; i++) {
			if ((error = mvc_repo_relpath(&only[nonly], repo, argv[i])) < 0) {
				rc = fail(error);
				goto done;
			}
			nonly++;
		}
	}
	if ((error = mvc_version_lookup(&v, repo, rev)) < 0) {
		rc = fail(error);
		goto done;
	}
	for (size_t i = 0; i < nonly; i++) {
		mvc_manifest *m = NULL;

		if ((error = mvc_version_manifest(&m, v, only[i])) < 0) {
			rc = fail(error);
			goto done;
		}
		mvc_manifest_free(m);
	}
	if (json)
		files = json_array();
	else
		print_version_header(repo, v);
	for (size_t i = 0; i < mvc_version_file_count(v); i++) {
		const char *path = mvc_version_file_path(v, i);
		mvc_manifest *m = NULL;
		bool want = nonly == 0;

		for (size_t j = 0; j < nonly; j++)
			want |= !strcmp(only[j], path);
		if (!want)
			continue;
		if ((error = mvc_version_manifest(&m, v, path)) < 0) {
			rc = fail(error);
			goto done;
		}
		if (json)
			json_array_append_new(files, file_json(path, m));
		else
			file_text(path, m);
		mvc_manifest_free(m);
	}
	if (json) {
		vj = version_json(repo, v);
		json_object_set_new(vj, "files", files);
		json_object_set_new(vj, "schema", json_integer(1));
		files = NULL;
		rc = json_print(vj);
	} else {
		rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_ERR;
	}
done:
	json_decref(files);
	for (size_t i = 0; i < nonly; i++)
		free(only[i]);
	free(only);
	mvc_version_free(v);
	mvc_repo_free(repo);
	return rc;
}
