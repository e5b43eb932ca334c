/*
 * mvc aggregate: many versions of one model combined into one, streamed
 * chunk by chunk across every input.
 *
 * Sides are the inputs, in the order given, then the base when there is
 * one.  Everything is checked first -- options, revisions, files, the
 * tensors of every file on every side -- so that a refusal writes
 * nothing; then lib/combine.c streams the inputs.  Krum and DP clipping
 * need a first pass over the data (pairwise distances, or the norms of
 * the updates, over the whole model) before the pass that writes.
 *
 * The result file is written into the store (tmp_aggregate_XXXXXX) with
 * the first input's layout -- its header bytes and padding verbatim, as
 * the header holds offsets only -- and committed as the tracked file with
 * every input as an extra parent.
 */
#include <fcntl.h>
#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "combine.h"
#include "robust.h"
#include "tensorio.h"

const char *mvc_aggregate_method_name(mvc_aggregate_method m)
{
	switch (m) {
	case MVC_AGGREGATE_FEDAVG: return "fedavg";
	case MVC_AGGREGATE_MEAN: return "mean";
	case MVC_AGGREGATE_MEDIAN: return "median";
	case MVC_AGGREGATE_TRIMMED_MEAN: return "trimmed-mean";
	case MVC_AGGREGATE_KRUM: return "krum";
	case MVC_AGGREGATE_INTERPOLATE: return "interpolate";
	case MVC_AGGREGATE_TASK_ARITHMETIC: return "task-arithmetic";
	}
	return "?";
}

int mvc_aggregate_method_from_name(mvc_aggregate_method *out, const char *name)
{
	for (int m = MVC_AGGREGATE_FEDAVG; m <= MVC_AGGREGATE_TASK_ARITHMETIC; m++)
		if (name && !strcmp(name, mvc_aggregate_method_name((mvc_aggregate_method)m))) {
			*out = (mvc_aggregate_method)m;
			return 0;
		}
	return mvc__err(MVC_EINVALID, "unknown aggregation method '%s'", name ? name : "");
}

const char *mvc_int_policy_name(mvc_int_policy p)
{
	switch (p) {
	case MVC_INT_POLICY_FIRST: return "first";
	case MVC_INT_POLICY_MAX: return "max";
	case MVC_INT_POLICY_ERROR: return "error";
	}
	return "?";
}

int mvc_int_policy_from_name(mvc_int_policy *out, const char *name)
{
	for (int p = MVC_INT_POLICY_FIRST; p <= MVC_INT_POLICY_ERROR; p++)
		if (name && !strcmp(name, mvc_int_policy_name((mvc_int_policy)p))) {
			*out = (mvc_int_policy)p;
			return 0;
		}
	return mvc__err(MVC_EINVALID, "unknown integer policy '%s'", name ? name : "");
}

/* ---- small things ---- */

static int kind_of(mvc_dtype dt)
{
	switch (dt) {
	case MVC_DTYPE_F64: case MVC_DTYPE_F32: case MVC_DTYPE_F16: case MVC_DTYPE_BF16:
		return K_FLOAT;
	case MVC_DTYPE_BOOL: case MVC_DTYPE_U8: case MVC_DTYPE_I8: case MVC_DTYPE_I16:
	case MVC_DTYPE_U16: case MVC_DTYPE_I32: case MVC_DTYPE_U32: case MVC_DTYPE_I64:
	case MVC_DTYPE_U64:
		return K_INT;
	default:
		return K_OTHER;
	}
}

static void fmt_shape(char *buf, size_t n, const mvc_tensor *t)
{
	size_t o = (size_t)snprintf(buf, n, "[");

	for (unsigned i = 0; i < t->ndim && o < n; i++)
		o += (size_t)snprintf(buf + o, n - o, "%s%llu", i ? ", " : "",
		    (unsigned long long)t->shape[i]);
	if (o < n)
		snprintf(buf + o, n - o, "]");
}

/* The shortest decimal that reads back as the same double. */
static void fmt_num(char *buf, size_t n, double v)
{
	for (int p = 6; p <= 17; p++) {
		snprintf(buf, n, "%.*g", p, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

/* ---- options ---- */

static int check_options(const mvc_aggregate_options *o, size_t n)
{
	if (!o || o->version != MVC_AGGREGATE_OPTIONS_VERSION)
		return mvc__err(MVC_EINVALID, "bad aggregate options version");
	if (n == 0)
		return mvc__err(MVC_EINVALID, "nothing to aggregate: name at least one version");
	if ((unsigned)o->method > MVC_AGGREGATE_TASK_ARITHMETIC)
		return mvc__err(MVC_EINVALID, "unknown aggregation method");
	if ((unsigned)o->int_policy > MVC_INT_POLICY_ERROR)
		return mvc__err(MVC_EINVALID, "unknown integer policy");
	if (o->weights) {
		double sum = 0;

		if (o->method != MVC_AGGREGATE_FEDAVG)
			return mvc__err(MVC_EINVALID, "weights apply to fedavg only, not to %s",
			    mvc_aggregate_method_name(o->method));
		if (o->nweights != n)
			return mvc__err(MVC_EINVALID, "%zu weight%s for %zu input%s", o->nweights,
			    o->nweights == 1 ? "" : "s", n, n == 1 ? "" : "s");
		for (size_t i = 0; i < n; i++) {
			if (!isfinite(o->weights[i]) || o->weights[i] < 0)
				return mvc__err(MVC_EINVALID,
				    "weight %zu is %g: weights must be finite and at least 0", i + 1,
				    o->weights[i]);
			sum += o->weights[i];
		}
		if (!(sum > 0) || !isfinite(sum))
			return mvc__err(MVC_EINVALID, "the weights sum to %g: at least one must be above 0",
			    sum);
	}
	if (o->method == MVC_AGGREGATE_TRIMMED_MEAN && !(o->trim >= 0 && o->trim < 0.5))
		return mvc__err(MVC_EINVALID, "the trim share must be at least 0 and below 0.5, not %g",
		    o->trim);
	if (o->method == MVC_AGGREGATE_KRUM && n < 2 * (size_t)o->byzantine + 3)
		return mvc__err(MVC_EINVALID,
		    "krum with %u Byzantine input%s needs at least %zu inputs (2f + 3), not %zu",
		    o->byzantine, o->byzantine == 1 ? "" : "s", 2 * (size_t)o->byzantine + 3, n);
	if (o->method == MVC_AGGREGATE_INTERPOLATE) {
		if (n != 2)
			return mvc__err(MVC_EINVALID,
			    "interpolate takes exactly two versions (the base, then the new one), not %zu", n);
		if (!(o->alpha >= 0 && o->alpha <= 1))
			return mvc__err(MVC_EINVALID, "alpha must lie between 0 and 1, not %g", o->alpha);
		if (o->base)
			return mvc__err(MVC_EINVALID,
			    "interpolate takes no base: its first version is the base");
	}
	if (o->method == MVC_AGGREGATE_TASK_ARITHMETIC) {
		if (!o->base)
			return mvc__err(MVC_EINVALID, "task-arithmetic needs a base version (--base)");
		if (!isfinite(o->lambda))
			return mvc__err(MVC_EINVALID, "lambda must be a finite number");
	}
	if (!(o->clip >= 0) || !isfinite(o->clip))
		return mvc__err(MVC_EINVALID, "the clipping norm must be a finite number of at least 0");
	if (!(o->noise_multiplier >= 0) || !isfinite(o->noise_multiplier))
		return mvc__err(MVC_EINVALID,
		    "the noise multiplier must be a finite number of at least 0");
	if (o->noise_multiplier > 0 && !(o->clip > 0))
		return mvc__err(MVC_EINVALID,
		    "noise needs clipping: the noise is scaled to the clipping norm (--clip)");
	if (o->clip > 0) {
		if (o->method != MVC_AGGREGATE_FEDAVG && o->method != MVC_AGGREGATE_MEAN)
			return mvc__err(MVC_EINVALID,
			    "clipping and noise (DP-FedAvg) go with fedavg or mean, not %s",
			    mvc_aggregate_method_name(o->method));
		if (o->weights)
			return mvc__err(MVC_EINVALID,
			    "DP-FedAvg weights every input equally: no weights with clipping");
		if (!o->base)
			return mvc__err(MVC_EINVALID,
			    "clipping needs a base version (--base): updates are input minus base");
	}
	for (size_t i = 0; i < o->nexclude; i++)
		if (!o->exclude[i] || !*o->exclude[i])
			return mvc__err(MVC_EINVALID, "an empty exclude pattern");
	return 0;
}

/* ---- inputs ---- */

static int open_side(side *s, git_repository *git, const char *rev)
{
	int error;

	s->rev = rev;
	if ((error = mvc__resolve(&s->commit, git, rev)) < 0)
		return error;
	if (git_commit_tree(&s->root, s->commit) < 0)
		return mvc__err_git(MVC_ECORRUPT, "cannot read version '%s'", rev);
	mvc__oid_from_git(&s->id, git_commit_id(s->commit));
	return 0;
}

/* An input's num-examples metadata (its last such trailer). */
static int num_examples(uint64_t *out, int *found, const side *s)
{
	git_message_trailer_array tr;
	char rq[MVC_QUOTE_MAX];
	int error = 0;

	*found = 0;
	memset(&tr, 0, sizeof(tr));
	if (git_message_trailers(&tr, git_commit_message(s->commit)) < 0) {
		mvc_error_clear();
		return 0;
	}
	for (size_t i = 0; i < tr.count; i++) {
		const char *v = tr.trailers[i].value;
		char *end;
		unsigned long long x;

		if (strcasecmp(tr.trailers[i].key, "num-examples"))
			continue;
		x = strtoull(v, &end, 10);
		if (!*v || *v == '-' || *v == '+' || *end || x > (1ull << 53)) {
			error = mvc__err(MVC_EINVALID,
			    "version '%s' has num-examples '%s', which is not a count", agg_quote(rq, s->rev), v);
			break;
		}
		*out = x;
		*found = 1;
	}
	git_message_trailer_array_free(&tr);
	return error;
}

static int weights(agg *a)
{
	const mvc_aggregate_options *o = a->o;
	mvc_aggregate_result *r = a->r;
	double sum = 0;
	int error;

	for (size_t i = 0; i < a->n; i++) {
		uint64_t ex = 0;
		int found;

		if ((error = num_examples(&ex, &found, &a->sides[i])) < 0)
			return error;
		r->inputs[i].has_examples = found;
		r->inputs[i].examples = ex;
		r->inputs[i].clip_factor = 1;
	}
	switch (o->method) {
	case MVC_AGGREGATE_FEDAVG:
		if (a->dp)
			goto equal;
		for (size_t i = 0; i < a->n; i++) {
			char rq[MVC_QUOTE_MAX];

			if (o->weights) {
				a->w[i] = o->weights[i];
			} else if (!r->inputs[i].has_examples) {
				return mvc__err(MVC_EINVALID,
				    "version '%s' has no num-examples metadata (commit it with "
				    "--meta num-examples=N), so fedavg cannot weigh it; give --weights "
				    "or use --method mean", agg_quote(rq, a->sides[i].rev));
			} else {
				a->w[i] = (double)r->inputs[i].examples;
			}
			sum += a->w[i];
		}
		if (!(sum > 0))
			return mvc__err(MVC_EINVALID,
			    "every input has num-examples 0: fedavg has nothing to weigh by");
		for (size_t i = 0; i < a->n; i++)
			a->w[i] /= sum;
		break;
	case MVC_AGGREGATE_MEAN:
equal:
		for (size_t i = 0; i < a->n; i++)
			a->w[i] = 1.0 / (double)a->n;
		break;
	case MVC_AGGREGATE_INTERPOLATE:
		a->w[0] = 1 - o->alpha;
		a->w[1] = o->alpha;
		break;
	case MVC_AGGREGATE_TASK_ARITHMETIC:
		for (size_t i = 0; i < a->n; i++)
			a->w[i] = o->lambda;
		break;
	default:
		return 0;
	}
	for (size_t i = 0; i < a->n; i++) {
		r->inputs[i].has_weight = 1;
		r->inputs[i].weight = a->w[i];
	}
	return 0;
}

/* ---- files and tensors ---- */

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* The files to aggregate: those named, or those of the first input, which
 * every other input must track too. */
static int choose_files(agg *a, const char *const *paths, size_t npaths)
{
	char **first = NULL, **other = NULL, pq[MVC_QUOTE_MAX], rq[MVC_QUOTE_MAX], sq[MVC_QUOTE_MAX];
	size_t nfirst = 0, nother = 0;
	int error = 0;

	if (npaths) {
		if (!(first = mvc__calloc(npaths + 1, sizeof(*first))))
			return MVC_ENOMEM;
		for (size_t i = 0; i < npaths; i++) {
			for (size_t j = 0; j < i; j++)
				if (!strcmp(paths[i], paths[j])) {
					error = mvc__err(MVC_EINVALID, "'%s' is named twice", agg_quote(pq, paths[i]));
					goto done;
				}
			if (!(first[nfirst++] = mvc__strdup(paths[i]))) {
				error = MVC_ENOMEM;
				goto done;
			}
		}
		qsort(first, nfirst, sizeof(*first), cmp_str);
		for (size_t s = 0; s < a->nsides; s++)
			for (size_t i = 0; i < nfirst; i++) {
				git_tree *t = NULL;

				if (mvc__file_tree(&t, a->git, a->sides[s].root, first[i]) < 0) {
					error = mvc__err(MVC_ENOTFOUND, "'%s' is not tracked in '%s'",
					    agg_quote(pq, first[i]), agg_quote(rq, a->sides[s].rev));
					goto done;
				}
				git_tree_free(t);
			}
	} else {
		if ((error = mvc__tree_files(&first, &nfirst, a->git, a->sides[0].root)) < 0)
			goto done;
		if (nfirst == 0) {
			error = mvc__err(MVC_EINVALID, "version '%s' tracks no files",
			    agg_quote(rq, a->sides[0].rev));
			goto done;
		}
		for (size_t s = 1; s < a->nsides; s++) {
			size_t i = 0, j = 0;
			int is_base = a->has_base && s == a->n;

			if ((error = mvc__tree_files(&other, &nother, a->git, a->sides[s].root)) < 0)
				goto done;
			/* both sorted by path: the first path in one list only */
			while (i < nfirst || j < nother) {
				int c = i == nfirst ? 1 : j == nother ? -1 : strcmp(first[i], other[j]);

				if (c < 0) {
					error = mvc__err(MVC_ENOTFOUND,
					    "'%s' is tracked in '%s' but not in %s'%s'; name the files to "
					    "aggregate after '--'", agg_quote(pq, first[i]), agg_quote(rq, a->sides[0].rev),
					    is_base ? "the base " : "", agg_quote(sq, a->sides[s].rev));
					goto done;
				}
				if (c > 0 && !is_base) {
					error = mvc__err(MVC_EINVALID,
					    "'%s' is tracked in '%s' but not in '%s'; name the files to "
					    "aggregate after '--'", agg_quote(pq, other[j]), agg_quote(sq, a->sides[s].rev),
					    agg_quote(rq, a->sides[0].rev));
					goto done;
				}
				i += c <= 0;
				j += c >= 0;
			}
			mvc_strings_free(other, nother);
			other = NULL;
			nother = 0;
		}
	}
	if (!(a->files = mvc__calloc(nfirst, sizeof(*a->files)))) {
		error = MVC_ENOMEM;
		goto done;
	}
	for (size_t i = 0; i < nfirst; i++) {
		a->files[i].path = first[i];
		a->files[i].fd = -1;
		first[i] = NULL;
	}
	a->nfiles = nfirst;
done:
	mvc_strings_free(first, nfirst);
	mvc_strings_free(other, nother);
	return error;
}

static bool same_shape(const mvc_tensor *x, const mvc_tensor *y)
{
	if (x->ndim != y->ndim)
		return false;
	for (unsigned d = 0; d < x->ndim; d++)
		if (x->shape[d] != y->shape[d])
			return false;
	return true;
}

/* Manifests and trees of one file on every side, and the check that they
 * hold the same tensors. */
static int open_file(agg *a, afile *f)
{
	char pq[MVC_QUOTE_MAX], tq[MVC_QUOTE_MAX], s0[MVC_QUOTE_MAX], s1[MVC_QUOTE_MAX];
	const mvc_manifest *m0;
	unsigned char d[MVC_DIGEST_SIZE];
	git_tree *ft = NULL;
	int error = 0;

	if (!(f->m = mvc__calloc(a->nsides, sizeof(*f->m))) ||
	    !(f->tt = mvc__calloc(a->nsides, sizeof(*f->tt))))
		return MVC_ENOMEM;
	agg_quote(pq, f->path);
	for (size_t s = 0; s < a->nsides; s++) {
		const git_tree_entry *e;

		if ((error = mvc__file_tree(&ft, a->git, a->sides[s].root, f->path)) < 0 ||
		    (error = mvc__tree_manifest(&f->m[s], a->git, ft, f->path)) < 0)
			goto done;
		if ((e = git_tree_entry_byname(ft, "t")) &&
		    git_tree_lookup(&f->tt[s], a->git, git_tree_entry_id(e)) < 0) {
			error = mvc__err_git(MVC_ECORRUPT, "'%s': cannot read the tensor table", pq);
			goto done;
		}
		if (s == 0) {
			e = git_tree_entry_byname(ft, "header");
			if (!e || git_tree_entry_type(e) != GIT_OBJECT_BLOB ||
			    git_blob_lookup(&f->header, a->git, git_tree_entry_id(e)) < 0 ||
			    (uint64_t)git_blob_rawsize(f->header) != f->m[0]->header_size) {
				error = mvc__err(MVC_ECORRUPT,
				    "'%s' in '%s': the stored header is missing or damaged", pq,
				    side_name(a, 0, s0));
				goto done;
			}
			mvc_blake2b(d, git_blob_rawcontent(f->header), (size_t)f->m[0]->header_size);
			if (memcmp(d, f->m[0]->header_digest, MVC_DIGEST_SIZE)) {
				error = mvc__err(MVC_ECORRUPT,
				    "'%s' in '%s': the stored header fails its digest", pq,
				    side_name(a, 0, s0));
				goto done;
			}
		}
		git_tree_free(ft);
		ft = NULL;
	}
	/* the first disagreement, in the first input's tensor order */
	m0 = f->m[0];
	for (size_t s = 1; s < a->nsides; s++)
		if (f->m[s]->format != m0->format)
			return mvc__err(MVC_EINVALID, "inputs disagree: '%s' is %s in '%s' but %s in '%s'",
			    pq, mvc_format_name(m0->format), side_name(a, 0, s0),
			    mvc_format_name(f->m[s]->format), side_name(a, s, s1));
	for (size_t i = 0; i < m0->ntensors; i++) {
		const mvc_tensor *t0 = &m0->tensors[i].t;

		agg_quote(tq, t0->name);
		for (size_t s = 1; s < a->nsides; s++) {
			long k = mvc_manifest_find(f->m[s], t0->name);
			const mvc_tensor *t;
			char x[256], y[256];

			if (k < 0)
				return mvc__err(MVC_EINVALID,
				    "inputs disagree: tensor '%s' of '%s' is in '%s' but not in '%s'", tq,
				    pq, side_name(a, 0, s0), side_name(a, s, s1));
			t = &f->m[s]->tensors[k].t;
			if (t->dtype != t0->dtype)
				return mvc__err(MVC_EINVALID,
				    "inputs disagree: tensor '%s' of '%s' is %s in '%s' but %s in '%s'", tq,
				    pq, mvc_dtype_name(t0->dtype), side_name(a, 0, s0),
				    mvc_dtype_name(t->dtype), side_name(a, s, s1));
			if (!same_shape(t, t0) || t->size != t0->size) {
				fmt_shape(x, sizeof(x), t0);
				fmt_shape(y, sizeof(y), t);
				return mvc__err(MVC_EINVALID,
				    "inputs disagree: tensor '%s' of '%s' has shape %s in '%s' but %s in '%s'",
				    tq, pq, x, side_name(a, 0, s0), y, side_name(a, s, s1));
			}
		}
	}
	for (size_t s = 1; s < a->nsides; s++)
		for (size_t i = 0; i < f->m[s]->ntensors; i++)
			if (mvc_manifest_find(m0, f->m[s]->tensors[i].t.name) < 0)
				return mvc__err(MVC_EINVALID,
				    "inputs disagree: tensor '%s' of '%s' is in '%s' but not in '%s'",
				    agg_quote(tq, f->m[s]->tensors[i].t.name), pq, side_name(a, s, s1),
				    side_name(a, 0, s0));
done:
	git_tree_free(ft);
	return error;
}

/* The chunk blobs of tensor `mt` (index i of its manifest) on side s. */
static int chunk_oids(git_oid **out, agg *a, const afile *f, size_t s, size_t i)
{
	char what[2 * MVC_QUOTE_MAX + 1], pq[MVC_QUOTE_MAX], rq[MVC_QUOTE_MAX];

	snprintf(what, sizeof(what), "%s:%s", side_name(a, s, rq), agg_quote(pq, f->path));
	return mvc__chunk_oids(out, a->git, f->tt[s], &f->m[s]->tensors[i], i, what);
}

static bool excluded(const mvc_aggregate_options *o, const char *name)
{
	for (size_t i = 0; i < o->nexclude; i++)
		if (fnmatch(o->exclude[i], name, 0) == 0)
			return true;
	return false;
}

/* One job per tensor of every file, in file order, with its unit. */
static int plan_tensors(agg *a)
{
	size_t n = 0, k = 0;
	int error;

	for (size_t fi = 0; fi < a->nfiles; fi++)
		n += a->files[fi].m[0]->ntensors;
	if (!(a->ts = mvc__calloc(n + 1, sizeof(*a->ts))))
		return MVC_ENOMEM;
	for (size_t fi = 0; fi < a->nfiles; fi++) {
		const afile *f = &a->files[fi];

		for (size_t i = 0; i < f->m[0]->ntensors; i++, k++) {
			atensor *T = &a->ts[k];
			const mvc_manifest_tensor *m0 = &f->m[0]->tensors[i];
			uint64_t maxc = 0;

			a->nts = k + 1;
			T->file = fi;
			T->idx = i;
			T->dtype = m0->t.dtype;
			T->kind = kind_of(T->dtype);
			T->excluded = excluded(a->o, m0->t.name);
			T->width = mvc_dtype_bits(T->dtype) / 8;
			if (!T->width)
				T->width = 1;
			if (!(T->mt = mvc__calloc(a->nsides, sizeof(*T->mt))) ||
			    !(T->oids = mvc__calloc(a->nsides, sizeof(*T->oids))))
				return MVC_ENOMEM;
			T->aligned = 1;
			for (size_t s = 0; s < a->nsides; s++) {
				long j = s ? mvc_manifest_find(f->m[s], m0->t.name) : (long)i;

				T->mt[s] = &f->m[s]->tensors[j];
				if ((error = chunk_oids(&T->oids[s], a, f, s, (size_t)j)) < 0)
					return error;
				/* content-defined chunks (opaque files) are never aligned */
				if (T->mt[s]->chunk_size != m0->chunk_size || T->mt[s]->chunk_offsets)
					T->aligned = 0;
				if (T->mt[s]->chunk_size > maxc)
					maxc = T->mt[s]->chunk_size;
			}
			/* aligned: a chunk; else the largest chunk, so that the side
			 * with it decodes each chunk once and the others at most twice */
			T->unit = maxc;
			if (T->unit % T->width) {
				T->unit = DEFAULT_UNIT - DEFAULT_UNIT % T->width;
				T->aligned = 0;
			}
			if (T->unit > m0->t.size && m0->t.size)
				T->unit = m0->t.size;
			T->nunits = m0->t.size ? (m0->t.size + T->unit - 1) / T->unit : 0;
			if (T->unit > a->maxunit)
				a->maxunit = T->unit;
			if (!T->aligned && maxc > a->maxchunk)
				a->maxchunk = maxc;
		}
	}
	return 0;
}

/* With the integer policy "error", differing integer tensors are refused
 * before anything is computed where the digests tell. */
static int check_ints(agg *a)
{
	char tq[MVC_QUOTE_MAX], pq[MVC_QUOTE_MAX], s0[MVC_QUOTE_MAX], s1[MVC_QUOTE_MAX];

	if (a->o->int_policy != MVC_INT_POLICY_ERROR)
		return 0;
	for (size_t k = 0; k < a->nts; k++) {
		const atensor *T = &a->ts[k];

		if (T->kind == K_FLOAT || T->excluded || !T->aligned)
			continue;
		for (size_t s = 1; s < a->n; s++)
			if (memcmp(T->mt[s]->digest, T->mt[0]->digest, MVC_DIGEST_SIZE)) {
				return mvc__err(MVC_EINVALID,
				    "the inputs differ in tensor '%s' of '%s' (%s, never averaged): '%s' "
				    "and '%s' (--int-policy error)", agg_quote(tq, T->mt[0]->t.name),
				    agg_quote(pq, a->files[T->file].path), mvc_dtype_name(T->dtype),
				    side_name(a, 0, s0), side_name(a, s, s1));
			}
	}
	return 0;
}

/* ---- the result ---- */

static int tensor_notes(agg *a)
{
	mvc_aggregate_result *r = a->r;
	size_t n = 0;

	for (size_t k = 0; k < a->nts; k++)
		n += a->ts[k].kind != K_FLOAT || a->ts[k].excluded;
	if (!(r->tensors = mvc__calloc(n + 1, sizeof(*r->tensors))))
		return MVC_ENOMEM;
	for (size_t k = 0; k < a->nts; k++) {
		const atensor *T = &a->ts[k];
		mvc_aggregate_tensor *e;

		r->summary.tensors++;
		if (T->kind == K_FLOAT && !T->excluded) {
			r->summary.tensors_combined++;
			continue;
		}
		e = &r->tensors[r->ntensors++];
		e->dtype = T->dtype;
		e->flags = (T->excluded ? MVC_AGGREGATE_TENSOR_EXCLUDED : 0) |
		    (T->kind == K_INT ? MVC_AGGREGATE_TENSOR_INTEGER : 0) |
		    (T->kind == K_OTHER ? MVC_AGGREGATE_TENSOR_OTHER : 0) |
		    (T->differed ? MVC_AGGREGATE_TENSOR_DIFFERED : 0);
		if (!(e->path = mvc__strdup(a->files[T->file].path)) ||
		    !(e->name = mvc__strdup(T->mt[0]->t.name)))
			return MVC_ENOMEM;
	}
	return 0;
}

/* Norms, z-scores and outliers of the inputs. */
static void finish_norms(agg *a)
{
	mvc_aggregate_result *r = a->r;
	size_t n = a->n;
	double *x = mvc__calloc(n + 1, sizeof(double)), *z = mvc__calloc(n + 1, sizeof(double));
	int *def = mvc__calloc(n + 1, sizeof(int));

	for (size_t i = 0; i < n; i++)
		r->inputs[i].norm = (double)sqrtl(r->inputs[i].norm);
	if (!x || !z || !def)
		goto done;
	for (size_t i = 0; i < n; i++)
		x[i] = r->inputs[i].norm;
	mvc__modified_z(x, n, z, def);
	for (size_t i = 0; i < n; i++) {
		r->inputs[i].zscore_defined = def[i];
		r->inputs[i].zscore = z[i];
		r->inputs[i].outlier = !isfinite(x[i]) || (def[i] && z[i] > 3.5);
	}
done:
	mvc_error_clear();
	free(x);
	free(z);
	free(def);
}

/* ---- the version ---- */

static int add_meta(char ***meta, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int add_meta(char ***meta, size_t *n, const char *fmt, ...)
{
	char **m = realloc(*meta, (*n + 1) * sizeof(char *)), *s;
	va_list ap;
	int len;

	if (!m)
		return mvc__err(MVC_ENOMEM, "out of memory");
	*meta = m;
	va_start(ap, fmt);
	len = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (len < 0)
		return mvc__err(MVC_ENOMEM, "out of memory");
	m[(*n)++] = s;
	return 0;
}

static int build_meta(agg *a, char ***meta, size_t *nmeta)
{
	const mvc_aggregate_options *o = a->o;
	mvc_aggregate_result *r = a->r;
	char hex[MVC_OID_HEXSZ + 1], num[64], num2[64];
	int error = 0;

	*meta = NULL;
	*nmeta = 0;
#define ADD(...) if ((error = add_meta(meta, nmeta, __VA_ARGS__)) < 0) return error
	ADD("Aggregate-Method=%s", mvc_aggregate_method_name(o->method));
	switch (o->method) {
	case MVC_AGGREGATE_TRIMMED_MEAN:
		fmt_num(num, sizeof(num), o->trim);
		ADD("Aggregate-Trim=%s (%zu dropped at each end)", num, r->trimmed);
		break;
	case MVC_AGGREGATE_KRUM:
		mvc_oid_fmt(hex, &r->inputs[r->selected].id);
		ADD("Aggregate-Byzantine=%u", o->byzantine);
		ADD("Aggregate-Selected=%s", hex);
		break;
	case MVC_AGGREGATE_INTERPOLATE:
		fmt_num(num, sizeof(num), o->alpha);
		ADD("Aggregate-Alpha=%s", num);
		break;
	case MVC_AGGREGATE_TASK_ARITHMETIC:
		fmt_num(num, sizeof(num), o->lambda);
		ADD("Aggregate-Lambda=%s", num);
		break;
	default:
		break;
	}
	if (r->has_base) {
		mvc_oid_fmt(hex, &r->base_id);
		ADD("Aggregate-Base=%s", hex);
	}
	if (a->dp) {
		fmt_num(num, sizeof(num), o->clip);
		ADD("Aggregate-Clip=%s", num);
		fmt_num(num, sizeof(num), o->noise_multiplier);
		fmt_num(num2, sizeof(num2), a->noise_std);
		ADD("Aggregate-Noise-Multiplier=%s (std %s, %s)", num, num2,
		    a->noise_std == 0 ? "no noise" : o->has_seed ? "from a seed: reproducible, not private"
		                                                 : "from the system's CSPRNG");
	}
	for (size_t i = 0; i < o->nexclude; i++)
		ADD("Aggregate-Exclude=%s", o->exclude[i]);
	if (o->int_policy != MVC_INT_POLICY_FIRST)
		ADD("Aggregate-Int-Policy=%s", mvc_int_policy_name(o->int_policy));
	for (size_t i = 0; i < a->n; i++) {
		const mvc_aggregate_input *in = &r->inputs[i];
		mvc_buf b = MVC_BUF_INIT;

		mvc_oid_fmt(hex, &in->id);
		if ((error = mvc_buf_printf(&b, "Aggregate-Input=%s", hex)) < 0)
			return error;
		if (in->has_weight) {
			fmt_num(num, sizeof(num), in->weight);
			error = mvc_buf_printf(&b, " weight=%s", num);
		}
		if (!error && in->has_examples)
			error = mvc_buf_printf(&b, " num-examples=%llu", (unsigned long long)in->examples);
		if (!error && a->dp) {
			fmt_num(num, sizeof(num), in->clip_factor);
			error = mvc_buf_printf(&b, " clip-factor=%s", num);
		}
		if (!error && in->selected)
			error = mvc_buf_printf(&b, " selected");
		if (error < 0 || (error = add_meta(meta, nmeta, "%s", b.ptr)) < 0) {
			mvc_buf_free(&b);
			return error;
		}
		mvc_buf_free(&b);
	}
#undef ADD
	return 0;
}

/* May the aggregated working files be replaced?  Clean or missing ones. */
static int check_workdir(agg *a, mvc_repo *repo)
{
	mvc_status_list *st = NULL;
	char pq[MVC_QUOTE_MAX];
	int error;

	if ((error = mvc_status(&st, repo, 0)) < 0)
		return error;
	for (size_t i = 0; i < st->count && !error; i++) {
		const mvc_status_entry *e = &st->entries[i];

		if (e->state != MVC_FILE_MODIFIED && e->state != MVC_FILE_INVALID &&
		    e->state != MVC_FILE_UNTRACKED)
			continue;
		for (size_t k = 0; k < a->nfiles; k++)
			if (!strcmp(a->files[k].path, e->path)) {
				error = mvc__err(MVC_EDIRTY,
				    "'%s' has %s; commit it first, or aggregate with --no-checkout "
				    "(nothing was done)", agg_quote(pq, e->path),
				    e->state == MVC_FILE_UNTRACKED ? "never been committed"
				                                   : "uncommitted changes");
				break;
			}
	}
	mvc_status_free(st);
	return error;
}

static int write_version(agg *a, mvc_repo *repo, const git_oid *head)
{
	const mvc_aggregate_options *o = a->o;
	mvc_commit_options co = MVC_COMMIT_OPTIONS_INIT;
	mvc_buf msg = MVC_BUF_INIT;
	char **meta = NULL;
	size_t nmeta = 0, npar = 0;
	const char **paths = NULL, **sources = NULL;
	mvc_oid *parents = NULL;
	git_oid now;
	int error;

	/* the result was computed for the branch as it was: refuse if it moved */
	if (git_reference_name_to_id(&now, a->git, "HEAD") < 0) {
		mvc_error_clear();
		if (head) {
			error = mvc__err(MVC_ECONFLICT,
			    "the branch moved while aggregating; nothing was committed");
			goto done;
		}
	} else if (!head || !git_oid_equal(&now, head)) {
		error = mvc__err(MVC_ECONFLICT, "the branch moved while aggregating; nothing was committed");
		goto done;
	}
	if ((error = build_meta(a, &meta, &nmeta)) < 0)
		goto done;
	if (o->message)
		error = mvc_buf_puts(&msg, o->message);
	else
		error = mvc_buf_printf(&msg, "Aggregate %zu version%s (%s)", a->n, a->n == 1 ? "" : "s",
		    mvc_aggregate_method_name(o->method));
	if (error < 0)
		goto done;
	if (!(paths = mvc__calloc(a->nfiles + 1, sizeof(*paths))) ||
	    !(sources = mvc__calloc(a->nfiles + 1, sizeof(*sources))) ||
	    !(parents = mvc__calloc(a->n + 1, sizeof(*parents)))) {
		error = MVC_ENOMEM;
		goto done;
	}
	for (size_t i = 0; i < a->nfiles; i++) {
		paths[i] = a->files[i].path;
		sources[i] = a->files[i].tmp;
	}
	/* every input once, after the current version */
	for (size_t i = 0; i < a->n; i++) {
		git_oid id;
		bool dup = false;

		mvc__oid_to_git(&id, &a->sides[i].id);
		if (head && git_oid_equal(&id, head))
			continue;
		for (size_t j = 0; j < npar; j++)
			dup |= !memcmp(parents[j].id, a->sides[i].id.id, 20);
		if (!dup)
			parents[npar++] = a->sides[i].id;
	}
	co.message = msg.ptr;
	co.meta = (const char *const *)meta;
	co.nmeta = nmeta;
	co.allow_empty = 1;     /* the round happened even if it changed nothing */
	co.sources = sources;
	co.extra_parents = parents;
	co.nextra_parents = npar;
	co.signing_key = o->signing_key;
	if ((error = mvc_commit(&a->r->id, NULL, repo, paths, a->nfiles, &co)) < 0)
		goto done;
	a->r->committed = 1;
done:
	for (size_t i = 0; i < nmeta; i++)
		free(meta[i]);
	free(meta);
	free(paths);
	free(sources);
	free(parents);
	mvc_buf_free(&msg);
	return error;
}

/* ---- entry point ---- */

void mvc_aggregate_result_free(mvc_aggregate_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; r->inputs && i < r->ninputs; i++)
		free(r->inputs[i].rev);
	free(r->inputs);
	free(r->base_rev);
	mvc_strings_free(r->files, r->nfiles);
	for (size_t i = 0; r->tensors && i < r->ntensors; i++) {
		free(r->tensors[i].path);
		free(r->tensors[i].name);
	}
	free(r->tensors);
	free(r);
}

static void agg_clear(agg *a)
{
	for (size_t k = 0; a->ts && k < a->nts; k++) {
		for (size_t s = 0; a->ts[k].oids && s < a->nsides; s++)
			free(a->ts[k].oids[s]);
		free(a->ts[k].oids);
		free((void *)a->ts[k].mt);
	}
	free(a->ts);
	for (size_t i = 0; a->files && i < a->nfiles; i++) {
		afile *f = &a->files[i];

		for (size_t s = 0; s < a->nsides; s++) {
			if (f->m)
				mvc_manifest_free(f->m[s]);
			if (f->tt)
				git_tree_free(f->tt[s]);
		}
		free(f->m);
		free(f->tt);
		git_blob_free(f->header);
		if (f->fd >= 0)
			close(f->fd);
		if (f->tmp)
			unlink(f->tmp);
		free(f->tmp);
		free(f->path);
	}
	free(a->files);
	for (size_t s = 0; a->sides && s < a->nsides; s++) {
		git_tree_free(a->sides[s].root);
		git_commit_free(a->sides[s].commit);
	}
	free(a->sides);
	free(a->w);
	free(a->clipf);
	free(a->plist);
	free(a->tot);
	git_odb_free(a->odb);
	explicit_bzero(a->master, sizeof(a->master));
}

static int make_temp(afile *f, mvc_repo *repo)
{
	mvc_buf p = MVC_BUF_INIT;
	int error;

	if ((error = mvc_buf_printf(&p, "%s/tmp_aggregate_XXXXXX", mvc_repo_path(repo))) < 0)
		return error;
	if ((f->fd = mkostemp(p.ptr, O_CLOEXEC)) < 0) {
		error = mvc__err_sys("cannot create a temporary file in the store");
		mvc_buf_free(&p);
		return error;
	}
	f->tmp = mvc_buf_detach(&p);
	f->pos = f->hpos = 0;
	return 0;
}

int mvc_aggregate(mvc_aggregate_result **out, mvc_repo *repo, const char *const *revs, size_t nrevs,
                  const char *const *paths, size_t npaths, const mvc_aggregate_options *o)
{
	agg a;
	mvc_aggregate_result *r = NULL;
	git_oid head;
	int has_head, error;

	*out = NULL;
	memset(&a, 0, sizeof(a));
	if ((error = check_options(o, nrevs)) < 0)
		return error;
	a.o = o;
	a.git = mvc__repo_git(repo);
	a.n = nrevs;
	a.has_base = o->base != NULL;
	a.nsides = a.n + (size_t)a.has_base;
	a.dp = o->clip > 0;
	a.dry = o->dry_run;
	a.uses_base = o->method == MVC_AGGREGATE_TASK_ARITHMETIC || a.dp;
	if (!(r = mvc__calloc(1, sizeof(*r))) ||
	    !(r->inputs = mvc__calloc(a.n, sizeof(*r->inputs))) ||
	    !(a.sides = mvc__calloc(a.nsides, sizeof(*a.sides))) ||
	    !(a.w = mvc__calloc(a.n, sizeof(double))) ||
	    !(a.clipf = mvc__calloc(a.n, sizeof(double)))) {
		error = MVC_ENOMEM;
		goto done;
	}
	a.r = r;
	r->method = o->method;
	r->ninputs = a.n;
	has_head = git_reference_name_to_id(&head, a.git, "HEAD") == 0;
	mvc_error_clear();

	/* the inputs, the files, the tensors: every check before any work */
	for (size_t i = 0; i < a.n; i++) {
		if ((error = open_side(&a.sides[i], a.git, revs[i])) < 0)
			goto done;
		r->inputs[i].id = a.sides[i].id;
		if (!(r->inputs[i].rev = mvc__strdup(revs[i]))) {
			error = MVC_ENOMEM;
			goto done;
		}
	}
	if (a.has_base) {
		if ((error = open_side(&a.sides[a.n], a.git, o->base)) < 0)
			goto done;
		r->has_base = r->norm_vs_base = 1;
		r->base_id = a.sides[a.n].id;
		if (!(r->base_rev = mvc__strdup(o->base))) {
			error = MVC_ENOMEM;
			goto done;
		}
	}
	if ((error = weights(&a)) < 0 ||
	    (error = choose_files(&a, paths, npaths)) < 0)
		goto done;
	for (size_t i = 0; i < a.nfiles; i++)
		if ((error = open_file(&a, &a.files[i])) < 0)
			goto done;
	if (git_repository_odb(&a.odb, a.git) < 0) {
		error = mvc__err_git(MVC_ERROR, "cannot open the object database");
		goto done;
	}
	if ((error = plan_tensors(&a)) < 0 || (error = check_ints(&a)) < 0)
		goto done;
	if (!(a.plist = mvc__calloc(a.nts + 1, sizeof(*a.plist)))) {
		error = MVC_ENOMEM;
		goto done;
	}
	r->trimmed = o->method == MVC_AGGREGATE_TRIMMED_MEAN ? (size_t)floor(o->trim * (double)a.n) : 0;
	r->dp = a.dp;
	a.noise_std = a.dp ? o->noise_multiplier * o->clip / (double)a.n : 0;
	r->noise_std = a.noise_std;
	if (a.noise_std > 0) {
		if (o->has_seed) {
			unsigned char s[32] = "mvc aggregate noise seed";

			for (int j = 0; j < 8; j++)
				s[24 + j] = (unsigned char)(o->seed >> (8 * j));
			crypto_generichash(a.master, sizeof(a.master), s, sizeof(s), NULL, 0);
		} else {
			randombytes_buf(a.master, sizeof(a.master));
		}
	}
	if (o->checkout && !a.dry && (error = check_workdir(&a, repo)) < 0)
		goto done;

	/* pass 1: what the method must know of the whole model first */
	if (o->method == MVC_AGGREGATE_KRUM || a.dp) {
		if ((error = mvc__combine_pass(&a, 1)) < 0)
			goto done;
		if (o->method == MVC_AGGREGATE_KRUM) {
			double *scores = mvc__calloc(a.n, sizeof(double));

			if (!scores) {
				error = MVC_ENOMEM;
				goto done;
			}
			a.primary = mvc__krum_select(a.tot, a.n, o->byzantine, scores);
			for (size_t i = 0; i < a.n; i++) {
				r->inputs[i].has_score = 1;
				r->inputs[i].score = scores[i];
				/* the update against the result (the selected input) or the base */
				r->inputs[i].norm = (double)(a.has_base ? a.tot[a.n * a.n + i]
				                                        : a.tot[i * a.n + a.primary]);
			}
			free(scores);
			r->has_selected = 1;
			r->selected = a.primary;
			r->inputs[a.primary].selected = 1;
			if (a.has_base)
				r->result_norm = (double)sqrtl(a.tot[a.n * a.n + a.primary]);
		} else {
			for (size_t i = 0; i < a.n; i++) {
				double norm = (double)sqrtl(a.tot[i]);

				r->inputs[i].norm = (double)a.tot[i];
				r->inputs[i].clip_factor = !isfinite(norm) ? 0 : norm <= o->clip ? 1
				                                                                  : o->clip / norm;
				a.clipf[i] = r->inputs[i].clip_factor / (double)a.n;
			}
		}
	}

	/* pass 2: the result */
	if (!a.dry)
		for (size_t i = 0; i < a.nfiles; i++)
			if ((error = make_temp(&a.files[i], repo)) < 0)
				goto done;
	if ((error = mvc__combine_pass(&a, 2)) < 0)
		goto done;
	if (o->method != MVC_AGGREGATE_KRUM && !a.dp)
		for (size_t i = 0; i < a.n; i++)
			r->inputs[i].norm = (double)a.tot[i];
	if (a.has_base && o->method != MVC_AGGREGATE_KRUM)
		r->result_norm = (double)sqrtl(a.rtot);
	finish_norms(&a);
	for (size_t i = 0; i < a.nfiles; i++) {
		afile *f = &a.files[i];

		r->summary.bytes += f->m[0]->file_size;
		if (a.dry)
			continue;
		if ((error = mvc__combine_gap(f, f->m[0]->file_size)) < 0)
			goto done;
		if (f->hpos != f->m[0]->header_size) {
			error = mvc__err(MVC_ECORRUPT, "'%s': the stored header does not fit its layout",
			    f->path);
			goto done;
		}
		if (close(f->fd) < 0) {
			f->fd = -1;
			error = mvc__err_sys("cannot write the result of '%s'", f->path);
			goto done;
		}
		f->fd = -1;
	}
	r->summary.files = a.nfiles;
	if ((error = tensor_notes(&a)) < 0)
		goto done;
	if (!(r->files = mvc__calloc(a.nfiles + 1, sizeof(char *)))) {
		error = MVC_ENOMEM;
		goto done;
	}
	for (size_t i = 0; i < a.nfiles; i++) {
		if (!(r->files[i] = mvc__strdup(a.files[i].path))) {
			error = MVC_ENOMEM;
			goto done;
		}
		r->nfiles = i + 1;
	}
	if (a.dry)
		goto ok;
	if ((error = write_version(&a, repo, has_head ? &head : NULL)) < 0)
		goto done;
	if (o->checkout) {
		mvc_checkout_options co = MVC_CHECKOUT_OPTIONS_INIT;
		char hex[MVC_OID_HEXSZ + 1];

		mvc_oid_fmt(hex, &r->id);
		if ((error = mvc_checkout_paths(repo, hex, (const char *const *)r->files, r->nfiles,
		         &co)) < 0) {
			char why[512];

			snprintf(why, sizeof(why), "%s", mvc_error_last());
			error = mvc__err(error, "version %.12s was committed, but the working files were "
			    "not written: %s", hex, why);
			goto done;
		}
		r->checked_out = 1;
	}
ok:
	*out = r;
	r = NULL;
done:
	agg_clear(&a);
	mvc_aggregate_result_free(r);
	return error;
}
