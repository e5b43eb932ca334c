/* mvc check: refuse a version with NaN, other shapes, or too large a change. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static int no_nan, json;
static const char *shapes_rev, *max_arg, *against;
static const char *const syn[] = {
	"[--no-nan] [--same-shapes-as <rev>] [--max-relative-change <x> [--against <rev>]] [--json] [<rev>]",
	NULL };
static const struct opt opts[] = {
	{ "no-nan", 0, OPT_FLAG, &no_nan, NULL, "fail if a float tensor holds NaN or infinite values" },
	{ "same-shapes-as", 0, OPT_STRING, &shapes_rev, "<rev>", "fail if tensors, shapes or dtypes differ from <rev>", "rev" },
	{ "max-relative-change", 0, OPT_STRING, &max_arg, "<x>", "fail if a tensor's relative L2 change exceeds <x>" },
	{ "against", 0, OPT_STRING, &against, "<rev>", "measure the change against <rev> (default: the parent)", "rev" },
	{ "json", 0, OPT_FLAG, &json, NULL, "print JSON (schema in mvc-check(1))" },
	{ NULL }
};
const struct cmd_usage usage_check = { "check", syn, opts, "rev" };

/* Tensor names are data: control bytes escaped. */
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

static void problem_text(const mvc_check_problem *p, const char *shapes)
{
	char t[1024], o[1024], a[256], b[256];

	if (p->tensor)
		printf("%s: tensor '%s': ", p->path, safe(t, sizeof(t), p->tensor));
	else
		printf("%s: ", p->path);
	switch (p->kind) {
	case MVC_CHECK_NONFINITE:
		printf("%llu NaN and %llu infinite value%s\n", (unsigned long long)p->nan_count,
		    (unsigned long long)p->inf_count, p->inf_count == 1 ? "" : "s");
		break;
	case MVC_CHECK_SHAPE:
		fmt_shape(a, sizeof(a), p->old_tensor);
		fmt_shape(b, sizeof(b), p->new_tensor);
		printf("shape %s, not %s as in %.12s\n", b, a, shapes);
		break;
	case MVC_CHECK_DTYPE:
		printf("dtype %s, not %s as in %.12s\n", mvc_dtype_name(p->new_tensor->dtype),
		    mvc_dtype_name(p->old_tensor->dtype), shapes);
		break;
	case MVC_CHECK_ADDED:
		printf("not in %.12s\n", shapes);
		break;
	case MVC_CHECK_REMOVED:
		printf("missing (it is in %.12s)\n", shapes);
		break;
	case MVC_CHECK_RENAMED:
		printf("named '%s' in %.12s\n", safe(o, sizeof(o), p->old_name), shapes);
		break;
	case MVC_CHECK_FILE_ADDED:
		printf("a file that %.12s does not have\n", shapes);
		break;
	case MVC_CHECK_FILE_REMOVED:
		printf("missing (%.12s has this file)\n", shapes);
		break;
	case MVC_CHECK_RELATIVE:
		if (p->nonfinite_changed)
			printf("%llu element%s became or stopped being NaN or infinite\n",
			    (unsigned long long)p->nonfinite_changed, p->nonfinite_changed == 1 ? "" : "s");
		else if (p->relative_defined)
			printf("relative change %.6g, more than %s\n", p->relative, max_arg);
		else
			printf("changed from all zeros (an unbounded relative change)\n");
		break;
	}
}

static json_t *rev_json(const char *rev, const mvc_oid *id, int valid)
{
	char hex[MVC_OID_HEXSZ + 1];

	if (!valid)
		return json_null();
	mvc_oid_fmt(hex, id);
	return rev ? json_pack("{s:s, s:s}", "rev", rev, "id", hex) : json_pack("{s:n, s:s}", "rev", "id", hex);
}

static json_t *problem_json(const mvc_check_problem *p)
{
	json_t *o = json_pack("{s:s, s:s, s:s?}", "check", mvc_check_kind_name(p->kind), "path",
	    p->path, "tensor", p->tensor);

	if (!o)
		return NULL;
	if (p->old_name)
		json_object_set_new(o, "old_name", json_string(p->old_name));
	if (p->new_tensor && p->kind != MVC_CHECK_FILE_ADDED) {
		json_object_set_new(o, "dtype", json_string(mvc_dtype_name(p->new_tensor->dtype)));
		json_object_set_new(o, "shape", json_shape(p->new_tensor));
	}
	if (p->old_tensor && (p->kind == MVC_CHECK_SHAPE || p->kind == MVC_CHECK_DTYPE ||
	                      p->kind == MVC_CHECK_REMOVED || p->kind == MVC_CHECK_RENAMED)) {
		json_object_set_new(o, "old_dtype", json_string(mvc_dtype_name(p->old_tensor->dtype)));
		json_object_set_new(o, "old_shape", json_shape(p->old_tensor));
	}
	if (p->kind == MVC_CHECK_NONFINITE) {
		json_object_set_new(o, "nan", json_integer((json_int_t)p->nan_count));
		json_object_set_new(o, "inf", json_integer((json_int_t)p->inf_count));
	}
	if (p->kind == MVC_CHECK_RELATIVE) {
		json_object_set_new(o, "relative", p->relative_defined && isfinite(p->relative)
		    ? json_real(p->relative) : json_null());
		json_object_set_new(o, "nonfinite_changed", json_integer((json_int_t)p->nonfinite_changed));
	}
	return o;
}

int cmd_check(int argc, char **argv)
{
	mvc_check_options o = MVC_CHECK_OPTIONS_INIT;
	mvc_check_result *r = NULL;
	mvc_repo *repo = NULL;
	const char *rev;
	char hex[MVC_OID_HEXSZ + 1], shapes[MVC_OID_HEXSZ + 1] = "", ag[MVC_OID_HEXSZ + 1] = "";
	int error, rc;

	opt_parse(&usage_check, &argc, argv);
	if (argc > 1)
		return usage_error(&usage_check, "check one version at a time");
	rev = argc ? argv[0] : "HEAD";
	if (max_arg) {
		char *end;

		errno = 0;
		o.max_relative_change = strtod(max_arg, &end);
		if (errno || end == max_arg || *end || !isfinite(o.max_relative_change) ||
		    o.max_relative_change < 0)
			return usage_error(&usage_check,
			    "option '--max-relative-change' needs a number of at least 0, not '%s'", max_arg);
		o.has_max_relative = 1;
	}
	if (against && !max_arg)
		return usage_error(&usage_check, "--against goes with --max-relative-change");
	if (!no_nan && !shapes_rev && !max_arg)
		return usage_error(&usage_check,
		    "nothing to check: give --no-nan, --same-shapes-as or --max-relative-change");
	o.no_nan = no_nan;
	o.same_shapes_as = shapes_rev;
	o.against = against;
	if ((rc = open_repo(&repo)) != 0)
		return rc;
	if ((error = mvc_check(&r, repo, rev, &o)) < 0) {
		rc = fail(error);
		goto done;
	}
	mvc_oid_fmt(hex, &r->id);
	if (r->has_shapes)
		mvc_oid_fmt(shapes, &r->shapes);
	if (r->has_against)
		mvc_oid_fmt(ag, &r->against);
	if (json) {
		json_t *ps = json_array(), *largest = json_null();

		for (size_t i = 0; i < r->count; i++)
			json_array_append_new(ps, problem_json(&r->problems[i]));
		if (r->largest_tensor) {
			json_decref(largest);
			largest = json_pack("{s:s, s:s, s:f}", "path", r->largest_path, "tensor",
			    r->largest_tensor, "relative", r->largest_relative);
		}
		rc = json_print(json_pack("{s:i, s:s, s:s, s:b, s:{s:b, s:o, s:o, s:o}, s:I, s:I, s:o, s:o}",
		    "schema", 1, "rev", rev, "id", hex, "ok", r->count == 0,
		    "checks", "no_nan", no_nan,
		    "same_shapes_as", rev_json(shapes_rev, &r->shapes, r->has_shapes),
		    "max_relative_change", max_arg ? json_real(o.max_relative_change) : json_null(),
		    "against", rev_json(against, &r->against, r->has_against),
		    "float_tensors", (json_int_t)r->float_tensors, "compared", (json_int_t)r->compared,
		    "largest_relative", largest, "problems", ps));
	} else {
		for (size_t i = 0; i < r->count; i++)
			problem_text(&r->problems[i], shapes);
		if (r->count) {
			printf("%.12s: %zu problem%s\n", hex, r->count, r->count == 1 ? "" : "s");
		} else {
			printf("%.12s: ok", hex);
			if (no_nan)
				printf("; %zu float tensor%s without NaN or Inf", r->float_tensors,
				    r->float_tensors == 1 ? "" : "s");
			if (r->has_shapes)
				printf("; tensors, shapes and dtypes as in %.12s", shapes);
			if (max_arg && !r->has_against)
				printf("; no parent to measure the change against");
			else if (max_arg && r->largest_tensor)
				printf("; largest relative change %.6g (at most %s against %.12s)",
				    r->largest_relative, max_arg, ag);
			else if (max_arg)
				printf("; no float tensor changed against %.12s", ag);
			putchar('\n');
		}
		rc = fflush(stdout) == 0 ? EXIT_OK : die_msg("cannot write output");
	}
	if (rc == EXIT_OK && r->count)
		rc = EXIT_NO;
done:
	mvc_check_result_free(r);
	mvc_repo_free(repo);
	return rc;
}
