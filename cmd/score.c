/* mvc score: evaluate a version, record the score in history, gate on it,
 * compare two versions. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli.h"

#define UNSET ((unsigned long)-1)

static const char *eval_name, *items, *users, *history, *test, *k_list, *file, *layers, *layout,
    *command, *source;
static struct opt_list records, mins, maxs;
static int dot, compare, fail_if_worse, dry_run, quiet, json;
static unsigned long resamples = UNSET, seed = UNSET;
static const char *const syn[] = {
	"[<rev>] --eval retrieval --items <name> (--users <name> | --history <file>) --test <file> [<options>]",
	"[<rev>] --eval classifier --test <file> [--layers <list>] [--layout <layout>] [<options>]",
	"[<rev>] --eval command --cmd <command> [--test <file>] [<options>]",
	"[<rev>] --record <metric>=<value>... [--source <name>] [<options>]",
	"--compare <rev-a> <rev-b> --eval <evaluator> ... [--resamples <n>] [--seed <n>] [--fail-if-worse]",
	"[<rev>] [--test <file>] [--min <metric>=<value>]... [--max <metric>=<value>]... [--json]",
	NULL };
static const struct opt opts[] = {
	{ "eval", 0, OPT_STRING, &eval_name, "<evaluator>", "retrieval, classifier or command" },
	{ "test", 0, OPT_STRING, &test, "<file>", "the held-out data, CSV (mvc-score(1))", "file" },
	{ "file", 0, OPT_STRING, &file, "<path>", "the tracked file of the model (default: any that has it)", "file" },
	{ "items", 0, OPT_STRING, &items, "<name>", "retrieval: the item vectors (items x d)" },
	{ "users", 0, OPT_STRING, &users, "<name>", "retrieval: the user vectors (a row per user id)" },
	{ "history", 0, OPT_STRING, &history, "<file>", "retrieval: past interactions: user vectors, items left out", "file" },
	{ "k", 0, OPT_STRING, &k_list, "<list>", "retrieval: cutoffs K, comma-separated (default 10,50)" },
	{ "dot", 0, OPT_FLAG, &dot, NULL, "retrieval: rank by dot product, not cosine" },
	{ "layers", 0, OPT_STRING, &layers, "<list>", "classifier: weight,bias,... (default: *.weight, *.bias)" },
	{ "layout", 0, OPT_STRING, &layout, "<layout>", "classifier: torch (out, in) or keras (in, out)" },
	{ "cmd", 0, OPT_STRING, &command, "<command>", "command: run this; {model} is the model file" },
	{ "record", 0, OPT_LIST, &records, "<metric>=<value>", "record a metric measured elsewhere" },
	{ "source", 0, OPT_STRING, &source, "<name>", "where the score comes from (offline, external)" },
	{ "min", 0, OPT_LIST, &mins, "<metric>=<value>", "exit 1 unless metric >= value (repeatable)" },
	{ "max", 0, OPT_LIST, &maxs, "<metric>=<value>", "exit 1 unless metric <= value (repeatable)" },
	{ "compare", 0, OPT_FLAG, &compare, NULL, "score two versions, compare by paired bootstrap" },
	{ "resamples", 0, OPT_UINT, &resamples, "<n>", "compare: bootstrap resamples (default 1000)" },
	{ "seed", 0, OPT_UINT, &seed, "<n>", "compare: seed of the resampling (default 1)" },
	{ "fail-if-worse", 0, OPT_FLAG, &fail_if_worse, NULL, "compare: exit 1 if B is significantly worse" },
	{ "dry-run", 'n', OPT_FLAG, &dry_run, NULL, "evaluate and check; record nothing" },
	{ "quiet", 'q', OPT_FLAG, &quiet, NULL, "print nothing on stdout" },
	{ "json", 0, OPT_FLAG, &json, NULL, "print JSON (schema in mvc-score(1))" },
	{ NULL }
};
const struct cmd_usage usage_score = { "score", syn, opts, "rev" };

static mvc_score_bound *bounds;
static size_t nbounds;

/* Check `s` against every bound; the misses on stderr.  1 if all are met. */
static int check(const mvc_score *s, json_t *checks)
{
	int ok = 1;

	for (size_t i = 0; i < nbounds; i++) {
		const mvc_score_bound *b = &bounds[i];
		const mvc_metric *m = s ? mvc_score_metric(s, b->metric) : NULL;
		int met = s && mvc_score_meets(s, b, 1, NULL);

		if (checks)
			json_array_append_new(checks, json_pack("{s:s, s:s, s:f, s:o, s:b}", "metric",
			    b->metric, "bound", b->max ? "max" : "min", "value", b->value,
			    "actual", m && !isnan(m->value) ? json_real(m->value) : json_null(),
			    "passed", met));
		if (met)
			continue;
		ok = 0;
		if (!m || isnan(m->value))
			fprintf(stderr, "mvc: %s: no value%s, so the %s %.6g is not met\n", b->metric,
			    s ? " in this score" : " recorded", b->max ? "maximum" : "minimum", b->value);
		else
			fprintf(stderr, "mvc: %s is %.6g, %s the %s %.6g\n", b->metric, m->value,
			    b->max ? "above" : "below", b->max ? "maximum" : "minimum", b->value);
	}
	return ok;
}

static void print_score(const mvc_score *s, int recorded)
{
	char hex[MVC_OID_HEXSZ + 1];
	size_t w = 6;

	mvc_oid_fmt(hex, &s->version);
	printf("version %.12s: %s", hex, s->evaluator);
	if (!strcmp(s->evaluator, "retrieval"))
		printf(" on %llu user%s (%llu skipped: no test items to rank)",
		    (unsigned long long)s->units, s->units == 1 ? "" : "s",
		    (unsigned long long)s->skipped);
	else if (!strcmp(s->evaluator, "classifier"))
		printf(" on %llu row%s", (unsigned long long)s->units, s->units == 1 ? "" : "s");
	if (s->test_digest)
		printf(", test data %.12s", s->test_digest);
	printf(", source %s\n", s->source);
	for (size_t i = 0; i < s->nmetrics; i++)
		if (strlen(s->metrics[i].name) > w)
			w = strlen(s->metrics[i].name);
	for (size_t i = 0; i < s->nmetrics; i++)
		printf("  %-*s  %.6g\n", (int)w, s->metrics[i].name, s->metrics[i].value);
	if (recorded)
		printf("recorded in %s\n", MVC_SCORE_NOTES_REF);
}

static int split_list(const char ***out, size_t *n, char *list)
{
	const char **v = NULL;
	size_t k = 0;

	for (char *p = list;; p++) {
		char *c = strchr(p, ',');
		const char **nv = realloc(v, (k + 2) * sizeof(char *));

		if (!nv) {
			free(v);
			return die_msg("out of memory");
		}
		v = nv;
		if (c)
			*c = '\0';
		v[k++] = p;
		if (!c)
			break;
		p = c;
	}
	*out = v;
	*n = k;
	return 0;
}

static int do_compare(mvc_repo *repo, mvc_score_options *o, const char *a, const char *b)
{
	mvc_compare_options co = MVC_COMPARE_OPTIONS_INIT;
	mvc_compare *c = NULL;
	json_t *checks = json ? json_array() : NULL, *ms = NULL;
	char ha[MVC_OID_HEXSZ + 1], hb[MVC_OID_HEXSZ + 1];
	int error, rc = EXIT_OK, ok;

	if (resamples != UNSET)
		co.resamples = (unsigned)resamples;
	if (seed != UNSET)
		co.seed = seed;
	if ((error = mvc_score_compare(&c, repo, a, b, o, &co)) < 0) {
		json_decref(checks);
		return fail(error);
	}
	if (!dry_run && ((error = mvc_score_record(repo, c->a)) < 0 ||
	                 (error = mvc_score_record(repo, c->b)) < 0)) {
		rc = fail(error);
		goto done;
	}
	ok = check(c->b, checks);
	mvc_oid_fmt(ha, &c->a->version);
	mvc_oid_fmt(hb, &c->b->version);
	if (json) {
		ms = json_array();
		for (size_t i = 0; i < c->count; i++) {
			const mvc_compare_metric *m = &c->metrics[i];

			json_array_append_new(ms, json_pack("{s:s, s:f, s:f, s:f, s:o, s:o, s:b, s:s}",
			    "name", m->name, "a", m->a, "b", m->b, "diff", m->diff,
			    "low", isnan(m->low) ? json_null() : json_real(m->low),
			    "high", isnan(m->high) ? json_null() : json_real(m->high),
			    "higher_is_better", m->higher_is_better, "verdict", mvc_verdict_name(m->verdict)));
		}
		if (!quiet)
			rc = json_print(json_pack("{s:i, s:o, s:o, s:I, s:I, s:I, s:f, s:o, s:s, s:b, s:O, s:b}",
			    "schema", 1, "a", score_json(c->a), "b", score_json(c->b),
			    "units", (json_int_t)c->units, "resamples", (json_int_t)c->resamples,
			    "seed", (json_int_t)c->seed, "confidence", c->confidence, "metrics", ms,
			    "verdict", mvc_verdict_name(c->verdict), "recorded", !dry_run,
			    "checks", checks, "passed", ok));
		else
			json_decref(ms);
	} else if (!quiet) {
		size_t w = 6;

		printf("A %.12s  B %.12s  %s on %llu %s, %u resamples (seed %llu), %g%% intervals\n",
		    ha, hb, c->a->evaluator, (unsigned long long)c->units,
		    !strcmp(c->a->evaluator, "retrieval") ? "users" : "rows", c->resamples,
		    (unsigned long long)c->seed, c->confidence * 100);
		for (size_t i = 0; i < c->count; i++)
			if (strlen(c->metrics[i].name) > w)
				w = strlen(c->metrics[i].name);
		printf("  %-*s  %10s  %10s  %10s  %-23s  %s\n", (int)w, "metric", "A", "B", "B-A",
		    "interval", "verdict");
		for (size_t i = 0; i < c->count; i++) {
			const mvc_compare_metric *m = &c->metrics[i];
			char iv[64];

			snprintf(iv, sizeof(iv), "[%+.4g, %+.4g]", m->low, m->high);
			printf("  %-*s  %10.6g  %10.6g  %+10.4g  %-23s  %s%s\n", (int)w, m->name, m->a, m->b,
			    m->diff, iv, mvc_verdict_name(m->verdict),
			    m->higher_is_better ? "" : " (lower is better)");
		}
		printf("B is %s\n", c->verdict == MVC_VERDICT_BETTER ? "significantly better than A"
		                  : c->verdict == MVC_VERDICT_WORSE ? "significantly worse than A"
		                  : "neither significantly better nor worse than A");
		if (!dry_run)
			printf("recorded in %s\n", MVC_SCORE_NOTES_REF);
	}
	if (rc == EXIT_OK && (!ok || (fail_if_worse && c->verdict == MVC_VERDICT_WORSE))) {
		if (fail_if_worse && c->verdict == MVC_VERDICT_WORSE)
			fprintf(stderr, "mvc: %.12s is significantly worse than %.12s\n", hb, ha);
		rc = EXIT_NO;
	}
done:
	json_decref(checks);
	mvc_compare_free(c);
	return rc;
}

/* The recorded scores of `rev`, and the bounds checked on their newest values. */
static int do_show(mvc_repo *repo, const char *rev)
{
	mvc_version *v = NULL;
	mvc_score_list *l = NULL;
	mvc_score *latest = NULL;
	char hex[MVC_OID_HEXSZ + 1], digest[MVC_DIGEST_HEXSZ + 1];
	json_t *checks = json ? json_array() : NULL, *list = NULL;
	int error, rc = EXIT_OK, ok;

	if ((test && (error = mvc_score_file_digest(digest, test)) < 0) ||
	    (error = mvc_version_lookup(&v, repo, rev)) < 0 ||
	    (error = mvc_score_list_read(&l, repo, mvc_version_id(v))) < 0) {
		rc = fail(error);
		goto done;
	}
	if ((error = mvc_score_latest(&latest, l, test ? digest : NULL)) < 0 &&
	    error != MVC_ENOTFOUND) {
		rc = fail(error);
		goto done;
	}
	mvc_error_clear();
	ok = check(latest, checks);
	mvc_oid_fmt(hex, mvc_version_id(v));
	if (json) {
		list = json_array();
		for (size_t i = 0; i < l->count; i++) {
			const mvc_score *s = &l->scores[i];

			if (!test || (s->test_digest && !strcmp(s->test_digest, digest)))
				json_array_append_new(list, score_json(s));
		}
		if (!quiet)
			rc = json_print(json_pack("{s:i, s:s, s:o, s:o, s:O, s:b}", "schema", 1, "version", hex,
			    "scores", list, "latest", latest ? score_json(latest) : json_null(),
			    "checks", checks, "passed", ok));
		else
			json_decref(list);
	} else if (!quiet) {
		size_t shown = 0;

		for (size_t i = 0; i < l->count; i++) {
			const mvc_score *s = &l->scores[i];

			if (test && (!s->test_digest || strcmp(s->test_digest, digest)))
				continue;
			print_score_line(s);
			shown++;
		}
		if (!shown)
			printf("version %.12s has no recorded scores%s\n", hex, test ? " on that data" : "");
	}
	if (rc == EXIT_OK && !ok)
		rc = EXIT_NO;
done:
	json_decref(checks);
	mvc_score_free(latest);
	mvc_score_list_free(l);
	mvc_version_free(v);
	return rc;
}

int cmd_score(int argc, char **argv)
{
	mvc_score_options o = MVC_SCORE_OPTIONS_INIT;
	mvc_repo *repo = NULL;
	mvc_score *s = NULL;
	const char **layer_names = NULL, **names = NULL;
	unsigned ks[MVC_SCORE_MAX_KS];
	double *values = NULL;
	char *kcopy = NULL, *lcopy = NULL;
	size_t nlayer = 0;
	int error, rc = EXIT_ERR, ok;
	json_t *checks = NULL;

	opt_parse(&usage_score, &argc, argv);
	if (quiet && json)
		return usage_error(&usage_score, "--quiet and --json cannot be used together");
	if (compare && argc != 2)
		return usage_error(&usage_score, "--compare takes two versions, A then B");
	if (!compare && argc > 1)
		return usage_error(&usage_score, "too many arguments: one version at most");
	if (!compare && (resamples != UNSET || seed != UNSET || fail_if_worse))
		return usage_error(&usage_score, "--resamples, --seed and --fail-if-worse go with --compare");
	if (compare && !eval_name)
		return usage_error(&usage_score, "--compare needs an evaluator (--eval)");
	if (records.count && (eval_name || compare))
		return usage_error(&usage_score, "--record records a metric measured elsewhere: no --eval");
	if (resamples == 0)
		return usage_error(&usage_score, "--resamples needs at least 1");
	if (!eval_name && !records.count) {
		if (items || users || history || k_list || dot || layers || layout || command || file ||
		    source || dry_run)
			return usage_error(&usage_score, "evaluator options without --eval");
	}
	if (!(bounds = calloc(mins.count + maxs.count + 1, sizeof(*bounds))))
		return die_msg("out of memory");
	for (size_t i = 0; i < mins.count + maxs.count; i++) {
		int max = i >= mins.count;

		if (mvc_score_bound_parse(&bounds[nbounds], max ? maxs.items[i - mins.count] : mins.items[i],
		        max) < 0)
			return usage_error(&usage_score, "--%s: %s", max ? "max" : "min", mvc_error_last());
		nbounds++;
	}
	if (eval_name && mvc_eval_from_name(&o.eval, eval_name) < 0)
		return usage_error(&usage_score, "%s", mvc_error_last());
	if (eval_name && o.eval == MVC_EVAL_RECORD)
		return usage_error(&usage_score, "--eval record: use --record <metric>=<value>");
	if (eval_name && o.eval != MVC_EVAL_RETRIEVAL && (items || users || history || k_list || dot))
		return usage_error(&usage_score, "--items, --users, --history, --k and --dot are for "
		    "--eval retrieval");
	if (eval_name && o.eval != MVC_EVAL_CLASSIFIER && (layers || layout))
		return usage_error(&usage_score, "--layers and --layout are for --eval classifier");
	if (eval_name && o.eval != MVC_EVAL_COMMAND && command)
		return usage_error(&usage_score, "--cmd is for --eval command");
	if (o.eval == MVC_EVAL_RETRIEVAL && eval_name && (!items || (!users && !history) || !test))
		return usage_error(&usage_score, "--eval retrieval needs --items, --users or --history, "
		    "and --test");
	if (o.eval == MVC_EVAL_CLASSIFIER && !test)
		return usage_error(&usage_score, "--eval classifier needs --test");
	if (o.eval == MVC_EVAL_COMMAND && !command)
		return usage_error(&usage_score, "--eval command needs --cmd");
	if (k_list) {
		const char **kv = NULL;
		size_t nk = 0;

		if (!(kcopy = strdup(k_list)) || split_list(&kv, &nk, kcopy) != 0)
			return die_msg("out of memory");
		if (nk > MVC_SCORE_MAX_KS) {
			free(kv);
			return usage_error(&usage_score, "--k: at most %d cutoffs", MVC_SCORE_MAX_KS);
		}
		for (size_t i = 0; i < nk; i++) {
			char *end;
			unsigned long k = strtoul(kv[i], &end, 10);

			if (!*kv[i] || *end || kv[i][0] == '-' || k < 1 || k > MVC_SCORE_MAX_K)
				return usage_error(&usage_score,
				    "--k: '%s' is not a cutoff from 1 to %d", kv[i], MVC_SCORE_MAX_K);
			ks[i] = (unsigned)k;
		}
		free(kv);
		o.k = ks;
		o.nk = nk;
	}
	if (layers) {
		if (!(lcopy = strdup(layers)) || split_list(&layer_names, &nlayer, lcopy) != 0)
			return die_msg("out of memory");
		o.layers = layer_names;
		o.nlayers = nlayer;
	}
	if (layout) {
		if (!strcmp(layout, "torch"))
			o.layout = MVC_WEIGHTS_TORCH;
		else if (!strcmp(layout, "keras"))
			o.layout = MVC_WEIGHTS_KERAS;
		else
			return usage_error(&usage_score, "--layout is torch or keras, not '%s'", layout);
	}
	if (records.count) {
		o.eval = MVC_EVAL_RECORD;
		if (!(names = calloc(records.count, sizeof(char *))) ||
		    !(values = calloc(records.count, sizeof(double))))
			return die_msg("out of memory");
		for (size_t i = 0; i < records.count; i++) {
			mvc_score_bound b;

			if (mvc_score_bound_parse(&b, records.items[i], 0) < 0)
				return usage_error(&usage_score, "--record: %s", mvc_error_last());
			names[i] = records.items[i];
			*strrchr((char *)records.items[i], '=') = '\0';
			values[i] = b.value;
		}
		o.names = names;
		o.values = values;
		o.nvalues = records.count;
	}
	o.file = file;
	o.test = test;
	o.items = items;
	o.users = users;
	o.history = history;
	o.dot = dot;
	o.command = command;
	o.source = source;
	if ((rc = open_repo(&repo)) != 0)
		goto out;
	if (file) {
		char *rel = NULL;

		/* a path as the user types it, relative to here */
		if ((error = mvc_repo_relpath(&rel, repo, file)) < 0) {
			rc = fail(error);
			goto out;
		}
		o.file = rel;
	}
	if (compare) {
		rc = do_compare(repo, &o, argv[0], argv[1]);
		goto out;
	}
	if (!eval_name && !records.count) {
		rc = do_show(repo, argc ? argv[0] : "HEAD");
		goto out;
	}
	if ((error = mvc_score_eval(&s, repo, argc ? argv[0] : "HEAD", &o)) < 0) {
		rc = fail(error);
		goto out;
	}
	if (!dry_run && (error = mvc_score_record(repo, s)) < 0) {
		rc = fail(error);
		goto out;
	}
	checks = json ? json_array() : NULL;
	ok = check(s, checks);
	rc = EXIT_OK;
	if (json) {
		char hex[MVC_OID_HEXSZ + 1];

		mvc_oid_fmt(hex, &s->version);
		rc = json_print(json_pack("{s:i, s:s, s:o, s:b, s:O, s:b}", "schema", 1, "version", hex,
		    "score", score_json(s), "recorded", !dry_run, "checks", checks, "passed", ok));
	} else if (!quiet) {
		print_score(s, !dry_run);
	}
	if (rc == EXIT_OK && !ok)
		rc = EXIT_NO;
out:
	if (o.file != file)
		free((char *)o.file);
	json_decref(checks);
	mvc_score_free(s);
	free(names);
	free(values);
	free(layer_names);
	free(kcopy);
	free(lcopy);
	free(bounds);
	mvc_repo_free(repo);
	return rc;
}
