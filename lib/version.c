/* Reading versions back: commits, their metadata, files and history. */
#include <stdlib.h>
#include <string.h>
#include "internal.h"

struct mvc_version {
	mvc_repo *repo;
	git_commit *commit;
	mvc_oid id;
	git_message_trailer_array trailers;
	int have_trailers;
	char **files;
	size_t nfiles;
	int have_files;
};

void mvc_strings_free(char **strings, size_t count)
{
	if (!strings)
		return;
	for (size_t i = 0; i < count; i++)
		free(strings[i]);
	free(strings);
}

static int wrap(mvc_version **out, mvc_repo *repo, git_commit *commit)
{
	mvc_version *v = mvc__calloc(1, sizeof(*v));

	if (!v) {
		git_commit_free(commit);
		return MVC_ENOMEM;
	}
	v->repo = repo;
	v->commit = commit;
	mvc__oid_from_git(&v->id, git_commit_id(commit));
	*out = v;
	return 0;
}

int mvc_version_lookup(mvc_version **out, mvc_repo *repo, const char *rev)
{
	git_commit *c;
	int error;

	*out = NULL;
	if ((error = mvc__resolve(&c, mvc__repo_git(repo), rev)) < 0)
		return error;
	return wrap(out, repo, c);
}

void mvc_version_free(mvc_version *v)
{
	if (!v)
		return;
	if (v->have_trailers)
		git_message_trailer_array_free(&v->trailers);
	mvc_strings_free(v->files, v->nfiles);
	git_commit_free(v->commit);
	free(v);
}

const mvc_oid *mvc_version_id(const mvc_version *v)
{
	return &v->id;
}

const char *mvc_version_message(const mvc_version *v)
{
	return git_commit_message(v->commit);
}

const char *mvc_version_summary(const mvc_version *v)
{
	const char *s = git_commit_summary(v->commit);

	return s ? s : "";
}

static void person(mvc_person *out, const git_signature *s)
{
	out->name = s->name;
	out->email = s->email;
	out->time = s->when.time;
	out->tz_minutes = s->when.offset;
}

void mvc_version_author(mvc_person *out, const mvc_version *v)
{
	person(out, git_commit_author(v->commit));
}

void mvc_version_committer(mvc_person *out, const mvc_version *v)
{
	person(out, git_commit_committer(v->commit));
}

size_t mvc_version_parentcount(const mvc_version *v)
{
	return git_commit_parentcount(v->commit);
}

int mvc_version_parent_id(mvc_oid *out, const mvc_version *v, size_t n)
{
	const git_oid *p = git_commit_parent_id(v->commit, (unsigned)n);

	if (!p)
		return mvc__err(MVC_ENOTFOUND, "version has no parent %zu", n);
	mvc__oid_from_git(out, p);
	return 0;
}

static void load_trailers(mvc_version *v)
{
	mvc_version *mv = (mvc_version *)v;

	if (mv->have_trailers)
		return;
	memset(&mv->trailers, 0, sizeof(mv->trailers));
	if (git_message_trailers(&mv->trailers, git_commit_message(v->commit)) == 0)
		mv->have_trailers = 1;
}

size_t mvc_version_meta_count(const mvc_version *v)
{
	load_trailers((mvc_version *)v);
	return v->have_trailers ? v->trailers.count : 0;
}

int mvc_version_meta(const char **key, const char **value, const mvc_version *v, size_t i)
{
	if (i >= mvc_version_meta_count(v))
		return mvc__err(MVC_ENOTFOUND, "no metadata entry %zu", i);
	*key = v->trailers.trailers[i].key;
	*value = v->trailers.trailers[i].value;
	return 0;
}

static void load_files(mvc_version *v)
{
	git_tree *root = NULL;

	if (v->have_files)
		return;
	v->have_files = 1;
	if (git_commit_tree(&root, v->commit) == 0)
		mvc__tree_files(&v->files, &v->nfiles, mvc__repo_git(v->repo), root);
	git_tree_free(root);
}

size_t mvc_version_file_count(const mvc_version *v)
{
	load_files((mvc_version *)v);
	return v->nfiles;
}

const char *mvc_version_file_path(const mvc_version *v, size_t i)
{
	load_files((mvc_version *)v);
	return i < v->nfiles ? v->files[i] : NULL;
}

int mvc_version_manifest(mvc_manifest **out, mvc_version *v, const char *path)
{
	git_repository *git = mvc__repo_git(v->repo);
	git_tree *root = NULL, *ft = NULL;
	int error;

	*out = NULL;
	if (git_commit_tree(&root, v->commit) < 0)
		return mvc__err_git(MVC_ECORRUPT, "cannot read the version's tree");
	if ((error = mvc__file_tree(&ft, git, root, path)) == 0)
		error = mvc__tree_manifest(out, git, ft, path);
	git_tree_free(ft);
	git_tree_free(root);
	return error;
}

typedef struct refs_ctx {
	const git_oid *id;
	git_repository *git;
	char **names;
	size_t count, cap;
	int error;
} refs_ctx;

static int add_name(refs_ctx *c, const char *prefix, const char *name)
{
	mvc_buf b = MVC_BUF_INIT;

	if (c->count == c->cap) {
		size_t nc = c->cap ? c->cap * 2 : 4;
		char **np = realloc(c->names, nc * sizeof(char *));

		if (!np)
			return mvc__err(MVC_ENOMEM, "out of memory");
		c->names = np;
		c->cap = nc;
	}
	if (mvc_buf_printf(&b, "%s%s", prefix, name) < 0)
		return MVC_ENOMEM;
	c->names[c->count++] = mvc_buf_detach(&b);
	return 0;
}

static int each_ref(git_reference *ref, void *payload)
{
	refs_ctx *c = payload;
	git_object *obj = NULL;
	const char *name = git_reference_name(ref);
	size_t plen = strlen(MVC_CHANNEL_REF_PREFIX);
	git_oid target;

	/* a channel points at a move; the version is the move's target */
	if (!strncmp(name, MVC_CHANNEL_REF_PREFIX, plen)) {
		if (mvc__channel_ref_target(&target, c->git, ref) == 0 &&
		    git_oid_equal(&target, c->id))
			c->error = add_name(c, "channel:", name + plen);
		git_reference_free(ref);
		return c->error;
	}

	if (git_reference_type(ref) == GIT_REFERENCE_DIRECT &&
	    git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT) == 0 &&
	    git_oid_equal(git_object_id(obj), c->id)) {
		if (!strncmp(name, "refs/heads/", 11))
			c->error = add_name(c, "branch:", name + 11);
		else if (!strncmp(name, "refs/tags/", 10))
			c->error = add_name(c, "tag:", name + 10);
	}
	git_object_free(obj);
	git_reference_free(ref);
	return c->error;
}

int mvc_version_refs(char ***out, size_t *count, mvc_repo *repo, const mvc_oid *id)
{
	git_oid gid, head;
	refs_ctx c;

	memset(&c, 0, sizeof(c));
	mvc__oid_to_git(&gid, id);
	c.id = &gid;
	c.git = mvc__repo_git(repo);
	if (git_reference_name_to_id(&head, c.git, "HEAD") == 0 && git_oid_equal(&head, &gid))
		c.error = add_name(&c, "HEAD", "");
	if (!c.error && git_reference_foreach(c.git, each_ref, &c) < 0 && !c.error)
		c.error = mvc__err_git(MVC_ERROR, "cannot list refs");
	if (c.error < 0) {
		mvc_strings_free(c.names, c.count);
		return c.error;
	}
	*out = c.names;
	*count = c.count;
	return 0;
}

struct mvc_walk {
	mvc_repo *repo;
	git_revwalk *walk;
};

int mvc_walk_new(mvc_walk **out, mvc_repo *repo, const char *rev)
{
	mvc_walk *w;
	git_commit *start;
	int error;

	*out = NULL;
	if ((error = mvc__resolve(&start, mvc__repo_git(repo), rev ? rev : "HEAD")) < 0)
		return error;
	if (!(w = mvc__calloc(1, sizeof(*w)))) {
		git_commit_free(start);
		return MVC_ENOMEM;
	}
	w->repo = repo;
	if (git_revwalk_new(&w->walk, mvc__repo_git(repo)) < 0 ||
	    git_revwalk_sorting(w->walk, GIT_SORT_TIME | GIT_SORT_TOPOLOGICAL) < 0 ||
	    git_revwalk_push(w->walk, git_commit_id(start)) < 0) {
		error = mvc__err_git(MVC_ERROR, "cannot walk history");
		git_commit_free(start);
		mvc_walk_free(w);
		return error;
	}
	git_commit_free(start);
	*out = w;
	return 0;
}

int mvc_walk_next(mvc_version **out, mvc_walk *w)
{
	git_oid id;
	git_commit *c;
	int rc;

	*out = NULL;
	if ((rc = git_revwalk_next(&id, w->walk)) == GIT_ITEROVER)
		return MVC_ITEROVER;
	if (rc < 0 || git_commit_lookup(&c, mvc__repo_git(w->repo), &id) < 0)
		return mvc__err_git(MVC_ECORRUPT, "cannot read history");
	return wrap(out, w->repo, c);
}

void mvc_walk_free(mvc_walk *w)
{
	if (!w)
		return;
	git_revwalk_free(w->walk);
	free(w);
}
