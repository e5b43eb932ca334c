/*
 * The classifier evaluator: a multi-layer perceptron (dense layers, ReLU
 * between them, a sigmoid on the single output) run over CSV rows, scored
 * by AUC, log loss and accuracy.
 *
 * Weights are converted to the (out, in) layout and packed like the
 * retrieval item table, so each layer is the same kernel: MR rows of
 * activations against a panel of NR neurons.  Rows run in blocks on all
 * cores; every row's output is computed the same way wherever it falls.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "eval.h"
#include "tensorio.h"
#include "pool.h"

#define NR MVC__NR
#define MR MVC__MR
#define RBLOCK 256        /* rows per work item */
#define MAX_LAYERS 256

typedef struct layer {
	mvc__tsrc w, b;
	size_t in, out;
	mvc__panels P;        /* the weights, (out, in), packed */
	float *bias;
} layer;

typedef struct fctx {
	float *a, *b;         /* MR x width activations */
	float *q;             /* packed queries */
	float *tile;
} fctx;

typedef struct frun {
	const layer *L;
	size_t nl, maxw;
	const mvc__rows *rows;
	double *z;
	fctx *t;
} frun;

static const char *layout_name(mvc_weight_layout l)
{
	return l == MVC_WEIGHTS_KERAS ? "keras" : "torch";
}

static int fwd_work(void *p, size_t item, unsigned thread)
{
	frun *f = p;
	fctx *t = &f->t[thread];
	size_t r0 = item * RBLOCK, r1 = r0 + RBLOCK < f->rows->n ? r0 + RBLOCK : f->rows->n;

	for (size_t g = r0; g < r1; g += MR) {
		size_t nrow = r1 - g < MR ? r1 - g : MR;
		float *in = t->a, *outv = t->b;

		memset(in, 0, MR * f->maxw * sizeof(float));
		for (size_t i = 0; i < nrow; i++)
			memcpy(in + i * f->maxw, f->rows->x + (g + i) * f->rows->nfeat,
			    f->rows->nfeat * sizeof(float));
		for (size_t l = 0; l < f->nl; l++) {
			const layer *L = &f->L[l];
			const float *rows[MR];
			int last = l + 1 == f->nl;

			for (size_t i = 0; i < MR; i++)
				rows[i] = i < nrow ? in + i * f->maxw : NULL;
			mvc__pack_queries(t->q, rows, L->in);
			for (size_t pn = 0; pn < L->P.npanels; pn++) {
				unsigned nvalid = L->out - pn * NR < NR ? (unsigned)(L->out - pn * NR) : NR;

				mvc__kernel(t->q, L->P.v + pn * L->in * NR, NULL, L->in, nvalid, t->tile,
				    NULL, NULL, NULL);
				for (size_t i = 0; i < nrow; i++)
					for (unsigned j = 0; j < nvalid; j++) {
						float v = t->tile[i * NR + j] + L->bias[pn * NR + j];

						if (last)
							f->z[g + i] = v;
						else
							outv[i * f->maxw + pn * NR + j] = v > 0 ? v : 0;
					}
			}
			if (!last) {
				float *x = in;

				in = outv;
				outv = x;
			}
		}
	}
	for (size_t r = r0; r < r1; r++)
		if (isnan(f->z[r]))
			return mvc__err(MVC_EINVALID,
			    "row %zu of the test data: the model's output is not a number", r + 1);
	return 0;
}

static int fwd_done(void *p, size_t item)
{
	(void)p;
	(void)item;
	return 0;
}

/* The layers named by weight/bias pairs in file order, in the one file
 * that has any (or `path`). */
static int detect(char ***names, size_t *n, char **file, const mvc__evctx *c, const char *path)
{
	char **files = NULL, rq[MVC_QUOTE_MAX], p1[MVC_QUOTE_MAX], p2[MVC_QUOTE_MAX];
	size_t nfiles = 0;
	int error = 0;

	*names = NULL;
	*n = 0;
	*file = NULL;
	mvc_quote(rq, sizeof(rq), c->rev);
	if (path) {
		if (!(files = mvc__calloc(2, sizeof(char *))) || !(files[0] = mvc__strdup(path)))
			return MVC_ENOMEM;
		nfiles = 1;
	} else if ((error = mvc__tree_files(&files, &nfiles, c->git, c->root)) < 0) {
		return error;
	}
	for (size_t i = 0; i < nfiles; i++) {
		git_tree *ft = NULL;
		mvc_manifest *m = NULL;
		char **v = NULL;
		size_t nv = 0;

		if ((error = mvc__file_tree(&ft, c->git, c->root, files[i])) < 0 ||
		    (error = mvc__tree_manifest(&m, c->git, ft, files[i])) < 0) {
			if (error == MVC_ENOTFOUND)
				error = mvc__err(MVC_ENOTFOUND, "'%s' is not tracked in '%s'",
				    mvc_quote(p1, sizeof(p1), files[i]), rq);
			git_tree_free(ft);
			goto done;
		}
		git_tree_free(ft);
		if (!(v = mvc__calloc(2 * m->ntensors + 1, sizeof(char *)))) {
			mvc_manifest_free(m);
			error = MVC_ENOMEM;
			goto done;
		}
		for (size_t k = 0; k < m->ntensors; k++) {
			const mvc_tensor *t = &m->tensors[k].t;
			size_t len = strlen(t->name);
			mvc_buf bias = MVC_BUF_INIT;
			long b;

			if (t->ndim != 2 || len < 7 || strcmp(t->name + len - 7, ".weight"))
				continue;
			if (mvc_buf_printf(&bias, "%.*s.bias", (int)(len - 7), t->name) < 0) {
				error = MVC_ENOMEM;
				break;
			}
			b = mvc_manifest_find(m, bias.ptr);
			if (b >= 0 && m->tensors[b].t.ndim == 1) {
				if (!(v[nv] = mvc__strdup(t->name))) {
					mvc_buf_free(&bias);
					error = MVC_ENOMEM;
					break;
				}
				v[nv + 1] = mvc_buf_detach(&bias);
				nv += 2;
			}
			mvc_buf_free(&bias);
		}
		mvc_manifest_free(m);
		if (error < 0 || nv == 0) {
			mvc_strings_free(v, nv);
			if (error < 0)
				goto done;
			continue;
		}
		if (*names) {
			error = mvc__err(MVC_EINVALID,
			    "both '%s' and '%s' of '%s' have weight and bias tensors: name the file or "
			    "the layers", mvc_quote(p1, sizeof(p1), *file), mvc_quote(p2, sizeof(p2), files[i]),
			    rq);
			mvc_strings_free(v, nv);
			goto done;
		}
		*names = v;
		*n = nv;
		if (!(*file = mvc__strdup(files[i]))) {
			error = MVC_ENOMEM;
			goto done;
		}
	}
	if (!*names)
		error = mvc__err(MVC_ENOTFOUND,
		    "no file of '%s' has layers named X.weight (2-D) and X.bias (1-D): name them",
		    rq);
done:
	mvc_strings_free(files, nfiles);
	if (error < 0) {
		mvc_strings_free(*names, *n);
		*names = NULL;
		*n = 0;
		free(*file);
		*file = NULL;
	}
	return error;
}

/* Check the chain of layers against `width` inputs and decide the layout. */
static int chain(layer *L, size_t nl, size_t width, mvc_weight_layout *layout)
{
	mvc_weight_layout want = *layout;

	for (size_t l = 0; l < nl; l++) {
		const mvc_tensor *w = &L[l].w.mt->t, *b = &L[l].b.mt->t;
		uint64_t r = w->shape[0], c = w->shape[1], nb = b->shape[0];
		int torch, keras;

		if (w->ndim != 2 || b->ndim != 1)
			return mvc__err(MVC_EINVALID,
			    "layer %zu: the weight '%s' must be 2-D and the bias '%s' 1-D", l + 1,
			    L[l].w.name, L[l].b.name);
		torch = c == width && r == nb;
		keras = r == width && c == nb;
		if (want == MVC_WEIGHTS_TORCH ? !torch : want == MVC_WEIGHTS_KERAS ? !keras
		                                                                : !torch && !keras) {
			if (want == MVC_WEIGHTS_AUTO)
				return mvc__err(MVC_EINVALID,
				    "layer %zu: weight '%s' [%llu, %llu] with bias '%s' [%llu] does not take "
				    "%zu inputs in either layout", l + 1, L[l].w.name, (unsigned long long)r,
				    (unsigned long long)c, L[l].b.name, (unsigned long long)nb, width);
			return mvc__err(MVC_EINVALID,
			    "layer %zu: weight '%s' [%llu, %llu] with bias '%s' [%llu] does not take %zu "
			    "inputs in the %s layout (%s)", l + 1, L[l].w.name, (unsigned long long)r,
			    (unsigned long long)c, L[l].b.name, (unsigned long long)nb, width,
			    layout_name(want), want == MVC_WEIGHTS_TORCH ? "out, in" : "in, out");
		}
		if (want == MVC_WEIGHTS_AUTO && torch != keras)
			want = torch ? MVC_WEIGHTS_TORCH : MVC_WEIGHTS_KERAS;
		L[l].in = width;
		L[l].out = (size_t)nb;
		width = (size_t)nb;
	}
	if (width != 1)
		return mvc__err(MVC_EINVALID,
		    "the last layer has %zu outputs; a classifier has one (a sigmoid)", width);
	if (want == MVC_WEIGHTS_AUTO)
		return mvc__err(MVC_EINVALID,
		    "every weight matrix is square: the layout cannot be told from the shapes; "
		    "give it (torch or keras)");
	*layout = want;
	return 0;
}

/* ---- metrics ---- */

static const double *sort_z;

static int cmp_z(const void *x, const void *y)
{
	size_t a = *(const size_t *)x, b = *(const size_t *)y;

	if (sort_z[a] != sort_z[b])
		return sort_z[a] < sort_z[b] ? -1 : 1;
	return a < b ? -1 : a > b;
}

size_t *mvc__order_by(const double *z, size_t n)
{
	size_t *o = mvc__calloc(n + 1, sizeof(size_t));
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

	if (!o)
		return NULL;
	for (size_t i = 0; i < n; i++)
		o[i] = i;
	/* qsort has no context argument: one sort at a time */
	pthread_mutex_lock(&mu);
	sort_z = z;
	qsort(o, n, sizeof(*o), cmp_z);
	pthread_mutex_unlock(&mu);
	return o;
}

double mvc__auc(const double *z, const unsigned char *y, const double *w, const size_t *order,
                size_t n)
{
	double num = 0, below = 0, pos = 0, neg = 0;

	for (size_t i = 0; i < n;) {
		double pw = 0, nw = 0, zi = z[order[i]];

		for (; i < n && z[order[i]] == zi; i++) {
			double wi = w ? w[order[i]] : 1;

			if (y[order[i]])
				pw += wi;
			else
				nw += wi;
		}
		num += pw * (below + 0.5 * nw);
		below += nw;
		pos += pw;
		neg += nw;
	}
	return pos > 0 && neg > 0 ? num / (pos * neg) : NAN;
}

/* ---- the evaluator ---- */

int mvc__eval_classifier(mvc__evres *out, const mvc__evctx *c)
{
	const mvc_score_options *o = c->o;
	char **names = NULL, *file = NULL;
	size_t nnames = 0, nl = 0, maxw, nblocks;
	layer *L = NULL;
	mvc__rows rows;
	mvc_weight_layout layout = o->layout;
	frun f;
	double *z = NULL, *per = NULL;
	size_t *order = NULL;
	json_t *opt = NULL, *lj = NULL;
	mvc_score *s = NULL;
	int error;

	memset(&rows, 0, sizeof(rows));
	memset(&f, 0, sizeof(f));
	if (!o->test)
		return mvc__err(MVC_EINVALID, "the classifier evaluator needs test rows (--test)");
	if (o->items || o->users || o->history || o->k || o->dot)
		return mvc__err(MVC_EINVALID, "the classifier evaluator takes no retrieval options");
	if (o->command)
		return mvc__err(MVC_EINVALID, "the classifier evaluator runs no command");
	if ((unsigned)layout > MVC_WEIGHTS_KERAS)
		return mvc__err(MVC_EINVALID, "unknown weight layout");
	if (o->layers && (o->nlayers == 0 || o->nlayers % 2))
		return mvc__err(MVC_EINVALID,
		    "layers come in pairs, weight then bias: %zu tensor%s named", o->nlayers,
		    o->nlayers == 1 ? "" : "s");
	if ((error = mvc__rows_read(&rows, o->test)) < 0)
		goto done;
	if (o->layers) {
		nnames = o->nlayers;
	} else if ((error = detect(&names, &nnames, &file, c, o->file)) < 0) {
		goto done;
	}
	nl = nnames / 2;
	if (nl > MAX_LAYERS) {
		error = mvc__err(MVC_EINVALID, "more than %d layers", MAX_LAYERS);
		goto done;
	}
	if (!(L = mvc__calloc(nl, sizeof(*L)))) {
		error = MVC_ENOMEM;
		goto done;
	}
	for (size_t l = 0; l < nl; l++) {
		const char *wn = o->layers ? o->layers[2 * l] : names[2 * l];
		const char *bn = o->layers ? o->layers[2 * l + 1] : names[2 * l + 1];
		const char *in = o->file ? o->file : file;

		if ((error = mvc__tsrc_open(&L[l].w, c->git, c->root, c->rev, in, wn)) < 0 ||
		    (error = mvc__tsrc_open(&L[l].b, c->git, c->root, c->rev, in, bn)) < 0 ||
		    (error = mvc__tsrc_float_check(&L[l].w)) < 0 ||
		    (error = mvc__tsrc_float_check(&L[l].b)) < 0)
			goto done;
	}
	if ((error = chain(L, nl, rows.nfeat, &layout)) < 0)
		goto done;
	/* the weights, as (out, in), packed */
	maxw = rows.nfeat;
	for (size_t l = 0; l < nl; l++) {
		float *w = NULL;

		if (L[l].out > maxw)
			maxw = L[l].out;
		if ((error = mvc__tsrc_floats(&w, &L[l].w)) < 0 ||
		    (error = mvc__tsrc_floats(&L[l].bias, &L[l].b)) < 0 ||
		    (error = mvc__panels_init(&L[l].P, L[l].out, L[l].in, 0)) < 0) {
			free(w);
			goto done;
		}
		if (layout == MVC_WEIGHTS_TORCH) {
			for (size_t r = 0; r < L[l].out; r++)
				mvc__panels_set(&L[l].P, r, w + r * L[l].in);
		} else {
			float *col = mvc__malloc(L[l].in * sizeof(float));

			if (!col) {
				free(w);
				error = MVC_ENOMEM;
				goto done;
			}
			for (size_t r = 0; r < L[l].out; r++) {
				for (size_t k = 0; k < L[l].in; k++)
					col[k] = w[k * L[l].out + r];
				mvc__panels_set(&L[l].P, r, col);
			}
			free(col);
		}
		free(w);
		/* the bias padded to whole panels */
		{
			float *b = mvc__calloc(L[l].P.npanels * NR, sizeof(float));

			if (!b) {
				error = MVC_ENOMEM;
				goto done;
			}
			memcpy(b, L[l].bias, L[l].out * sizeof(float));
			free(L[l].bias);
			L[l].bias = b;
		}
	}

	/* every row through the network */
	if (!(z = mvc__calloc(rows.n, sizeof(double)))) {
		error = MVC_ENOMEM;
		goto done;
	}
	f.L = L;
	f.nl = nl;
	f.maxw = (maxw + NR - 1) / NR * NR;
	f.rows = &rows;
	f.z = z;
	nblocks = (rows.n + RBLOCK - 1) / RBLOCK;
	{
		unsigned nt = c->nthreads < nblocks ? c->nthreads : (unsigned)nblocks;

		if (nt < 1)
			nt = 1;
		if (!(f.t = mvc__calloc(nt, sizeof(*f.t)))) {
			error = MVC_ENOMEM;
			goto done;
		}
		for (unsigned i = 0; i < nt; i++) {
			size_t qb = (f.maxw * MR * sizeof(float) + 63) / 64 * 64;

			if (!(f.t[i].a = mvc__malloc(MR * f.maxw * sizeof(float))) ||
			    !(f.t[i].b = mvc__malloc(MR * f.maxw * sizeof(float))) ||
			    !(f.t[i].q = aligned_alloc(64, qb)) ||
			    !(f.t[i].tile = mvc__malloc(MR * NR * sizeof(float)))) {
				error = mvc__err(MVC_ENOMEM, "out of memory");
				for (unsigned k = 0; k <= i; k++) {
					free(f.t[k].a);
					free(f.t[k].b);
					free(f.t[k].q);
					free(f.t[k].tile);
				}
				free(f.t);
				f.t = NULL;
				goto done;
			}
		}
		error = mvc__pool_run(nblocks, nt, 2 * (size_t)nt + 2, fwd_work, fwd_done, &f);
		for (unsigned i = 0; i < nt; i++) {
			free(f.t[i].a);
			free(f.t[i].b);
			free(f.t[i].q);
			free(f.t[i].tile);
		}
		free(f.t);
		f.t = NULL;
		if (error < 0)
			goto done;
	}

	/* the metrics: auc, log loss, accuracy */
	{
		size_t npos = 0;
		long double loss = 0, right = 0;
		char q[MVC_QUOTE_MAX];
		double auc;

		for (size_t i = 0; i < rows.n; i++)
			npos += rows.y[i];
		if (npos == 0 || npos == rows.n) {
			error = mvc__err(MVC_EINVALID,
			    "every label of '%s' is %d: AUC needs rows of both classes",
			    mvc_quote(q, sizeof(q), o->test), npos ? 1 : 0);
			goto done;
		}
		if (!(order = mvc__order_by(z, rows.n)) ||
		    !(per = mvc__calloc(rows.n * 3 + 1, sizeof(double)))) {
			error = mvc__err(MVC_ENOMEM, "out of memory");
			goto done;
		}
		auc = mvc__auc(z, rows.y, NULL, order, rows.n);
		for (size_t i = 0; i < rows.n; i++) {
			double p = 1 / (1 + exp(-z[i])), li;

			if (p < 1e-15)
				p = 1e-15;
			if (p > 1 - 1e-15)
				p = 1 - 1e-15;
			li = rows.y[i] ? -log(p) : -log(1 - p);
			per[3 * i] = NAN;
			per[3 * i + 1] = li;
			per[3 * i + 2] = (z[i] >= 0) == (rows.y[i] != 0);
			loss += li;
			right += per[3 * i + 2];
		}
		if ((error = mvc__score_new(&s, c, "classifier")) < 0 ||
		    (error = mvc__score_add(s, "auc", auc)) < 0 ||
		    (error = mvc__score_add(s, "logloss", (double)(loss / rows.n))) < 0 ||
		    (error = mvc__score_add(s, "accuracy", (double)(right / rows.n))) < 0)
			goto done;
	}
	if (!(lj = json_array())) {
		error = mvc__err(MVC_ENOMEM, "out of memory");
		goto done;
	}
	for (size_t l = 0; l < nl; l++) {
		json_array_append_new(lj, json_string(o->layers ? o->layers[2 * l] : names[2 * l]));
		json_array_append_new(lj, json_string(o->layers ? o->layers[2 * l + 1] : names[2 * l + 1]));
	}
	opt = json_pack("{s:O, s:s, s:s}", "layers", lj, "layout", layout_name(layout), "file",
	    L[0].w.path);
	if (!opt || !(s->options = json_dumps(opt, JSON_COMPACT))) {
		error = mvc__err(MVC_ENOMEM, "out of memory");
		goto done;
	}
	{
		mvc_buf b = MVC_BUF_INIT;

		if ((error = mvc_buf_printf(&b, "{\"test\":\"%s\"}", rows.digest)) < 0)
			goto done;
		s->data = mvc_buf_detach(&b);
		if (!(s->test_digest = mvc__strdup(rows.digest))) {
			error = MVC_ENOMEM;
			goto done;
		}
	}
	s->units = rows.n;
	out->s = s;
	s = NULL;
	out->nunits = rows.n;
	if (c->keep_units) {
		out->per_unit = per;
		out->z = z;
		out->label = rows.y;
		per = NULL;
		z = NULL;
		rows.y = NULL;
	}
done:
	json_decref(opt);
	json_decref(lj);
	mvc_score_free(s);
	free(order);
	free(per);
	free(z);
	for (size_t l = 0; L && l < nl; l++) {
		mvc__tsrc_close(&L[l].w);
		mvc__tsrc_close(&L[l].b);
		mvc__panels_free(&L[l].P);
		free(L[l].bias);
	}
	free(L);
	mvc_strings_free(names, nnames);
	free(file);
	mvc__rows_free(&rows);
	return error;
}
