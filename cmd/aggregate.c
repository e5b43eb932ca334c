/* mvc aggregate: combine versions into one (FedAvg and friends). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static const char *method_arg, *weights_arg, *trim_arg, *alpha_arg, *lambda_arg, *base_arg,
    *clip_arg, *noise_arg, *seed_arg, *policy_arg, *message;
static unsigned long byzantine = (unsigned long)-1;
static struct opt_list exclude;
static int dry_run, no_checkout, json, quiet;
static struct sign_opts sign = SIGN_OPTS_INIT;
static const char *const syn[] = {
	"[--method <m>] [--weights <w>,...] [--trim <b>] [--byzantine <f>] [--alpha <a>] "
	"[--lambda <l>] [--base <rev>] [--clip <c>] [--noise-multiplier <z>] [--seed <s>] "
	"[--exclude <glob>]... [--int-policy <p>] [--dry-run] [--no-checkout] [--json] [-m <msg>] "
	"[--sign [--key <path>] [--passphrase-fd <n> | --passphrase-env <var>]] "
	"[-q] <rev>... [-- <file>...]",
	NULL };
static const struct opt opts[] = {
	{ "method", 0, OPT_STRING, &method_arg, "<m>", "fedavg (default), mean, median, trimmed-mean, krum, interpolate, task-arithmetic", "method" },
	{ "weights", 0, OPT_STRING, &weights_arg, "<w>,...", "fedavg: these weights instead of num-examples" },
	{ "trim", 0, OPT_STRING, &trim_arg, "<b>", "trimmed-mean: drop floor(b*n) values at each end (0.1)" },
	{ "byzantine", 0, OPT_UINT, &byzantine, "<f>", "krum: inputs that may be Byzantine (needs 2f+3)" },
	{ "alpha", 0, OPT_STRING, &alpha_arg, "<a>", "interpolate: the second version's weight (0.5)" },
	{ "lambda", 0, OPT_STRING, &lambda_arg, "<l>", "task-arithmetic: scale of the summed updates (1)" },
	{ "base", 0, OPT_STRING, &base_arg, "<rev>", "measure updates from this version", "rev" },
	{ "clip", 0, OPT_STRING, &clip_arg, "<c>", "DP-FedAvg: clip each update to L2 norm <c>" },
	{ "noise-multiplier", 0, OPT_STRING, &noise_arg, "<z>", "DP-FedAvg: Gaussian noise of std z*c/n" },
	{ "seed", 0, OPT_STRING, &seed_arg, "<s>", "reproducible noise (for tests: not private)" },
	{ "exclude", 0, OPT_LIST, &exclude, "<glob>", "take these tensors from the first input (repeatable)" },
	{ "int-policy", 0, OPT_STRING, &policy_arg, "<p>", "integer tensors: first (default), max or error", "policy" },
	{ "dry-run", 0, OPT_FLAG, &dry_run, NULL, "report only: write nothing" },
	{ "no-checkout", 0, OPT_FLAG, &no_checkout, NULL, "leave the working files as they are" },
	{ "json", 0, OPT_FLAG, &json, NULL, "print JSON (schema in mvc-aggregate(1))" },
	{ "message", 'm', OPT_STRING, &message, "<msg>", "the version's message" },
	SIGN_OPT_ENTRIES(sign, "the version"),
	{ "quiet", 'q', OPT_FLAG, &quiet, NULL, "print nothing on success" },
	{ NULL }
};
const struct cmd_usage usage_aggregate = { "aggregate", syn, opts, "rev" };

static double number(const char *opt, const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v))
		usage_error(&usage_aggregate, "option '--%s' needs a number, not '%s'", opt, s);
	return v;
}

/* "3,1,1" */
static double *parse_weights(const char *s, size_t *n)
{
	double *w = NULL;
	const char *p = s;

	*n = 0;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char buf[64];
		double *nw = realloc(w, (*n + 1) * sizeof(*w));

		if (!nw || len == 0 || len >= sizeof(buf))
			usage_error(&usage_aggregate,
			    "option '--weights' needs numbers separated by commas, not '%s'", s);
		w = nw;
		memcpy(buf, p, len);
		buf[len] = '\0';
		w[(*n)++] = number("weights", buf);
		if (!comma)
			break;
		p = comma + 1;
	}
	return w;
}

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

static json_t *num(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static const char *norm_text(char *buf, size_t n, double v)
{
	if (isfinite(v))
		snprintf(buf, n, "%.6g", v);
	else
		snprintf(buf, n, "%s", isnan(v) ? "NaN" : "inf");
	return buf;
}

static int print_text(const mvc_aggregate_result *r, const mvc_aggregate_options *o)
{
	char hex[MVC_OID_HEXSZ + 1], name[1024], a[64];
	size_t w = 5;
	int any_examples = 0;

	for (size_t i = 0; i < r->ninputs; i++) {
		if (strlen(r->inputs[i].rev) > w)
			w = strlen(r->inputs[i].rev);
		any_examples |= r->inputs[i].has_examples;
	}
	if (w > 40)
		w = 40;
	if (r->committed) {
		mvc_oid_fmt(hex, &r->id);
		printf("[%.12s] aggregated %zu version%s with %s%s\n", hex, r->ninputs,
		    r->ninputs == 1 ? "" : "s", mvc_aggregate_method_name(r->method),
		    r->checked_out ? "" : " (working files left as they were)");
	} else {
		printf("dry run: %s of %zu version%s, nothing written\n",
		    mvc_aggregate_method_name(r->method), r->ninputs, r->ninputs == 1 ? "" : "s");
	}
	printf("  %-*s  %-12s  %-10s", (int)w, "input", "version", "weight");
	if (any_examples)
		printf("  %-12s", "num-examples");
	if (r->dp)
		printf("  %-11s", "clip-factor");
	if (r->has_selected)
		printf("  %-12s", "krum-score");
	printf("  update-norm\n");
	for (size_t i = 0; i < r->ninputs; i++) {
		const mvc_aggregate_input *in = &r->inputs[i];
		char wt[32] = "-", ex[32] = "-", nm[32];

		mvc_oid_fmt(hex, &in->id);
		if (in->has_weight)
			snprintf(wt, sizeof(wt), "%.6g", in->weight);
		if (in->has_examples)
			snprintf(ex, sizeof(ex), "%llu", (unsigned long long)in->examples);
		printf("  %-*s  %.12s  %-10s", (int)w, safe(name, sizeof(name), in->rev), hex, wt);
		if (any_examples)
			printf("  %-12s", ex);
		if (r->dp)
			printf("  %-11.6g", in->clip_factor);
		if (r->has_selected)
			printf("  %-12s", norm_text(a, sizeof(a), in->score));
		printf("  %s", norm_text(nm, sizeof(nm), in->norm));
		if (in->selected)
			printf("  selected");
		if (in->outlier) {
			if (in->zscore_defined)
				printf("  OUTLIER (modified z-score %.3g)", in->zscore);
			else
				printf("  OUTLIER (norm not finite)");
		}
		putchar('\n');
	}
	printf("update norms: L2 of each input minus the %s, over the tensors combined\n",
	    r->norm_vs_base ? "base" : "result");
	if (r->has_base) {
		mvc_oid_fmt(hex, &r->base_id);
		printf("base: %s (%.12s); the result moved %s from it\n",
		    safe(name, sizeof(name), r->base_rev), hex, norm_text(a, sizeof(a), r->result_norm));
	}
	if (r->method == MVC_AGGREGATE_TRIMMED_MEAN)
		printf("trimmed: %zu value%s at each end of every coordinate\n", r->trimmed,
		    r->trimmed == 1 ? "" : "s");
	if (r->has_selected)
		printf("krum selected '%s' (f = %u)\n", safe(name, sizeof(name),
		    r->inputs[r->selected].rev), o->byzantine);
	if (r->dp)
		printf("DP-FedAvg: clip %g, noise std %.6g (noise multiplier %g)%s\n", o->clip,
		    r->noise_std, o->noise_multiplier, r->noise_std == 0 ? "" : o->has_seed ?
		    ", from --seed: reproducible and NOT private" : ", from the system's CSPRNG");
	for (size_t i = 0; i < r->ntensors; i++) {
		const mvc_aggregate_tensor *t = &r->tensors[i];
		const char *from = r->has_selected ? "the selected input" : "the first input";

		printf("  not combined: %s (%s", safe(name, sizeof(name), t->name),
		    mvc_dtype_name(t->dtype));
		if (r->nfiles > 1)
			printf(", %s", t->path);
		printf("): ");
		if (t->flags & MVC_AGGREGATE_TENSOR_EXCLUDED)
			printf("excluded, from %s", from);
		else if (t->flags & MVC_AGGREGATE_TENSOR_INTEGER)
			printf("integer, %s%s", o->int_policy == MVC_INT_POLICY_MAX ?
			    "the largest value of each element" : o->int_policy == MVC_INT_POLICY_ERROR ?
			    "equal in every input" : "from ", o->int_policy == MVC_INT_POLICY_FIRST ? from : "");
		else
			printf("%s, from %s", mvc_dtype_name(t->dtype), from);
		if (t->flags & MVC_AGGREGATE_TENSOR_DIFFERED)
			printf("; the inputs differ");
		if (r->dp)
			printf("; outside the DP guarantee (no noise)");
		putchar('\n');
	}
	printf("%llu tensor%s, %llu combined; %llu chunk%s: %llu equal in every input (copied), "
	       "%llu computed, %llu taken from one input; %llu decoded\n",
	    (unsigned long long)r->summary.tensors, r->summary.tensors == 1 ? "" : "s",
	    (unsigned long long)r->summary.tensors_combined, (unsigned long long)r->summary.chunks,
	    r->summary.chunks == 1 ? "" : "s", (unsigned long long)r->summary.chunks_reused,
	    (unsigned long long)r->summary.chunks_computed,
	    (unsigned long long)r->summary.chunks_copied, (unsigned long long)r->summary.chunks_decoded);
	return fflush(stdout) == 0 ? EXIT_OK : die_msg("cannot write output");
}

static int print_json(const mvc_aggregate_result *r, const mvc_aggregate_options *o)
{
	char hex[MVC_OID_HEXSZ + 1];
	json_t *inputs = json_array(), *tensors = json_array(), *files = json_array(), *params,
	       *excl = json_array(), *result, *base = json_null(), *sum;

	for (size_t i = 0; i < r->ninputs; i++) {
		const mvc_aggregate_input *in = &r->inputs[i];
		json_t *e;

		mvc_oid_fmt(hex, &in->id);
		e = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:b}", "rev", in->rev, "id", hex,
		    "weight", in->has_weight ? num(in->weight) : json_null(),
		    "num_examples", in->has_examples ? json_integer((json_int_t)in->examples) : json_null(),
		    "norm", num(in->norm),
		    "z_score", in->zscore_defined ? num(in->zscore) : json_null(),
		    "outlier", in->outlier);
		if (r->dp)
			json_object_set_new(e, "clip_factor", num(in->clip_factor));
		if (r->has_selected) {
			json_object_set_new(e, "krum_score", num(in->score));
			json_object_set_new(e, "selected", json_boolean(in->selected));
		}
		json_array_append_new(inputs, e);
	}
	for (size_t i = 0; i < r->nfiles; i++)
		json_array_append_new(files, json_string(r->files[i]));
	for (size_t i = 0; i < r->ntensors; i++) {
		const mvc_aggregate_tensor *t = &r->tensors[i];
		const char *why = t->flags & MVC_AGGREGATE_TENSOR_EXCLUDED ? "excluded"
		                  : t->flags & MVC_AGGREGATE_TENSOR_INTEGER ? "integer" : "other-dtype";

		json_array_append_new(tensors, json_pack("{s:s, s:s, s:s, s:s, s:b}", "path", t->path,
		    "name", t->name, "dtype", mvc_dtype_name(t->dtype), "reason", why,
		    "differed", (t->flags & MVC_AGGREGATE_TENSOR_DIFFERED) != 0));
	}
	for (size_t i = 0; i < o->nexclude; i++)
		json_array_append_new(excl, json_string(o->exclude[i]));
	params = json_pack("{s:s, s:o}", "int_policy", mvc_int_policy_name(o->int_policy),
	    "exclude", excl);
	switch (r->method) {
	case MVC_AGGREGATE_TRIMMED_MEAN:
		json_object_set_new(params, "trim", json_real(o->trim));
		json_object_set_new(params, "trimmed", json_integer((json_int_t)r->trimmed));
		break;
	case MVC_AGGREGATE_KRUM:
		json_object_set_new(params, "byzantine", json_integer(o->byzantine));
		break;
	case MVC_AGGREGATE_INTERPOLATE:
		json_object_set_new(params, "alpha", json_real(o->alpha));
		break;
	case MVC_AGGREGATE_TASK_ARITHMETIC:
		json_object_set_new(params, "lambda", json_real(o->lambda));
		break;
	default:
		break;
	}
	if (r->dp) {
		json_object_set_new(params, "clip", json_real(o->clip));
		json_object_set_new(params, "noise_multiplier", json_real(o->noise_multiplier));
		json_object_set_new(params, "noise_std", json_real(r->noise_std));
		json_object_set_new(params, "seeded", json_boolean(o->has_seed));
	}
	if (r->has_base) {
		json_decref(base);
		mvc_oid_fmt(hex, &r->base_id);
		base = json_pack("{s:s, s:s}", "rev", r->base_rev, "id", hex);
	}
	if (r->committed)
		mvc_oid_fmt(hex, &r->id);
	result = json_pack("{s:o, s:b, s:b, s:o}",
	    "id", r->committed ? json_string(hex) : json_null(), "dry_run", !r->committed,
	    "checked_out", r->checked_out,
	    "update_norm", r->has_base ? num(r->result_norm) : json_null());
	sum = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
	    "files", (json_int_t)r->summary.files, "tensors", (json_int_t)r->summary.tensors,
	    "tensors_combined", (json_int_t)r->summary.tensors_combined,
	    "chunks", (json_int_t)r->summary.chunks, "chunks_reused", (json_int_t)r->summary.chunks_reused,
	    "chunks_computed", (json_int_t)r->summary.chunks_computed,
	    "chunks_copied", (json_int_t)r->summary.chunks_copied,
	    "chunks_decoded", (json_int_t)r->summary.chunks_decoded,
	    "bytes", (json_int_t)r->summary.bytes);
	return json_print(json_pack("{s:i, s:s, s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:b, s:o, s:o}",
	    "schema", 1, "method", mvc_aggregate_method_name(r->method), "parameters", params,
	    "base", base, "norm_reference", r->norm_vs_base ? "base" : "result",
	    "inputs", inputs, "selected", r->has_selected ? json_integer((json_int_t)r->selected)
	                                                  : json_null(),
	    "result", result, "files", files, "dp", r->dp, "tensors", tensors, "summary", sum));
}

int cmd_aggregate(int argc, char **argv)
{
	mvc_aggregate_options o = MVC_AGGREGATE_OPTIONS_INIT;
	mvc_aggregate_result *r = NULL;
	mvc_repo *repo = NULL;
	mvc_key *key = NULL;
	char **paths = NULL;
	double *w = NULL;
	size_t npaths = 0, nw = 0;
	int nrevs, error, rc;

	opt_parse(&usage_aggregate, &argc, argv);
	nrevs = opt_dashdash >= 0 ? opt_dashdash : argc;
	if (nrevs == 0)
		return usage_error(&usage_aggregate, "name the versions to aggregate");
	if (method_arg && mvc_aggregate_method_from_name(&o.method, method_arg) < 0)
		return usage_error(&usage_aggregate,
		    "option '--method' takes fedavg, mean, median, trimmed-mean, krum, interpolate or "
		    "task-arithmetic, not '%s'", method_arg);
	if (policy_arg && mvc_int_policy_from_name(&o.int_policy, policy_arg) < 0)
		return usage_error(&usage_aggregate,
		    "option '--int-policy' takes first, max or error, not '%s'", policy_arg);
	/* options that belong to another method are a slip worth pointing out */
	if (trim_arg && o.method != MVC_AGGREGATE_TRIMMED_MEAN)
		return usage_error(&usage_aggregate, "--trim goes with --method trimmed-mean");
	if (byzantine != (unsigned long)-1 && o.method != MVC_AGGREGATE_KRUM)
		return usage_error(&usage_aggregate, "--byzantine goes with --method krum");
	if (o.method == MVC_AGGREGATE_KRUM && byzantine == (unsigned long)-1)
		return usage_error(&usage_aggregate,
		    "krum needs --byzantine <f>, the number of inputs that may be Byzantine");
	if (alpha_arg && o.method != MVC_AGGREGATE_INTERPOLATE)
		return usage_error(&usage_aggregate, "--alpha goes with --method interpolate");
	if (lambda_arg && o.method != MVC_AGGREGATE_TASK_ARITHMETIC)
		return usage_error(&usage_aggregate, "--lambda goes with --method task-arithmetic");
	if (seed_arg && !noise_arg)
		return usage_error(&usage_aggregate, "--seed goes with --noise-multiplier");
	if (byzantine != (unsigned long)-1) {
		if (byzantine > 1000000)
			return usage_error(&usage_aggregate, "--byzantine %lu is not a sensible count",
			    byzantine);
		o.byzantine = (unsigned)byzantine;
	}
	if (trim_arg)
		o.trim = number("trim", trim_arg);
	if (alpha_arg)
		o.alpha = number("alpha", alpha_arg);
	if (lambda_arg)
		o.lambda = number("lambda", lambda_arg);
	if (clip_arg)
		o.clip = number("clip", clip_arg);
	if (noise_arg)
		o.noise_multiplier = number("noise-multiplier", noise_arg);
	if (seed_arg) {
		char *end;

		errno = 0;
		o.seed = strtoull(seed_arg, &end, 10);
		if (errno || end == seed_arg || *end || seed_arg[0] == '-')
			return usage_error(&usage_aggregate,
			    "option '--seed' needs a non-negative integer, not '%s'", seed_arg);
		o.has_seed = 1;
	}
	if (weights_arg) {
		w = parse_weights(weights_arg, &nw);
		o.weights = w;
		o.nweights = nw;
	}
	o.base = base_arg;
	o.exclude = exclude.items;
	o.nexclude = exclude.count;
	o.dry_run = dry_run;
	o.checkout = !no_checkout;
	o.message = message;
	sign_opts_check(&usage_aggregate, &sign);
	if ((rc = open_repo(&repo)) != 0)
		goto done;
	if (!dry_run && (rc = sign_key_open(&key, repo, &sign)) != 0)
		goto done;
	o.signing_key = key;
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
	if ((error = mvc_aggregate(&r, repo, (const char *const *)argv, (size_t)nrevs,
	         (const char *const *)paths, npaths, &o)) < 0) {
		rc = fail(error);
		goto done;
	}
	if (json)
		rc = print_json(r, &o);
	else if (!quiet)
		rc = print_text(r, &o);
	else
		rc = EXIT_OK;
done:
	for (size_t i = 0; i < npaths; i++)
		free(paths[i]);
	free(paths);
	free(w);
	free(exclude.items);
	mvc_aggregate_result_free(r);
	mvc_key_free(key);
	mvc_repo_free(repo);
	return rc;
}
