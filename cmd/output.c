/* Output shared by log and show. */
#include <stdio.h>
#include <string.h>
#include "cli.h"

void decoration(char *buf, size_t n, char **refs, size_t count)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < count && o + 1 < n; i++) {
		const char *r = refs[i], *name = r, *kind = "";

		if (!strncmp(r, "branch:", 7))
			name = r + 7;
		else if (!strncmp(r, "tag:", 4))
			kind = "tag: ", name = r + 4;
		else if (!strncmp(r, "channel:", 8))
			kind = "channel: ", name = r + 8;
		o += (size_t)snprintf(buf + o, n - o, "%s%s%s", i ? ", " : " (", kind, name);
	}
	if (count && o + 1 < n)
		snprintf(buf + o, n - o, ")");
}

json_t *version_json(mvc_repo *repo, mvc_version *v)
{
	char hex[MVC_OID_HEXSZ + 1], t[64];
	json_t *o, *parents = json_array(), *meta = json_object(), *refs_j = json_array(),
	       *files = json_array();
	mvc_person a;
	char **refs = NULL;
	size_t nrefs = 0;

	mvc_oid_fmt(hex, mvc_version_id(v));
	for (size_t i = 0; i < mvc_version_parentcount(v); i++) {
		mvc_oid p;
		char ph[MVC_OID_HEXSZ + 1];

		if (mvc_version_parent_id(&p, v, i) == 0) {
			mvc_oid_fmt(ph, &p);
			json_array_append_new(parents, json_string(ph));
		}
	}
	for (size_t i = 0; i < mvc_version_meta_count(v); i++) {
		const char *k, *val;

		if (mvc_version_meta(&k, &val, v, i) == 0)
			json_object_set_new(meta, k, json_string(val));
	}
	if (mvc_version_refs(&refs, &nrefs, repo, mvc_version_id(v)) == 0) {
		for (size_t i = 0; i < nrefs; i++)
			json_array_append_new(refs_j, json_string(refs[i]));
		mvc_strings_free(refs, nrefs);
	}
	for (size_t i = 0; i < mvc_version_file_count(v); i++)
		json_array_append_new(files, json_string(mvc_version_file_path(v, i)));
	mvc_version_author(&a, v);
	fmt_time(t, sizeof(t), a.time, a.tz_minutes);
	o = json_pack("{s:s, s:o, s:{s:s?, s:s?, s:s, s:I}, s:s, s:s, s:o, s:o, s:o, s:o}",
	    "id", hex, "parents", parents,
	    "author", "name", a.name, "email", a.email, "date", t, "timestamp", (json_int_t)a.time,
	    "summary", mvc_version_summary(v), "message", mvc_version_message(v),
	    "meta", meta, "refs", refs_j, "files", files, "scores", version_scores_json(repo, v));
	return o;
}

void print_version_header(mvc_repo *repo, mvc_version *v)
{
	char hex[MVC_OID_HEXSZ + 1], deco[512], t[64];
	char **refs = NULL;
	size_t nrefs = 0;
	mvc_person a;
	const char *msg = mvc_version_message(v), *nl;

	mvc_oid_fmt(hex, mvc_version_id(v));
	if (mvc_version_refs(&refs, &nrefs, repo, mvc_version_id(v)) < 0)
		nrefs = 0;
	decoration(deco, sizeof(deco), refs, nrefs);
	mvc_strings_free(refs, nrefs);
	mvc_version_author(&a, v);
	fmt_time(t, sizeof(t), a.time, a.tz_minutes);
	printf("version %s%s\n", hex, deco);
	if (mvc_version_parentcount(v) > 1) {
		printf("Merge:  ");
		for (size_t i = 0; i < mvc_version_parentcount(v); i++) {
			mvc_oid p;
			char ph[MVC_OID_HEXSZ + 1];

			if (mvc_version_parent_id(&p, v, i) == 0) {
				mvc_oid_fmt(ph, &p);
				printf("%s%.12s", i ? " " : "", ph);
			}
		}
		putchar('\n');
	}
	printf("Author: %s <%s>\nDate:   %s\n", a.name ? a.name : "", a.email ? a.email : "", t);
	print_version_scores(repo, v);
	putchar('\n');
	while (*msg) {
		nl = strchr(msg, '\n');
		printf("    %.*s\n", (int)(nl ? nl - msg : (long)strlen(msg)), msg);
		if (!nl)
			break;
		msg = nl + 1;
	}
}

/* ---- recorded scores (mvc-score(1)) ---- */

json_t *score_json(const mvc_score *s)
{
	char v[MVC_OID_HEXSZ + 1], t[MVC_OID_HEXSZ + 1], date[64];
	json_t *m = json_object(), *o, *d;

	mvc_oid_fmt(v, &s->version);
	mvc_oid_fmt(t, &s->tree);
	fmt_time(date, sizeof(date), s->time, 0);
	for (size_t i = 0; i < s->nmetrics; i++)
		json_object_set_new(m, s->metrics[i].name, json_real(s->metrics[i].value));
	o = s->options ? json_loads(s->options, 0, NULL) : NULL;
	d = s->data ? json_loads(s->data, 0, NULL) : NULL;
	return json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:o, s:o, s:o, s:I, s:I}",
	    "version", v, "tree", t, "evaluator", s->evaluator, "source", s->source,
	    "time", (json_int_t)s->time, "date", date, "metrics", m,
	    "options", o ? o : json_object(), "data", d ? d : json_object(),
	    "n", (json_int_t)s->units, "skipped", (json_int_t)s->skipped);
}

void print_score_line(const mvc_score *s)
{
	char date[64];

	fmt_time(date, sizeof(date), s->time, 0);
	printf("%s", s->evaluator);
	for (size_t i = 0; i < s->nmetrics; i++)
		printf(" %s=%.6g", s->metrics[i].name, s->metrics[i].value);
	printf(" (%s", s->source);
	if (s->test_digest)
		printf(", test %.12s", s->test_digest);
	printf(", %s)\n", date);
}

void print_version_scores(mvc_repo *repo, mvc_version *v)
{
	mvc_score_list *l = NULL;

	if (mvc_score_list_read(&l, repo, mvc_version_id(v)) < 0) {
		mvc_error_clear();
		return;
	}
	for (size_t i = 0; i < l->count; i++) {
		printf("Score:  ");
		print_score_line(&l->scores[i]);
	}
	mvc_score_list_free(l);
}

json_t *version_scores_json(mvc_repo *repo, mvc_version *v)
{
	mvc_score_list *l = NULL;
	json_t *a = json_array();

	if (mvc_score_list_read(&l, repo, mvc_version_id(v)) < 0) {
		mvc_error_clear();
		return a;
	}
	for (size_t i = 0; i < l->count; i++)
		json_array_append_new(a, score_json(&l->scores[i]));
	mvc_score_list_free(l);
	return a;
}
