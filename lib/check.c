/*
 * mvc check: a version's NaN and Inf counts, its shapes against another
 * version, its change against its parent, each from one mvc_diff.  The
 * version is diffed against itself with all_values for the NaN counts
 * (every float chunk read once), against the shapes' version with stat
 * (manifests only), and against its parent for the change (the changed
 * chunks of both sides).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "upkeep.h"

const char *mvc_check_kind_name(mvc_check_kind k)
{
	switch (k) {
	case MVC_CHECK_NONFINITE: return "nonfinite";
	case MVC_CHECK_SHAPE: return "shape";
	case MVC_CHECK_DTYPE: return "dtype";
	case MVC_CHECK_ADDED: return "added";
	case MVC_CHECK_REMOVED: return "removed";
	case MVC_CHECK_RENAMED: return "renamed";
	case MVC_CHECK_FILE_ADDED: return "file-added";
	case MVC_CHECK_FILE_REMOVED: return "file-removed";
	case MVC_CHECK_RELATIVE: return "relative-change";
	}
	return "?";
}

void mvc_check_result_free(mvc_check_result *r)
{
	if (!r)
		return;
	mvc_diff_free(r->nan_diff);
	mvc_diff_free(r->shape_diff);
	mvc_diff_free(r->change_diff);
	free(r->problems);
	free(r);
}

static mvc_check_problem *add(mvc_check_result *r, size_t *cap, mvc_check_kind kind,
                              const char *path, const mvc_diff_tensor *t)
{
	mvc_check_problem *p;

	if (r->count == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		mvc_check_problem *np = realloc(r->problems, nc * sizeof(*np));

		if (!np) {
			mvc__err(MVC_ENOMEM, "out of memory");
			return NULL;
		}
		r->problems = np;
		*cap = nc;
	}
	p = &r->problems[r->count++];
	memset(p, 0, sizeof(*p));
	p->kind = kind;
	p->path = path;
	if (t) {
		p->tensor = t->name;
		p->old_name = t->old_name;
		p->old_tensor = t->old_tensor;
		p->new_tensor = t->new_tensor;
	}
	return p;
}

/* A revision as a full id, so that every diff sees the same version. */
static int resolve(mvc_oid *out, char hex[MVC_OID_HEXSZ + 1], git_repository *git, const char *rev)
{
	git_commit *c = NULL;
	int error;

	if ((error = mvc__resolve(&c, git, rev)) < 0)
		return error;
	mvc__oid_from_git(out, git_commit_id(c));
	mvc_oid_fmt(hex, out);
	git_commit_free(c);
	return 0;
}

static int check_nan(mvc_check_result *r, size_t *cap, mvc_repo *repo, const char *hex,
                     const mvc_check_options *o)
{
	mvc_diff_options d = MVC_DIFF_OPTIONS_INIT;
	int error;

	d.all_values = 1;
	d.threads = o->threads;
	if ((error = mvc_diff_versions(&r->nan_diff, repo, hex, hex, NULL, 0, &d)) < 0)
		return error;
	for (size_t i = 0; i < r->nan_diff->count; i++) {
		const mvc_diff_file *f = &r->nan_diff->files[i];

		for (size_t k = 0; k < f->count; k++) {
			const mvc_diff_tensor *t = &f->tensors[k];
			mvc_check_problem *p;

			if (t->compared != MVC_DIFF_COMPARE_FLOAT)
				continue;
			r->float_tensors++;
			if (!t->nan_count && !t->inf_count)
				continue;
			if (!(p = add(r, cap, MVC_CHECK_NONFINITE, f->path, t)))
				return MVC_ENOMEM;
			p->nan_count = t->nan_count;
			p->inf_count = t->inf_count;
		}
	}
	return 0;
}

static int check_shapes(mvc_check_result *r, size_t *cap, mvc_repo *repo, const char *hex,
                        const mvc_check_options *o)
{
	mvc_diff_options d = MVC_DIFF_OPTIONS_INIT;
	char other[MVC_OID_HEXSZ + 1];
	int error;

	if ((error = resolve(&r->shapes, other, mvc__repo_git(repo), o->same_shapes_as)) < 0)
		return error;
	r->has_shapes = 1;
	d.stat = 1;
	d.threads = o->threads;
	if ((error = mvc_diff_versions(&r->shape_diff, repo, other, hex, NULL, 0, &d)) < 0)
		return error;
	for (size_t i = 0; i < r->shape_diff->count; i++) {
		const mvc_diff_file *f = &r->shape_diff->files[i];

		if (f->status == MVC_DIFF_ADDED || f->status == MVC_DIFF_REMOVED) {
			if (!add(r, cap, f->status == MVC_DIFF_ADDED ? MVC_CHECK_FILE_ADDED
			                                             : MVC_CHECK_FILE_REMOVED, f->path, NULL))
				return MVC_ENOMEM;
			continue;
		}
		for (size_t k = 0; k < f->count; k++) {
			const mvc_diff_tensor *t = &f->tensors[k];
			mvc_check_kind kind;

			switch (t->status) {
			case MVC_DIFF_SHAPE_CHANGED: kind = MVC_CHECK_SHAPE; break;
			case MVC_DIFF_DTYPE_CHANGED: kind = MVC_CHECK_DTYPE; break;
			case MVC_DIFF_ADDED: kind = MVC_CHECK_ADDED; break;
			case MVC_DIFF_REMOVED: kind = MVC_CHECK_REMOVED; break;
			case MVC_DIFF_RENAMED: kind = MVC_CHECK_RENAMED; break;
			default: continue;
			}
			if (!add(r, cap, kind, f->path, t))
				return MVC_ENOMEM;
		}
	}
	return 0;
}

static int check_change(mvc_check_result *r, size_t *cap, mvc_repo *repo, const char *hex,
                        const mvc_check_options *o)
{
	mvc_diff_options d = MVC_DIFF_OPTIONS_INIT;
	git_repository *git = mvc__repo_git(repo);
	char other[MVC_OID_HEXSZ + 1];
	int error;

	if (o->against) {
		if ((error = resolve(&r->against, other, git, o->against)) < 0)
			return error;
	} else {
		git_commit *c = NULL;
		git_oid id;

		mvc__oid_to_git(&id, &r->id);
		if (git_commit_lookup(&c, git, &id) < 0)
			return mvc__err_git(MVC_ECORRUPT, "cannot read version %.12s", hex);
		if (git_commit_parentcount(c) == 0) {
			git_commit_free(c);
			return 0; /* the first version: nothing to measure against */
		}
		mvc__oid_from_git(&r->against, git_commit_parent_id(c, 0));
		git_commit_free(c);
		mvc_oid_fmt(other, &r->against);
	}
	r->has_against = 1;
	d.threads = o->threads;
	if ((error = mvc_diff_versions(&r->change_diff, repo, other, hex, NULL, 0, &d)) < 0)
		return error;
	for (size_t i = 0; i < r->change_diff->count; i++) {
		const mvc_diff_file *f = &r->change_diff->files[i];

		for (size_t k = 0; k < f->count; k++) {
			const mvc_diff_tensor *t = &f->tensors[k];
			mvc_check_problem *p;
			bool over;

			if (t->status != MVC_DIFF_CHANGED || t->compared != MVC_DIFF_COMPARE_FLOAT)
				continue;
			r->compared++;
			if (t->relative_defined && (!r->largest_tensor || t->relative > r->largest_relative)) {
				r->largest_relative = t->relative;
				r->largest_path = f->path;
				r->largest_tensor = t->name;
			}
			/* from zero to anything is an unbounded change; so is a
			 * value that became or stopped being NaN or infinite */
			over = t->relative_defined ? t->relative > o->max_relative_change
			                           : t->l2_diff > 0;
			if (!over && !t->nonfinite_changed)
				continue;
			if (!(p = add(r, cap, MVC_CHECK_RELATIVE, f->path, t)))
				return MVC_ENOMEM;
			p->relative = t->relative;
			p->relative_defined = t->relative_defined;
			p->nonfinite_changed = t->nonfinite_changed;
		}
	}
	return 0;
}

int mvc_check(mvc_check_result **out, mvc_repo *repo, const char *rev,
              const mvc_check_options *o)
{
	mvc_check_result *r;
	char hex[MVC_OID_HEXSZ + 1];
	size_t cap = 0;
	int error;

	*out = NULL;
	if (!o || o->version != MVC_CHECK_OPTIONS_VERSION)
		return mvc__err(MVC_EINVALID, "bad check options version");
	if (!o->no_nan && !o->same_shapes_as && !o->has_max_relative)
		return mvc__err(MVC_EINVALID, "no check asked for");
	if (o->has_max_relative && (!(o->max_relative_change >= 0) || isinf(o->max_relative_change)))
		return mvc__err(MVC_EINVALID, "the largest relative change must be a finite number of at "
		    "least 0");
	if (o->against && !o->has_max_relative)
		return mvc__err(MVC_EINVALID, "a version to measure against needs a largest relative "
		    "change");
	if (!(r = mvc__calloc(1, sizeof(*r))))
		return MVC_ENOMEM;
	if ((error = resolve(&r->id, hex, mvc__repo_git(repo), rev)) < 0 ||
	    (o->no_nan && (error = check_nan(r, &cap, repo, hex, o)) < 0) ||
	    (o->same_shapes_as && (error = check_shapes(r, &cap, repo, hex, o)) < 0) ||
	    (o->has_max_relative && (error = check_change(r, &cap, repo, hex, o)) < 0)) {
		mvc_check_result_free(r);
		/* a version whose data mvc prune dropped says so */
		error = mvc__prune_explain_rev(error, repo, rev);
		if (error == MVC_ECORRUPT && o->against)
			error = mvc__prune_explain_rev(error, repo, o->against);
		return error;
	}
	*out = r;
	return 0;
}
