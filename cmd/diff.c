/* mvc diff: what changed between two versions, tensor by tensor. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cli.h"

static int stat_only, json, exit_code, quiet, verbose, no_index;
static const char *tolerance_arg, *sort_arg, *format_arg;
static unsigned long top = (unsigned long)-1;
static const char *const syn[] = {
	"[--stat] [--json] [--exit-code] [--tolerance <x>] [<rev> [<rev>]] [-- <file>...]",
	"--no-index [--format <format>] [--stat] [--json] [--exit-code] [--tolerance <x>] <path> <path>", NULL };
static const struct opt opts[] = {
	{ "stat", 0, OPT_FLAG, &stat_only, NULL, "which tensors and chunks changed, from digests only" },
	{ "json", 0, OPT_FLAG, &json, NULL, "print JSON (schema in mvc-diff(1))" },
	{ "exit-code", 0, OPT_FLAG, &exit_code, NULL, "exit 1 if there are differences" },
	{ "tolerance", 0, OPT_STRING, &tolerance_arg, "<x>", "with --exit-code: float moves up to <x> are no difference" },
	{ "sort", 0, OPT_STRING, &sort_arg, "<key>", "order tensors by name, relative or max" },
	{ "top", 0, OPT_UINT, &top, "<n>", "list at most <n> changed tensors per file" },
	{ "verbose", 'v', OPT_FLAG, &verbose, NULL, "list unchanged tensors too" },
	{ "quiet", 'q', OPT_FLAG, &quiet, NULL, "print nothing; implies --exit-code" },
	{ "no-index", 0, OPT_FLAG, &no_index, NULL, "compare two files on disk, no repository needed" },
	{ "format", 0, OPT_STRING, &format_arg, "<format>", "with --no-index: read both files as safetensors, gguf, npy, npz or opaque" },
	{ NULL }
};
const struct cmd_usage usage_diff = { "diff", syn, opts, "rev" };

enum { SORT_NAME, SORT_RELATIVE, SORT_MAX };
static int sort_key = SORT_NAME;

/* Tensor names are data: show control bytes escaped. */
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

static int sort_value(const mvc_diff_tensor *t, double *v)
{
	if (t->compared != MVC_DIFF_COMPARE_FLOAT)
		return 0;
	if (sort_key == SORT_RELATIVE) {
		if (!t->relative_defined)
			return 0;
		*v = t->relative;
	} else {
		*v = t->max_abs_diff;
	}
	return 1;
}

/* Changed tensors first (then unchanged, for --verbose); by the key,
 * largest first, tensors without a value after those with one; then by
 * name. */
static int cmp_tensor(const void *x, const void *y)
{
	const mvc_diff_tensor *a = *(const mvc_diff_tensor *const *)x;
	const mvc_diff_tensor *b = *(const mvc_diff_tensor *const *)y;
	double va = 0, vb = 0;
	int ha, hb;

	if ((a->status == MVC_DIFF_UNCHANGED) != (b->status == MVC_DIFF_UNCHANGED))
		return a->status == MVC_DIFF_UNCHANGED ? 1 : -1;
	if (sort_key != SORT_NAME) {
		ha = sort_value(a, &va);
		hb = sort_value(b, &vb);
		if (ha != hb)
			return hb - ha;
		if (ha && va != vb)
			return va < vb ? 1 : -1;
	}
	return strcmp(a->name, b->name);
}

/* The tensors of a file to list, in order: changed ones (at most --top),
 * then with --verbose the unchanged ones. */
static const mvc_diff_tensor **listed(const mvc_diff_file *f, size_t *n)
{
	const mvc_diff_tensor **v = calloc(f->count + 1, sizeof(*v));
	size_t k = 0, changed = 0;

	*n = 0;
	if (!v)
		return NULL;
	for (size_t i = 0; i < f->count; i++)
		v[i] = &f->tensors[i];
	qsort(v, f->count, sizeof(*v), cmp_tensor);
	for (size_t i = 0; i < f->count; i++) {
		if (v[i]->status != MVC_DIFF_UNCHANGED) {
			if (changed++ < top)
				v[k++] = v[i];
		} else if (verbose) {
			v[k++] = v[i];
		}
	}
	*n = k;
	return v;
}

static void tensor_text(const mvc_diff_tensor *t, int stat)
{
	const mvc_tensor *nt = t->new_tensor ? t->new_tensor : t->old_tensor;
	char name[1024], old[1024], shape[256], oshape[256];

	safe(name, sizeof(name), t->name);
	fmt_shape(shape, sizeof(shape), nt);
	printf("  %-13s ", mvc_diff_status_name(t->status));
	switch (t->status) {
	case MVC_DIFF_RENAMED:
		printf("%s -> %s  %s %s\n", safe(old, sizeof(old), t->old_name), name,
		    mvc_dtype_name(nt->dtype), shape);
		return;
	case MVC_DIFF_SHAPE_CHANGED:
		fmt_shape(oshape, sizeof(oshape), t->old_tensor);
		printf("%s  %s %s -> %s\n", name, mvc_dtype_name(nt->dtype), oshape, shape);
		return;
	case MVC_DIFF_DTYPE_CHANGED:
		fmt_shape(oshape, sizeof(oshape), t->old_tensor);
		printf("%s  %s %s -> %s %s\n", name, mvc_dtype_name(t->old_tensor->dtype), oshape,
		    mvc_dtype_name(nt->dtype), shape);
		return;
	default:
		break;
	}
	printf("%s  %s %s", name, mvc_dtype_name(nt->dtype), shape);
	if (t->moved_from)
		printf("  (moved from %s)", safe(old, sizeof(old), t->moved_from));
	if (t->status != MVC_DIFF_CHANGED) {
		putchar('\n');
		return;
	}
	if (stat) {
		printf("  %llu of %llu chunks changed\n", (unsigned long long)t->chunks_changed,
		    (unsigned long long)t->chunks);
		return;
	}
	switch (t->compared) {
	case MVC_DIFF_COMPARE_FLOAT:
		printf("  %llu of %llu elements differ (%.3g%%), l2 %.6g, ",
		    (unsigned long long)t->elements_changed, (unsigned long long)t->elements,
		    100 * t->fraction_changed, t->l2_diff);
		if (t->relative_defined)
			printf("relative %.6g, ", t->relative);
		else
			printf("relative undefined (old tensor is zero), ");
		printf("max %.6g, ", t->max_abs_diff);
		if (t->cosine_defined)
			printf("cosine %.9g", t->cosine);
		else
			printf("cosine undefined (zero tensor)");
		if (t->nan_count || t->inf_count)
			printf(", new tensor has %llu NaN and %llu Inf", (unsigned long long)t->nan_count,
			    (unsigned long long)t->inf_count);
		if (t->nonfinite_changed)
			printf(", %llu %s as NaN or Inf", (unsigned long long)t->nonfinite_changed,
			    t->nonfinite_changed == 1 ? "element differs" : "elements differ");
		putchar('\n');
		break;
	case MVC_DIFF_COMPARE_EXACT:
		printf("  %llu of %llu elements differ\n", (unsigned long long)t->elements_changed,
		    (unsigned long long)t->elements);
		break;
	case MVC_DIFF_COMPARE_CHUNKS:
		printf("  %llu of %llu bytes shared with the old side, %llu of %llu chunks new\n",
		    (unsigned long long)(nt->size - t->chunk_bytes_changed), (unsigned long long)nt->size,
		    (unsigned long long)t->chunks_changed, (unsigned long long)t->chunks);
		break;
	default:
		printf("  bytes differ (no numeric comparison for %s): %llu of %llu bytes\n",
		    mvc_dtype_name(nt->dtype), (unsigned long long)t->bytes_changed,
		    (unsigned long long)nt->size);
		break;
	}
}

static int print_text(const mvc_diff *d)
{
	const mvc_diff_summary *s = &d->summary;
	char name[1024];

	for (size_t i = 0; i < d->count; i++) {
		const mvc_diff_file *f = &d->files[i];
		const mvc_diff_tensor **v;
		size_t n, unchanged = f->tensors_total - f->tensors_changed;

		if (f->status == MVC_DIFF_UNCHANGED && !verbose)
			continue;
		if (strcmp(f->path, f->old_path))
			printf("%s -> %s", f->old_path, f->path);
		else
			printf("%s", f->path);
		if (f->status != MVC_DIFF_CHANGED)
			printf(" (%s)", mvc_diff_status_name(f->status));
		putchar('\n');
		if (!(v = listed(f, &n)))
			return die_msg("out of memory");
		for (size_t k = 0; k < n; k++)
			tensor_text(v[k], d->stat);
		free(v);
		if (f->tensors_changed > top)
			printf("  ... %zu more changed tensors\n", f->tensors_changed - (size_t)top);
		if (unchanged && !verbose)
			printf("  %zu tensor%s unchanged\n", unchanged, unchanged == 1 ? "" : "s");
		if (f->header_changed)
			printf("  non-tensor bytes (header, metadata) changed\n");
	}
	printf("%zu of %zu tensors changed", s->tensors_changed, s->tensors_total);
	if (s->files > 1)
		printf(" (in %zu of %zu files)", s->files_changed, s->files);
	if (d->stat) {
		printf(", %llu of %llu chunks changed (%llu bytes)\n",
		    (unsigned long long)s->chunks_changed, (unsigned long long)s->chunks,
		    (unsigned long long)s->chunk_bytes_changed);
	} else {
		printf(", %llu bytes changed", (unsigned long long)s->bytes_changed);
		if (s->largest)
			printf(", largest relative change %.6g in '%s'", s->largest->relative,
			    safe(name, sizeof(name), s->largest->name));
		putchar('\n');
	}
	return fflush(stdout) == 0 ? EXIT_OK : die_msg("cannot write output");
}

static json_t *num(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *tensor_json(const mvc_diff_tensor *t, int stat)
{
	const mvc_tensor *nt = t->new_tensor ? t->new_tensor : t->old_tensor;
	json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:s, s:I, s:I, s:I, s:b}",
	    "name", t->name, "status", mvc_diff_status_name(t->status),
	    "dtype", mvc_dtype_name(nt->dtype), "shape", json_shape(nt),
	    "compared", mvc_diff_compare_name(t->compared),
	    "chunks", (json_int_t)t->chunks, "chunks_changed", (json_int_t)t->chunks_changed,
	    "chunk_bytes_changed", (json_int_t)t->chunk_bytes_changed, "exceeds", t->exceeds);

	if (!o)
		return NULL;
	if (t->old_name)
		json_object_set_new(o, "old_name", json_string(t->old_name));
	if (t->moved_from)
		json_object_set_new(o, "moved_from", json_string(t->moved_from));
	if (t->status == MVC_DIFF_SHAPE_CHANGED || t->status == MVC_DIFF_DTYPE_CHANGED) {
		json_object_set_new(o, "old_dtype", json_string(mvc_dtype_name(t->old_tensor->dtype)));
		json_object_set_new(o, "old_shape", json_shape(t->old_tensor));
	}
	if (!(stat && t->status == MVC_DIFF_CHANGED))
		json_object_set_new(o, "bytes_changed", json_integer((json_int_t)t->bytes_changed));
	if (t->compared == MVC_DIFF_COMPARE_CHUNKS)
		json_object_set_new(o, "bytes_shared",
		    json_integer((json_int_t)(nt->size - t->chunk_bytes_changed)));
	if (t->compared == MVC_DIFF_COMPARE_FLOAT || t->compared == MVC_DIFF_COMPARE_EXACT) {
		json_object_set_new(o, "elements", json_integer((json_int_t)t->elements));
		json_object_set_new(o, "elements_changed", json_integer((json_int_t)t->elements_changed));
		json_object_set_new(o, "fraction_changed", num(t->fraction_changed));
	}
	if (t->compared == MVC_DIFF_COMPARE_FLOAT) {
		json_object_set_new(o, "l2_diff", num(t->l2_diff));
		json_object_set_new(o, "l2_old", num(t->l2_old));
		json_object_set_new(o, "l2_new", num(t->l2_new));
		json_object_set_new(o, "relative", t->relative_defined ? num(t->relative) : json_null());
		json_object_set_new(o, "max_abs_diff", num(t->max_abs_diff));
		json_object_set_new(o, "cosine", t->cosine_defined ? num(t->cosine) : json_null());
		json_object_set_new(o, "nan", json_integer((json_int_t)t->nan_count));
		json_object_set_new(o, "inf", json_integer((json_int_t)t->inf_count));
		json_object_set_new(o, "nonfinite_changed", json_integer((json_int_t)t->nonfinite_changed));
	}
	return o;
}

static json_t *side_json(mvc_repo *repo, const char *rev, const char *path)
{
	mvc_version *v = NULL;
	char hex[MVC_OID_HEXSZ + 1] = "";

	if (path)
		return json_pack("{s:s}", "path", path);
	if (!rev)
		return json_pack("{s:b}", "worktree", 1);
	if (mvc_version_lookup(&v, repo, rev) == 0)
		mvc_oid_fmt(hex, mvc_version_id(v));
	mvc_version_free(v);
	return json_pack("{s:s, s:s}", "rev", rev, "id", hex);
}

static int print_json(const mvc_diff *d, json_t *old, json_t *new_)
{
	const mvc_diff_summary *s = &d->summary;
	json_t *files = json_array(), *largest = json_null(), *sum;

	for (size_t i = 0; i < d->count; i++) {
		const mvc_diff_file *f = &d->files[i];
		const mvc_diff_tensor **v;
		json_t *ts = json_array();
		size_t n;

		if (!(v = listed(f, &n))) {
			json_decref(ts);
			json_decref(files);
			return die_msg("out of memory");
		}
		for (size_t k = 0; k < n; k++)
			json_array_append_new(ts, tensor_json(v[k], d->stat));
		free(v);
		json_array_append_new(files, json_pack("{s:s, s:s, s:s, s:b, s:I, s:I, s:o}",
		    "path", f->path, "old_path", f->old_path, "status", mvc_diff_status_name(f->status),
		    "header_changed", f->header_changed, "tensors_total", (json_int_t)f->tensors_total,
		    "tensors_changed", (json_int_t)f->tensors_changed, "tensors", ts));
	}
	if (s->largest) {
		json_decref(largest);
		largest = json_pack("{s:s, s:s, s:o}", "path", s->largest_file->path,
		    "tensor", s->largest->name, "relative", num(s->largest->relative));
	}
	sum = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:b}",
	    "files", (json_int_t)s->files, "files_changed", (json_int_t)s->files_changed,
	    "tensors_total", (json_int_t)s->tensors_total,
	    "tensors_changed", (json_int_t)s->tensors_changed,
	    "bytes_changed", (json_int_t)s->bytes_changed, "chunks", (json_int_t)s->chunks,
	    "chunks_changed", (json_int_t)s->chunks_changed,
	    "chunk_bytes_changed", (json_int_t)s->chunk_bytes_changed,
	    "chunks_decoded", (json_int_t)s->chunks_decoded, "largest_relative", largest,
	    "differs", s->differs);
	return json_print(json_pack("{s:i, s:o, s:o, s:b, s:o, s:o, s:o}", "schema", 1,
	    "old", old, "new", new_, "stat", d->stat, "tolerance", json_real(d->tolerance),
	    "files", files, "summary", sum));
}

/* A revision that does not resolve but names a file: say how to pass paths. */
static int rev_error(int error, int argc, char **argv)
{
	struct stat st;

	if (error == MVC_ENOTFOUND)
		for (int i = 0; i < argc; i++)
			if (strstr(mvc_error_last(), argv[i]) && stat(argv[i], &st) == 0) {
				fprintf(stderr, "mvc: %s\nhint: put paths after '--': mvc diff [<rev>] -- %s\n",
				    mvc_error_last(), argv[i]);
				return EXIT_ERR;
			}
	return fail(error);
}

int cmd_diff(int argc, char **argv)
{
	mvc_diff_options o = MVC_DIFF_OPTIONS_INIT;
	mvc_repo *repo = NULL;
	mvc_diff *d = NULL;
	char **paths = NULL;
	size_t npaths = 0;
	int nrevs, error, rc;

	opt_parse(&usage_diff, &argc, argv);
	nrevs = opt_dashdash >= 0 ? opt_dashdash : argc;
	if (tolerance_arg) {
		char *end;

		errno = 0;
		o.tolerance = strtod(tolerance_arg, &end);
		if (errno || end == tolerance_arg || *end || !isfinite(o.tolerance) || o.tolerance < 0)
			return usage_error(&usage_diff,
			    "option '--tolerance' needs a number of at least 0, not '%s'", tolerance_arg);
	}
	if (sort_arg) {
		if (!strcmp(sort_arg, "name"))
			sort_key = SORT_NAME;
		else if (!strcmp(sort_arg, "relative"))
			sort_key = SORT_RELATIVE;
		else if (!strcmp(sort_arg, "max"))
			sort_key = SORT_MAX;
		else
			return usage_error(&usage_diff,
			    "option '--sort' takes name, relative or max, not '%s'", sort_arg);
	}
	if (format_arg && !no_index)
		return usage_error(&usage_diff, "--format is for --no-index: stored files keep their format");
	if (format_arg && (o.format = mvc_format_from_name(format_arg)) == MVC_FORMAT_UNKNOWN)
		return usage_error(&usage_diff,
		    "option '--format' takes safetensors, gguf, npy, npz or opaque, not '%s'", format_arg);
	if (stat_only && o.tolerance > 0)
		return usage_error(&usage_diff, "--tolerance needs the values, which --stat does not read");
	if (quiet)
		exit_code = 1;
	o.stat = stat_only || (quiet && o.tolerance == 0); /* digests answer "any difference?" */
	if (no_index) {
		if (argc != 2 || opt_dashdash >= 0)
			return usage_error(&usage_diff, "--no-index compares exactly two files");
		if ((error = mvc_diff_files(&d, argv[0], argv[1], &o)) < 0)
			return fail(error);
	} else {
		if (nrevs > 2)
			return usage_error(&usage_diff,
			    "at most two revisions; put paths after '--'");
		if ((rc = open_repo(&repo)) != 0)
			return rc;
		rc = EXIT_ERR;
		if (argc > nrevs && !(paths = calloc((size_t)(argc - nrevs), sizeof(char *))))
			goto done;
		for (int i = nrevs; i < argc; i++) {
			if ((error = mvc_repo_relpath(&paths[npaths], repo, argv[i])) < 0) {
				rc = fail(error);
				goto done;
			}
			npaths++;
		}
		if (nrevs == 2)
			error = mvc_diff_versions(&d, repo, argv[0], argv[1],
			    (const char *const *)paths, npaths, &o);
		else
			error = mvc_diff_workdir(&d, repo, nrevs ? argv[0] : "HEAD",
			    (const char *const *)paths, npaths, &o);
		if (error < 0) {
			rc = rev_error(error, nrevs, argv);
			goto done;
		}
	}
	if (quiet)
		rc = EXIT_OK;
	else if (json)
		rc = print_json(d, side_json(repo, no_index ? NULL : nrevs ? argv[0] : "HEAD",
		    no_index ? argv[0] : NULL), side_json(repo, nrevs == 2 ? argv[1] : NULL,
		    no_index ? argv[1] : NULL));
	else
		rc = print_text(d);
	if (rc == EXIT_OK && exit_code && d->summary.differs)
		rc = EXIT_NO;
done:
	for (size_t i = 0; i < npaths; i++)
		free(paths[i]);
	free(paths);
	mvc_diff_free(d);
	mvc_repo_free(repo);
	return rc;
}
