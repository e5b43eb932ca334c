/* mvc du: what each version added to the store, against the model's size. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static int json;
static const char *const syn[] = { "[--json] [<rev>...]", NULL };
static const struct opt opts[] = {
	{ "json", 0, OPT_FLAG, &json, NULL, "print JSON (schema in mvc-du(1))" },
	{ NULL }
};
const struct cmd_usage usage_du = { "du", syn, opts, "rev" };

static json_t *ratio_json(double r)
{
	return r < 0 ? json_null() : json_real(r);
}

static const char *percent(char *buf, size_t n, double r)
{
	if (r < 0)
		snprintf(buf, n, "-");
	else
		snprintf(buf, n, "%.1f%%", 100.0 * r);
	return buf;
}

static json_t *sizes_json(const mvc_du_version *v)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o}",
	    "raw", (json_int_t)v->raw, "added", (json_int_t)v->added,
	    "shared", (json_int_t)v->shared, "data_added", (json_int_t)v->data_added,
	    "raw_added", (json_int_t)v->raw_added, "objects_added", (json_int_t)v->objects_added,
	    "missing", (json_int_t)v->missing, "compression", ratio_json(mvc_du_compression(v)),
	    "dedup", ratio_json(mvc_du_dedup(v)));
}

static json_t *store_json(const mvc_store_stats *s)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "packs", (json_int_t)s->packs,
	    "pack_bytes", (json_int_t)s->pack_bytes, "promisor_packs", (json_int_t)s->promisor_packs,
	    "loose", (json_int_t)s->loose, "loose_bytes", (json_int_t)s->loose_bytes,
	    "temp", (json_int_t)s->temp, "temp_bytes", (json_int_t)s->temp_bytes);
}

static void row(const char *label, const mvc_du_version *v, const char *summary)
{
	char raw[32], added[32], shared[32], c[16], d[16];

	printf("%-12s  %10s  %10s  %10s  %6s  %6s%s%s\n", label, human_size(raw, sizeof(raw), v->raw),
	    human_size(added, sizeof(added), v->added), human_size(shared, sizeof(shared), v->shared),
	    percent(c, sizeof(c), mvc_du_compression(v)), percent(d, sizeof(d), mvc_du_dedup(v)),
	    *summary ? "  " : "", summary);
}

/* Why a version lacks chunks: pruned (and when), or not known. */
static const char *missing_note(char *buf, size_t n, const mvc_du_version *v)
{
	if (v->pruned) {
		char date[40];

		fmt_time(date, sizeof(date), v->pruned, 0);
		snprintf(buf, n, "data pruned on %.10s", date);
	} else {
		snprintf(buf, n, "%llu chunk object%s missing", (unsigned long long)v->missing,
		    v->missing == 1 ? "" : "s");
	}
	return buf;
}

int cmd_du(int argc, char **argv)
{
	mvc_repo *repo = NULL;
	mvc_du_report *r = NULL;
	json_t *list = NULL;
	int error, rc;

	opt_parse(&usage_du, &argc, argv);
	if (opt_dashdash >= 0)
		return usage_error(&usage_du, "du takes revisions only");
	if ((rc = open_repo(&repo)) != 0)
		return rc;
	if ((error = mvc_du(&r, repo, (const char *const *)argv, (size_t)argc)) < 0) {
		rc = fail(error);
		goto done;
	}
	if (json)
		list = json_array();
	else
		printf("%-12s  %10s  %10s  %10s  %6s  %6s  %s\n", "version", "raw", "added", "shared",
		    "compr", "dedup", "summary");
	for (size_t i = 0; i < r->count; i++) {
		const mvc_du_version *v = &r->versions[i];
		mvc_version *ver = NULL;
		char hex[MVC_OID_HEXSZ + 1];
		const char *summary = "";
		json_t *sizes;

		mvc_oid_fmt(hex, &v->id);
		if (mvc_version_lookup(&ver, repo, hex) == 0)
			summary = mvc_version_summary(ver);
		if (json) {
			json_t *o = json_pack("{s:s, s:s}", "id", hex, "summary", summary);

			json_object_update(o, sizes = sizes_json(v));
			json_decref(sizes);
			json_object_set_new(o, "pruned", v->pruned ? json_integer(v->pruned) : json_null());
			json_array_append_new(list, o);
		} else {
			char label[16], s[1024], m[128];

			snprintf(label, sizeof(label), "%.12s", hex);
			if (v->missing || v->pruned)
				snprintf(s, sizeof(s), "%s [%s]", summary, missing_note(m, sizeof(m), v));
			else
				snprintf(s, sizeof(s), "%s", summary);
			row(label, v, s);
		}
		mvc_version_free(ver);
	}
	if (json) {
		json_t *total = sizes_json(&r->total);

		json_object_set_new(total, "versions", json_integer((json_int_t)r->count));
		rc = json_print(json_pack("{s:i, s:s, s:o, s:o, s:o}", "schema", 1, "sizes", "packed",
		    "versions", list, "total", total, "store", store_json(&r->store)));
		list = NULL;
	} else {
		char label[32], pb[32], lb[32];

		snprintf(label, sizeof(label), "total (%zu)", r->count);
		row(label, &r->total, "");
		printf("store: %llu pack%s, %s; %llu loose object%s, %s\n",
		    (unsigned long long)r->store.packs, r->store.packs == 1 ? "" : "s",
		    human_size(pb, sizeof(pb), r->store.pack_bytes), (unsigned long long)r->store.loose,
		    r->store.loose == 1 ? "" : "s", human_size(lb, sizeof(lb), r->store.loose_bytes));
		rc = fflush(stdout) == 0 ? EXIT_OK : die_msg("cannot write output");
	}
done:
	json_decref(list);
	mvc_du_report_free(r);
	mvc_repo_free(repo);
	return rc;
}
