/*
 * mvc score: evaluation dispatched to lib/eval_*.c, and scores recorded
 * as git notes on a version's root tree (see include/mvc/score.h).
 *
 * A note holds one JSON object per line, in this key order:
 *
 *   {"metrics":{"recall@10":0.25,...},"evaluator":"retrieval",
 *    "options":{...},"data":{"test":"<blake2b hex>",...},"n":900,
 *    "skipped":100,"time":1767225600,"source":"offline",
 *    "version":"<commit id>"}
 *
 * Numbers are written in the shortest form that reads back as the same
 * double.  Lines are only ever appended, so `git notes merge -s
 * cat_sort_uniq` merges two histories of the same notes ref; readers go
 * by "time", never by line order.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include "eval.h"
#include "move.h"
#include "pool.h"
#include "upkeep.h"

/* The most scores read from one note (untrusted: notes are fetched). */
#define MAX_SCORES 100000

const char *mvc_eval_name(mvc_eval e)
{
	switch (e) {
	case MVC_EVAL_RETRIEVAL: return "retrieval";
	case MVC_EVAL_CLASSIFIER: return "classifier";
	case MVC_EVAL_COMMAND: return "command";
	case MVC_EVAL_RECORD: return "record";
	}
	return "?";
}

int mvc_eval_from_name(mvc_eval *out, const char *name)
{
	for (int e = MVC_EVAL_RETRIEVAL; e <= MVC_EVAL_RECORD; e++)
		if (name && !strcmp(name, mvc_eval_name((mvc_eval)e))) {
			*out = (mvc_eval)e;
			return 0;
		}
	return mvc__err(MVC_EINVALID,
	    "unknown evaluator '%s' (retrieval, classifier or command)", name ? name : "");
}

const char *mvc_verdict_name(mvc_verdict v)
{
	switch (v) {
	case MVC_VERDICT_BETTER: return "better";
	case MVC_VERDICT_WORSE: return "worse";
	default: return "neither";
	}
}

/* ---- scores in memory ---- */

void mvc_score_free(mvc_score *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nmetrics; i++)
		free(s->metrics[i].name);
	free(s->metrics);
	free(s->evaluator);
	free(s->source);
	free(s->options);
	free(s->data);
	free(s->test_digest);
	free(s);
}

/* The fields of a score, freed (for scores held in an array). */
static void score_clear(mvc_score *s)
{
	for (size_t i = 0; i < s->nmetrics; i++)
		free(s->metrics[i].name);
	free(s->metrics);
	free(s->evaluator);
	free(s->source);
	free(s->options);
	free(s->data);
	free(s->test_digest);
	memset(s, 0, sizeof(*s));
}

int mvc__score_add(mvc_score *s, const char *name, double value)
{
	mvc_metric *m;

	for (size_t i = 0; i < s->nmetrics; i++)
		if (!strcmp(s->metrics[i].name, name)) {
			s->metrics[i].value = value;
			return 0;
		}
	if (!(m = realloc(s->metrics, (s->nmetrics + 1) * sizeof(*m))))
		return mvc__err(MVC_ENOMEM, "out of memory");
	s->metrics = m;
	if (!(m[s->nmetrics].name = mvc__strdup(name)))
		return MVC_ENOMEM;
	m[s->nmetrics++].value = value;
	return 0;
}

const mvc_metric *mvc_score_metric(const mvc_score *s, const char *name)
{
	for (size_t i = 0; s && i < s->nmetrics; i++)
		if (!strcmp(s->metrics[i].name, name))
			return &s->metrics[i];
	return NULL;
}

int mvc_metric_higher_is_better(const char *name)
{
	size_t n = strlen(name);

	if (!strcasecmp(name, "logloss") || !strcasecmp(name, "log_loss"))
		return 0;
	if ((n >= 4 && !strcasecmp(name + n - 4, "loss")) ||
	    (n >= 5 && !strcasecmp(name + n - 5, "error")))
		return 0;
	return 1;
}

void mvc__evres_clear(mvc__evres *r)
{
	mvc_score_free(r->s);
	free(r->per_unit);
	free(r->z);
	free(r->label);
	memset(r, 0, sizeof(*r));
}

static int source_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > MVC_METRIC_NAME_MAX)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      strchr("_@.:/+-", *s)))
			return 0;
	return 1;
}

int mvc__score_new(mvc_score **out, const mvc__evctx *c, const char *evaluator)
{
	const char *src = c->o->source ? c->o->source
	                               : c->o->eval == MVC_EVAL_RECORD ? "external" : "offline";
	mvc_score *s = mvc__calloc(1, sizeof(*s));

	*out = NULL;
	if (!s)
		return MVC_ENOMEM;
	mvc__oid_from_git(&s->version, git_commit_id(c->commit));
	mvc__oid_from_git(&s->tree, git_commit_tree_id(c->commit));
	s->time = (int64_t)time(NULL);
	if (!(s->evaluator = mvc__strdup(evaluator)) || !(s->source = mvc__strdup(src))) {
		mvc_score_free(s);
		return MVC_ENOMEM;
	}
	*out = s;
	return 0;
}

/* ---- evaluating ---- */

static int check_options(const mvc_score_options *o)
{
	char q[MVC_QUOTE_MAX];

	if (!o || o->version != MVC_SCORE_OPTIONS_VERSION)
		return mvc__err(MVC_EINVALID, "bad score options version");
	if (o->eval < MVC_EVAL_RETRIEVAL || o->eval > MVC_EVAL_RECORD)
		return mvc__err(MVC_EINVALID, "unknown evaluator");
	if (o->source && !source_ok(o->source))
		return mvc__err(MVC_EINVALID,
		    "bad source '%s': 1 to %d letters, digits and _@.:/+-",
		    mvc_quote(q, sizeof(q), o->source), MVC_METRIC_NAME_MAX);
	if (o->eval == MVC_EVAL_RECORD) {
		if (!o->nvalues)
			return mvc__err(MVC_EINVALID, "no metric to record");
		for (size_t i = 0; i < o->nvalues; i++) {
			if (!o->names[i] || !mvc__metric_name_ok(o->names[i]))
				return mvc__err(MVC_EINVALID,
				    "bad metric name '%s': 1 to %d letters, digits and _@.:/+-",
				    mvc_quote(q, sizeof(q), o->names[i] ? o->names[i] : ""),
				    MVC_METRIC_NAME_MAX);
			if (!isfinite(o->values[i]))
				return mvc__err(MVC_EINVALID, "metric '%s' is not a finite number",
				    o->names[i]);
			for (size_t j = 0; j < i; j++)
				if (!strcmp(o->names[i], o->names[j]))
					return mvc__err(MVC_EINVALID, "metric '%s' is given twice", o->names[i]);
		}
		if (o->items || o->users || o->history || o->test || o->layers || o->command || o->k)
			return mvc__err(MVC_EINVALID, "recording a metric evaluates nothing: no evaluator options");
	}
	return 0;
}

static int ctx_open(mvc__evctx *c, mvc_repo *repo, const char *rev, const mvc_score_options *o)
{
	int error;

	memset(c, 0, sizeof(*c));
	c->repo = repo;
	c->git = mvc__repo_git(repo);
	c->rev = rev;
	c->o = o;
	c->nthreads = o->threads ? o->threads : mvc__pool_threads();
	if ((error = mvc__resolve(&c->commit, c->git, rev)) < 0)
		return error;
	if (git_commit_tree(&c->root, c->commit) < 0)
		return mvc__err_git(MVC_ECORRUPT, "cannot read version '%s'", rev);
	return 0;
}

static void ctx_close(mvc__evctx *c)
{
	git_tree_free(c->root);
	git_commit_free(c->commit);
	memset(c, 0, sizeof(*c));
}

static int eval_one(mvc__evres *out, mvc__evctx *c)
{
	const mvc_score_options *o = c->o;
	int error;

	memset(out, 0, sizeof(*out));
	switch (o->eval) {
	case MVC_EVAL_RETRIEVAL:
		return mvc__eval_retrieval(out, c);
	case MVC_EVAL_CLASSIFIER:
		return mvc__eval_classifier(out, c);
	case MVC_EVAL_COMMAND:
		return mvc__eval_command(out, c);
	case MVC_EVAL_RECORD:
		if ((error = mvc__score_new(&out->s, c, "record")) < 0)
			return error;
		for (size_t i = 0; i < o->nvalues; i++)
			if ((error = mvc__score_add(out->s, o->names[i], o->values[i])) < 0)
				return error;
		if (!(out->s->options = mvc__strdup("{}")) || !(out->s->data = mvc__strdup("{}")))
			return MVC_ENOMEM;
		return 0;
	}
	return mvc__err(MVC_EINVALID, "unknown evaluator");
}

int mvc__score_eval_units(mvc__evres *out, mvc_repo *repo, const char *rev,
                          const mvc_score_options *o, int keep_units)
{
	mvc__evctx c;
	int error;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	if ((error = check_options(o)) < 0 || (error = ctx_open(&c, repo, rev, o)) < 0)
		goto done;
	c.keep_units = keep_units;
	error = eval_one(out, &c);
done:
	ctx_close(&c);
	/* a version whose data mvc prune dropped says so */
	error = mvc__prune_explain_rev(error, repo, rev);
	if (error < 0)
		mvc__evres_clear(out);
	return error;
}

int mvc_score_eval(mvc_score **out, mvc_repo *repo, const char *rev, const mvc_score_options *o)
{
	mvc__evres r;
	int error;

	*out = NULL;
	if ((error = mvc__score_eval_units(&r, repo, rev, o, 0)) < 0)
		return error;
	*out = r.s;
	r.s = NULL;
	mvc__evres_clear(&r);
	return 0;
}

/* ---- the note's lines ---- */

/* The shortest decimal that reads back as the same double. */
static void fmt_num(char *buf, size_t n, double v)
{
	for (int p = 6; p <= 17; p++) {
		snprintf(buf, n, "%.*g", p, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

static int json_str(mvc_buf *b, const char *s)
{
	json_t *j = json_string(s);
	char *t = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
	int error;

	json_decref(j);
	if (!t)
		return mvc__err(MVC_EINVALID, "a string that is not UTF-8");
	error = mvc_buf_puts(b, t);
	free(t);
	return error;
}

static int score_line(mvc_buf *b, const mvc_score *s)
{
	char num[64], hex[MVC_OID_HEXSZ + 1];
	int error = mvc_buf_puts(b, "{\"metrics\":{");

	for (size_t i = 0; !error && i < s->nmetrics; i++) {
		if (!isfinite(s->metrics[i].value))
			return mvc__err(MVC_EINVALID, "metric '%s' is not a finite number",
			    s->metrics[i].name);
		fmt_num(num, sizeof(num), s->metrics[i].value);
		if ((error = mvc_buf_puts(b, i ? "," : "")) < 0 ||
		    (error = json_str(b, s->metrics[i].name)) < 0)
			return error;
		error = mvc_buf_printf(b, ":%s", num);
	}
	mvc_oid_fmt(hex, &s->version);
	if (error < 0 || (error = mvc_buf_puts(b, "},\"evaluator\":")) < 0 ||
	    (error = json_str(b, s->evaluator)) < 0 ||
	    (error = mvc_buf_printf(b, ",\"options\":%s,\"data\":%s,\"n\":%llu,\"skipped\":%llu,"
	         "\"time\":%lld,\"source\":", s->options ? s->options : "{}",
	         s->data ? s->data : "{}", (unsigned long long)s->units,
	         (unsigned long long)s->skipped, (long long)s->time)) < 0 ||
	    (error = json_str(b, s->source)) < 0 ||
	    (error = mvc_buf_printf(b, ",\"version\":\"%s\"}\n", hex)) < 0)
		return error;
	return 0;
}

static char *dump(json_t *j)
{
	return j ? json_dumps(j, JSON_COMPACT) : mvc__strdup("{}");
}

/* One line of a note; 1 (nothing set) when it is not a score. */
static int parse_line(mvc_score *s, const char *line, size_t len, const git_oid *tree)
{
	json_t *j = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL), *m, *v, *o, *d;
	const char *key, *ev, *src, *ver;
	json_int_t t;
	int error = 1;

	memset(s, 0, sizeof(*s));
	if (!j || !json_is_object(j) || !json_is_object(m = json_object_get(j, "metrics")) ||
	    !json_is_string(v = json_object_get(j, "evaluator")) ||
	    !json_is_integer(json_object_get(j, "time")))
		goto done;
	ev = json_string_value(v);
	t = json_integer_value(json_object_get(j, "time"));
	src = json_is_string(v = json_object_get(j, "source")) ? json_string_value(v) : "offline";
	o = json_object_get(j, "options");
	d = json_object_get(j, "data");
	if ((o && !json_is_object(o)) || (d && !json_is_object(d)))
		goto done;
	json_object_foreach(m, key, v) {
		if (!mvc__metric_name_ok(key) || !json_is_number(v) || !isfinite(json_number_value(v)))
			goto done;
	}
	s->time = (int64_t)t;
	mvc__oid_from_git(&s->tree, tree);
	if ((ver = json_string_value(json_object_get(j, "version"))) && strlen(ver) == MVC_OID_HEXSZ) {
		git_oid id;

		if (git_oid_fromstr(&id, ver) == 0)
			mvc__oid_from_git(&s->version, &id);
	}
	if (json_is_integer(v = json_object_get(j, "n")) && json_integer_value(v) >= 0)
		s->units = (uint64_t)json_integer_value(v);
	if (json_is_integer(v = json_object_get(j, "skipped")) && json_integer_value(v) >= 0)
		s->skipped = (uint64_t)json_integer_value(v);
	if (!(s->evaluator = mvc__strdup(ev)) || !(s->source = mvc__strdup(src)) ||
	    !(s->options = dump(o)) || !(s->data = dump(d))) {
		error = MVC_ENOMEM;
		goto done;
	}
	if (d && json_is_string(v = json_object_get(d, "test")) &&
	    !(s->test_digest = mvc__strdup(json_string_value(v)))) {
		error = MVC_ENOMEM;
		goto done;
	}
	json_object_foreach(m, key, v) {
		if ((error = mvc__score_add(s, key, json_number_value(v))) < 0)
			goto done;
	}
	error = 0;
done:
	json_decref(j);
	if (error)
		score_clear(s);
	return error;
}

/* ---- the notes ref ---- */

/* The note on `tree` in the notes commit `tip` ("" when there is none). */
static int note_text(char **out, git_repository *git, git_commit *tip, const git_oid *tree)
{
	git_note *note = NULL;
	int rc;

	*out = NULL;
	if (!tip)
		return (*out = mvc__strdup("")) ? 0 : MVC_ENOMEM;
	rc = git_note_commit_read(&note, git, tip, tree);
	if (rc == GIT_ENOTFOUND) {
		git_error_clear();
		return (*out = mvc__strdup("")) ? 0 : MVC_ENOMEM;
	}
	if (rc < 0)
		return mvc__err_git(MVC_ECORRUPT, "cannot read the scores (%s)", MVC_SCORE_NOTES_REF);
	*out = mvc__strdup(git_note_message(note));
	git_note_free(note);
	return *out ? 0 : MVC_ENOMEM;
}

static int notes_tip(git_commit **out, git_oid *id, git_repository *git)
{
	int rc;

	*out = NULL;
	rc = git_reference_name_to_id(id, git, MVC_SCORE_NOTES_REF);
	if (rc == GIT_ENOTFOUND) {
		git_error_clear();
		return 0;
	}
	if (rc < 0 || git_commit_lookup(out, git, id) < 0)
		return mvc__err_git(MVC_ECORRUPT, "cannot read %s", MVC_SCORE_NOTES_REF);
	return 0;
}

int mvc_score_record(mvc_repo *repo, const mvc_score *s)
{
	git_repository *git = mvc__repo_git(repo);
	git_signature *sig = NULL;
	mvc_buf line = MVC_BUF_INIT, text = MVC_BUF_INIT;
	git_oid tree, tipid, nc, blob;
	int error = 0;

	if (!s || !s->evaluator || !s->source || !s->nmetrics)
		return mvc__err(MVC_EINVALID, "nothing to record");
	mvc__oid_to_git(&tree, &s->tree);
	if ((error = score_line(&line, s)) < 0)
		goto done;
	if (mvc__signature(&sig, git) < 0) {
		error = mvc__err_git(MVC_ERROR, "cannot record the score");
		goto done;
	}
	for (unsigned attempt = 0;; attempt++) {
		git_commit *tip = NULL;
		git_reference *ref = NULL;
		char *old = NULL;
		int rc;

		if ((error = notes_tip(&tip, &tipid, git)) < 0 ||
		    (error = note_text(&old, git, tip, &tree)) < 0) {
			git_commit_free(tip);
			goto done;
		}
		text.len = 0;
		if ((error = mvc_buf_puts(&text, old)) < 0 ||
		    (text.len && text.ptr[text.len - 1] != '\n' && (error = mvc_buf_puts(&text, "\n")) < 0) ||
		    (error = mvc_buf_put(&text, line.ptr, line.len)) < 0) {
			free(old);
			git_commit_free(tip);
			goto done;
		}
		free(old);
		if (git_note_commit_create(&nc, &blob, git, tip, sig, sig, &tree, text.ptr, 1) < 0) {
			git_commit_free(tip);
			error = mvc__err_git(MVC_EIO, "cannot record the score");
			goto done;
		}
		/* compare and swap: another process may have recorded meanwhile */
		rc = tip ? git_reference_create_matching(&ref, git, MVC_SCORE_NOTES_REF, &nc, 1, &tipid,
		               "mvc score")
		         : git_reference_create(&ref, git, MVC_SCORE_NOTES_REF, &nc, 0, "mvc score");
		git_commit_free(tip);
		git_reference_free(ref);
		if (rc == 0)
			break;
		if ((rc != GIT_EEXISTS && rc != GIT_EMODIFIED && rc != GIT_ELOCKED) ||
		    attempt + 1 >= MVC_CAS_ATTEMPTS) {
			error = mvc__err_git(rc == GIT_EEXISTS || rc == GIT_EMODIFIED || rc == GIT_ELOCKED
			                         ? MVC_ECONFLICT : MVC_EIO,
			    "cannot update %s", MVC_SCORE_NOTES_REF);
			goto done;
		}
		git_error_clear();
		mvc__backoff(attempt + 1);
	}
done:
	git_signature_free(sig);
	mvc_buf_free(&line);
	mvc_buf_free(&text);
	return error;
}

void mvc_score_list_free(mvc_score_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->count; i++)
		score_clear(&l->scores[i]);
	free(l->scores);
	free(l);
}

/* The scores of tree `tree` in the notes as they are now. */
static int list_tree(mvc_score_list **out, git_repository *git, const git_oid *tree)
{
	mvc_score_list *l = mvc__calloc(1, sizeof(*l));
	git_commit *tip = NULL;
	git_oid tipid;
	char *text = NULL;
	size_t cap = 0;
	int error;

	*out = NULL;
	if (!l)
		return MVC_ENOMEM;
	if ((error = notes_tip(&tip, &tipid, git)) < 0 ||
	    (error = note_text(&text, git, tip, tree)) < 0)
		goto done;
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		mvc_score s;

		if (len == 0 || strspn(p, " \t\r") >= len) {
			p += len + (nl != NULL);
			continue;
		}
		if (len > MVC_SCORE_LINE_MAX || l->count >= MAX_SCORES ||
		    (error = parse_line(&s, p, len, tree)) == 1) {
			l->invalid++;
			error = 0;
		} else if (error < 0) {
			goto done;
		} else {
			if (l->count == cap) {
				size_t nc = cap ? 2 * cap : 4;
				mvc_score *ns = realloc(l->scores, nc * sizeof(*ns));

				if (!ns) {
					score_clear(&s);
					error = mvc__err(MVC_ENOMEM, "out of memory");
					goto done;
				}
				l->scores = ns;
				cap = nc;
			}
			l->scores[l->count++] = s;
		}
		p += len + (nl != NULL);
	}
	*out = l;
	l = NULL;
done:
	free(text);
	git_commit_free(tip);
	mvc_score_list_free(l);
	return error;
}

static int commit_tree(git_oid *tree, git_repository *git, const git_oid *commit)
{
	git_commit *c = NULL;
	char hex[MVC_OID_HEXSZ + 1];

	if (git_commit_lookup(&c, git, commit) < 0) {
		git_oid_tostr(hex, sizeof(hex), commit);
		return mvc__err_git(MVC_ENOTFOUND, "no version %.12s", hex);
	}
	git_oid_cpy(tree, git_commit_tree_id(c));
	git_commit_free(c);
	return 0;
}

int mvc_score_list_read(mvc_score_list **out, mvc_repo *repo, const mvc_oid *version)
{
	git_repository *git = mvc__repo_git(repo);
	git_oid id, tree;
	int error;

	*out = NULL;
	mvc__oid_to_git(&id, version);
	if ((error = commit_tree(&tree, git, &id)) < 0)
		return error;
	return list_tree(out, git, &tree);
}

static bool qualifies(const mvc_score *s, const char *digest)
{
	return !digest || (s->test_digest && !strcmp(s->test_digest, digest));
}

/* One metric of one score of a list: where it is, and (for the first of
 * its name) the newest value of that name. */
typedef struct metric_ref {
	const char *name;
	size_t score, k;
	double value;
} metric_ref;

/* By position in the list: score, then metric. */
static int cmp_metric_pos(const void *a, const void *b)
{
	const metric_ref *x = a, *y = b;

	if (x->score != y->score)
		return x->score < y->score ? -1 : 1;
	return (x->k > y->k) - (x->k < y->k);
}

static int cmp_metric_ref(const void *a, const void *b)
{
	int c = strcmp(((const metric_ref *)a)->name, ((const metric_ref *)b)->name);

	return c ? c : cmp_metric_pos(a, b);
}

/*
 * Into r, every metric of the qualifying scores of l, in order of first
 * appearance, each with its newest value (a later line wins a tie in
 * time).  Sorted, not searched metric by metric: notes come from
 * remotes, and a note of 100,000 lines of one metric each took 77 s of
 * CPU that way (0.25 s now), on every read of a version's scores.
 */
static int newest_metrics(mvc_score *r, const mvc_score_list *l, const char *digest)
{
	metric_ref *v;
	size_t n = 0, groups = 0;
	int error = 0;

	for (size_t i = 0; i < l->count; i++)
		if (qualifies(&l->scores[i], digest))
			n += l->scores[i].nmetrics;
	if (!n)
		return 0;
	if (!(v = mvc__calloc(n, sizeof(*v))) ||
	    !(r->metrics = mvc__calloc(n, sizeof(*r->metrics)))) {
		free(v);
		return MVC_ENOMEM;
	}
	n = 0;
	for (size_t i = 0; i < l->count; i++) {
		if (!qualifies(&l->scores[i], digest))
			continue;
		for (size_t k = 0; k < l->scores[i].nmetrics; k++) {
			v[n].name = l->scores[i].metrics[k].name;
			v[n].score = i;
			v[n++].k = k;
		}
	}
	/* runs of one name, each in list order: the first appearance keeps
	 * the newest value of the run */
	qsort(v, n, sizeof(*v), cmp_metric_ref);
	for (size_t a = 0, b; a < n; a = b) {
		size_t best = a;

		for (b = a + 1; b < n && !strcmp(v[b].name, v[a].name); b++)
			if (l->scores[v[b].score].time >= l->scores[v[best].score].time)
				best = b;
		v[groups] = v[a];
		v[groups++].value = l->scores[v[best].score].metrics[v[best].k].value;
	}
	qsort(v, groups, sizeof(*v), cmp_metric_pos);
	for (size_t g = 0; g < groups && !error; g++) {
		if (!(r->metrics[g].name = mvc__strdup(v[g].name)))
			error = MVC_ENOMEM;
		else
			r->metrics[r->nmetrics++].value = v[g].value;
	}
	free(v);
	return error;
}

int mvc_score_latest(mvc_score **out, const mvc_score_list *l, const char *digest)
{
	const mvc_score *newest = NULL;
	mvc_score *r;
	int error;

	*out = NULL;
	for (size_t i = 0; i < l->count; i++)
		if (qualifies(&l->scores[i], digest) && (!newest || l->scores[i].time >= newest->time))
			newest = &l->scores[i];
	if (!newest)
		return mvc__err(MVC_ENOTFOUND, "no recorded score%s", digest ? " on that data" : "");
	if (!(r = mvc__calloc(1, sizeof(*r))))
		return MVC_ENOMEM;
	r->version = newest->version;
	r->tree = newest->tree;
	r->time = newest->time;
	r->units = newest->units;
	r->skipped = newest->skipped;
	if (!(r->evaluator = mvc__strdup(newest->evaluator)) ||
	    !(r->source = mvc__strdup(newest->source)) ||
	    !(r->options = mvc__strdup(newest->options ? newest->options : "{}")) ||
	    !(r->data = mvc__strdup(newest->data ? newest->data : "{}")) ||
	    (newest->test_digest && !(r->test_digest = mvc__strdup(newest->test_digest)))) {
		mvc_score_free(r);
		return MVC_ENOMEM;
	}
	/* every metric, in order of first appearance, with its newest value
	 * (a later line wins a tie in time) */
	if ((error = newest_metrics(r, l, digest)) < 0) {
		mvc_score_free(r);
		return error;
	}
	*out = r;
	return 0;
}

int mvc_score_bound_parse(mvc_score_bound *out, const char *spec, int max)
{
	const char *eq = spec ? strrchr(spec, '=') : NULL;
	char q[MVC_QUOTE_MAX], *end;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (!eq)
		return mvc__err(MVC_EINVALID, "'%s' is not METRIC=VALUE",
		    mvc_quote(q, sizeof(q), spec ? spec : ""));
	n = (size_t)(eq - spec);
	if (n == 0 || n > MVC_METRIC_NAME_MAX)
		return mvc__err(MVC_EINVALID, "'%s': the metric name must be 1 to %d bytes",
		    mvc_quote(q, sizeof(q), spec), MVC_METRIC_NAME_MAX);
	memcpy(out->metric, spec, n);
	out->metric[n] = '\0';
	if (!mvc__metric_name_ok(out->metric))
		return mvc__err(MVC_EINVALID, "'%s': a metric name is letters, digits and _@.:/+-",
		    mvc_quote(q, sizeof(q), spec));
	errno = 0;
	out->value = strtod(eq + 1, &end);
	if (!eq[1] || *end || !isfinite(out->value))
		return mvc__err(MVC_EINVALID, "'%s': the value is not a finite number",
		    mvc_quote(q, sizeof(q), spec));
	out->max = max;
	return 0;
}

int mvc_score_meets(const mvc_score *s, const mvc_score_bound *b, size_t n, size_t *missed)
{
	for (size_t i = 0; i < n; i++) {
		const mvc_metric *m = mvc_score_metric(s, b[i].metric);

		if (!m || isnan(m->value) || (b[i].max ? m->value > b[i].value : m->value < b[i].value)) {
			if (missed)
				*missed = i;
			return 0;
		}
	}
	return 1;
}

int mvc__score_good(int *good, git_repository *git, const git_oid *commit,
                    const mvc_score_filter *f)
{
	mvc_score_list *l = NULL;
	mvc_score *s = NULL;
	git_oid tree;
	int error;

	*good = 0;
	if ((error = commit_tree(&tree, git, commit)) < 0 || (error = list_tree(&l, git, &tree)) < 0)
		return error;
	if ((error = mvc_score_latest(&s, l, f->test_digest)) == MVC_ENOTFOUND) {
		mvc_error_clear();
		error = 0;
	} else if (error == 0) {
		*good = mvc_score_meets(s, f->bounds, f->nbounds, NULL);
	}
	mvc_score_free(s);
	mvc_score_list_free(l);
	return error;
}

int mvc_score_good(int *good, mvc_repo *repo, const mvc_oid *version, const mvc_score_filter *f)
{
	git_oid id;

	mvc__oid_to_git(&id, version);
	return mvc__score_good(good, mvc__repo_git(repo), &id, f);
}

int mvc_score_file_digest(char out[MVC_DIGEST_HEXSZ + 1], const char *path)
{
	crypto_generichash_state h;
	unsigned char d[MVC_DIGEST_SIZE], *buf;
	char q[MVC_QUOTE_MAX];
	ssize_t got;
	int fd, error = 0;

	if ((error = mvc__global_init()) < 0)
		return error;
	mvc_quote(q, sizeof(q), path);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return mvc__err_sys("cannot open '%s'", q);
	if (!(buf = mvc__malloc(1 << 20))) {
		close(fd);
		return MVC_ENOMEM;
	}
	crypto_generichash_init(&h, NULL, 0, MVC_DIGEST_SIZE);
	for (;;) {
		do
			got = read(fd, buf, 1 << 20);
		while (got < 0 && errno == EINTR);
		if (got < 0) {
			error = mvc__err_sys("cannot read '%s'", q);
			break;
		}
		if (got == 0)
			break;
		crypto_generichash_update(&h, buf, (size_t)got);
	}
	crypto_generichash_final(&h, d, MVC_DIGEST_SIZE);
	mvc_digest_hex(out, d);
	free(buf);
	close(fd);
	return error;
}
