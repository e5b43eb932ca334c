/* Finding, creating and opening the store; paths; tree helpers. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "internal.h"
#include "odb.h"

struct mvc_repo {
	git_repository *git;
	char *workdir;
	char *path;
};

git_repository *mvc__repo_git(mvc_repo *repo)
{
	return repo->git;
}

const char *mvc_repo_workdir(const mvc_repo *repo)
{
	return repo->workdir;
}

const char *mvc_repo_path(const mvc_repo *repo)
{
	return repo->path;
}

void mvc_repo_free(mvc_repo *repo)
{
	if (!repo)
		return;
	git_repository_free(repo->git);
	free(repo->workdir);
	free(repo->path);
	free(repo);
}

/* Damaged objects must fail, never hang libgit2 (lib/odb.c). */
static int guard_objects(mvc_repo *r, const char *objdir, const char *alternates)
{
	mvc_buf dir = MVC_BUF_INIT;
	int error;

	if (!objdir || !*objdir) {
		if ((error = mvc_buf_printf(&dir, "%s/objects", r->path)) < 0)
			return error;
		objdir = dir.ptr;
	}
	error = mvc__odb_guard(r->git, objdir, alternates);
	mvc_buf_free(&dir);
	return error;
}

static int open_at(mvc_repo **out, const char *store, const char *workdir)
{
	mvc_repo *r;
	char *real_store = realpath(store, NULL), *real_work = realpath(workdir, NULL);
	int error;

	if (!real_store || !real_work) {
		error = mvc__err_sys("cannot open repository '%s'", store);
		goto fail;
	}
	if (!(r = mvc__calloc(1, sizeof(*r)))) {
		error = MVC_ENOMEM;
		goto fail;
	}
	r->path = real_store;
	r->workdir = real_work;
	if (git_repository_open_bare(&r->git, real_store) < 0) {
		error = mvc__err_git(MVC_ENOTFOUND, "'%s' is not an mvc repository", store);
		mvc_repo_free(r);
		return error;
	}
	if ((error = guard_objects(r, NULL, NULL)) < 0) {
		mvc_repo_free(r);
		return error;
	}
	*out = r;
	return 0;
fail:
	free(real_store);
	free(real_work);
	return error;
}

int mvc_repo_init(mvc_repo **out, const char *dir)
{
	git_repository_init_options o = GIT_REPOSITORY_INIT_OPTIONS_INIT;
	git_repository *git = NULL;
	git_config *cfg = NULL;
	mvc_buf store = MVC_BUF_INIT;
	struct stat st;
	int error;

	*out = NULL;
	if ((error = mvc__global_init()) < 0)
		return error;
	if (mkdir(dir, 0777) < 0 && errno != EEXIST)
		return mvc__err_sys("cannot create '%s'", dir);
	if ((error = mvc_buf_printf(&store, "%s/%s", dir, MVC_DIRNAME)) < 0)
		return error;
	if (stat(store.ptr, &st) == 0) {
		error = mvc__err(MVC_EEXISTS, "'%s' already holds an mvc repository", dir);
		goto done;
	}
	o.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH |
	          GIT_REPOSITORY_INIT_NO_REINIT;
	o.initial_head = "main";
	o.description = "mvc model repository\n";
	if (git_repository_init_ext(&git, store.ptr, &o) < 0) {
		error = mvc__err_git(MVC_ERROR, "cannot create '%s'", store.ptr);
		goto done;
	}
	if (git_repository_config(&cfg, git) < 0 ||
	    git_config_set_int32(cfg, "mvc.formatVersion", MVC_FORMAT_VERSION) < 0 ||
	    /* keep every ref update in a reflog: a bare repo does not by default */
	    git_config_set_bool(cfg, "core.logAllRefUpdates", 1) < 0 ||
	    /* chunk blobs are already zstd-compressed: no delta search on repack */
	    git_config_set_int32(cfg, "pack.window", 0) < 0 ||
	    git_config_set_int32(cfg, "pack.compression", 1) < 0) {
		error = mvc__err_git(MVC_ERROR, "cannot configure '%s'", store.ptr);
		goto done;
	}
	git_config_free(cfg);
	cfg = NULL;
	git_repository_free(git);
	git = NULL;
	error = open_at(out, store.ptr, dir);
done:
	git_config_free(cfg);
	git_repository_free(git);
	mvc_buf_free(&store);
	return error;
}

static bool is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/*
 * Inside a git hook git names the repository in GIT_DIR and, during
 * pre-receive, keeps the pushed objects in a quarantine directory
 * (GIT_OBJECT_DIRECTORY, with the repository's own objects in
 * GIT_ALTERNATE_OBJECT_DIRECTORIES): libgit2 opens it as git would.  Only
 * a bare repository is taken, which every mvc store and server repository
 * is: a code repository's hooks export GIT_DIR too, and mvc run from one
 * of those means the .mvc store that the search finds.  MVC_ENOTFOUND,
 * with no message, when GIT_DIR names no bare repository.  The working
 * directory is MVC_WORK_TREE, else the store's parent, as for MVC_DIR.
 */
static int open_git_env(mvc_repo **out, const char *gitdir, const char *wt)
{
	git_repository *probe = NULL;
	mvc_repo *r = NULL;
	char *slash;
	int bare, error;

	bare = git_repository_open_ext(&probe, gitdir, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL) == 0 &&
	    git_repository_is_bare(probe);
	git_repository_free(probe);
	if (!bare) {
		git_error_clear();
		return MVC_ENOTFOUND;
	}
	if (!(r = mvc__calloc(1, sizeof(*r))))
		return MVC_ENOMEM;
	if (!(r->path = realpath(gitdir, NULL)) ||
	    !(r->workdir = realpath(wt && *wt ? wt : gitdir, NULL))) {
		error = mvc__err_sys("cannot open repository '%s'", wt && *wt && r->path ? wt : gitdir);
		goto fail;
	}
	if (!(wt && *wt)) {
		if ((slash = strrchr(r->workdir, '/')) && slash != r->workdir)
			*slash = '\0';
		else
			strcpy(r->workdir, "/");
	}
	if (git_repository_open_ext(&r->git, NULL, GIT_REPOSITORY_OPEN_FROM_ENV, NULL) < 0) {
		error = mvc__err_git(MVC_ENOTFOUND, "cannot open the repository of GIT_DIR '%s'", gitdir);
		goto fail;
	}
	if ((error = guard_objects(r, getenv("GIT_OBJECT_DIRECTORY"),
	         getenv("GIT_ALTERNATE_OBJECT_DIRECTORIES"))) < 0)
		goto fail;
	*out = r;
	return 0;
fail:
	mvc_repo_free(r);
	return error;
}

int mvc_repo_open(mvc_repo **out, const char *start)
{
	const char *env = getenv("MVC_DIR"), *wt = getenv("MVC_WORK_TREE");
	char *dir = NULL, *slash;
	mvc_buf probe = MVC_BUF_INIT;
	int error;

	*out = NULL;
	if ((error = mvc__global_init()) < 0)
		return error;
	if (env && *env) {
		char *parent;

		if (!is_dir(env))
			return mvc__err(MVC_ENOTFOUND, "MVC_DIR '%s' is not a directory", env);
		if (wt && *wt)
			return open_at(out, env, wt);
		if (!(parent = realpath(env, NULL)))
			return mvc__err_sys("cannot resolve '%s'", env);
		if ((slash = strrchr(parent, '/')) && slash != parent)
			*slash = '\0';
		else
			strcpy(parent, "/");
		error = open_at(out, env, parent);
		free(parent);
		return error;
	}
	if ((env = getenv("GIT_DIR")) && *env && (error = open_git_env(out, env, wt)) != MVC_ENOTFOUND)
		return error;
	if (!(dir = realpath(start ? start : ".", NULL)))
		return mvc__err_sys("cannot resolve '%s'", start ? start : ".");
	for (;;) {
		probe.len = 0;
		if ((error = mvc_buf_printf(&probe, "%s/%s", strcmp(dir, "/") ? dir : "",
		         MVC_DIRNAME)) < 0)
			goto done;
		if (is_dir(probe.ptr)) {
			error = open_at(out, probe.ptr, dir);
			goto done;
		}
		if (!strcmp(dir, "/"))
			break;
		slash = strrchr(dir, '/');
		if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	error = mvc__err(MVC_ENOTFOUND,
	    "not in an mvc repository (no %s here or in any parent; run 'mvc init')", MVC_DIRNAME);
done:
	free(dir);
	mvc_buf_free(&probe);
	return error;
}

/* Normalise "a/./b/../c" to "a/c" in place; false if it climbs above
 * the root.  The output never runs ahead of the input, so one buffer does. */
static bool normalise(char *p)
{
	char *out = p;
	const char *seg = p;
	bool more = *p != '\0';

	while (more) {
		const char *end = strchr(seg, '/');
		size_t n = end ? (size_t)(end - seg) : strlen(seg);
		const char *next = seg + n + (end != NULL);

		more = end != NULL;
		if (n == 0 || (n == 1 && seg[0] == '.')) {
			/* skip */
		} else if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			if (out == p)
				return false;
			out--; /* the '/' after the previous segment */
			while (out > p && out[-1] != '/')
				out--;
		} else {
			memmove(out, seg, n);
			out += n;
			*out++ = '/';
		}
		seg = next;
	}
	if (out > p)
		out--;
	*out = '\0';
	return true;
}

int mvc_repo_relpath(char **out, const mvc_repo *repo, const char *user_path)
{
	mvc_buf abs = MVC_BUF_INIT;
	char cwd[PATH_MAX];
	size_t wl = strlen(repo->workdir);
	const char *rel;
	int error;

	*out = NULL;
	if (!*user_path)
		return mvc__err(MVC_EINVALID, "empty path");
	if (user_path[0] == '/') {
		error = mvc_buf_puts(&abs, user_path);
	} else {
		/* the working directory is a realpath; so must the cwd be */
		if (!getcwd(cwd, sizeof(cwd)))
			return mvc__err_sys("cannot get the current directory");
		error = mvc_buf_printf(&abs, "%s/%s", cwd, user_path);
	}
	if (error < 0)
		return error;
	if (!normalise(abs.ptr + 1))
		goto outside;
	/* resolve symlinks in the directory part, as the workdir is resolved */
	{
		char *slash = strrchr(abs.ptr, '/'), *dreal;
		mvc_buf fixed = MVC_BUF_INIT;

		*slash = '\0';
		dreal = realpath(*abs.ptr ? abs.ptr : "/", NULL);
		if (dreal) {
			error = mvc_buf_printf(&fixed, "%s/%s", strcmp(dreal, "/") ? dreal : "", slash + 1);
			free(dreal);
			if (error < 0) {
				mvc_buf_free(&abs);
				return error;
			}
			mvc_buf_free(&abs);
			abs = fixed;
		} else {
			*slash = '/';
		}
	}
	if (strncmp(abs.ptr, repo->workdir, wl) != 0 ||
	    (abs.ptr[wl] != '/' && abs.ptr[wl] != '\0' && strcmp(repo->workdir, "/")))
		goto outside;
	/* abs.ptr[wl] is '/' or the end: never step past the NUL */
	rel = abs.ptr + wl;
	if (*rel == '/')
		rel++;
	if (!*rel) {
		error = mvc__err(MVC_EINVALID, "'%s' is the working directory, not a file", user_path);
		goto done;
	}
	if (!strncmp(rel, MVC_DIRNAME, strlen(MVC_DIRNAME)) &&
	    (rel[strlen(MVC_DIRNAME)] == '/' || !rel[strlen(MVC_DIRNAME)])) {
		error = mvc__err(MVC_EINVALID, "'%s' is inside the store %s/", user_path, MVC_DIRNAME);
		goto done;
	}
	*out = mvc__strdup(rel);
	error = *out ? 0 : MVC_ENOMEM;
	goto done;
outside:
	error = mvc__err(MVC_EINVALID, "'%s' is outside the working directory '%s'",
	    user_path, repo->workdir);
done:
	mvc_buf_free(&abs);
	return error;
}

int mvc_repo_head(char **branch, int *unborn, mvc_repo *repo)
{
	git_reference *head = NULL;
	const char *name;
	int error;

	*branch = NULL;
	*unborn = git_repository_head_unborn(repo->git) == 1;
	if (git_repository_head_detached(repo->git) == 1)
		return 0;
	if ((error = git_reference_lookup(&head, repo->git, "HEAD")) < 0)
		return mvc__err_git(MVC_ERROR, "cannot read HEAD");
	if (git_reference_type(head) == GIT_REFERENCE_SYMBOLIC) {
		name = git_reference_symbolic_target(head);
		if (!strncmp(name, "refs/heads/", 11))
			name += 11;
		*branch = mvc__strdup(name);
	}
	git_reference_free(head);
	return 0;
}

int mvc_repo_chunk_size(uint64_t *out, mvc_repo *repo)
{
	git_config *cfg = NULL;
	int64_t v = 1 << 20;
	int error;

	if (git_repository_config_snapshot(&cfg, repo->git) < 0)
		return mvc__err_git(MVC_ERROR, "cannot read the config");
	error = git_config_get_int64(&v, cfg, "mvc.chunkSize");
	git_config_free(cfg);
	if (error < 0 && error != GIT_ENOTFOUND)
		return mvc__err_git(MVC_EINVALID, "bad mvc.chunkSize");
	if (error == GIT_ENOTFOUND)
		v = 1 << 20;
	if (v < 64 || v > (int64_t)256 << 20)
		return mvc__err(MVC_EINVALID,
		    "mvc.chunkSize %lld is out of range (64 bytes to 256 MiB)", (long long)v);
	*out = (uint64_t)v;
	return 0;
}

int mvc__resolve(git_commit **out, git_repository *git, const char *rev)
{
	git_object *obj = NULL;
	int error, code = 0, chan;

	*out = NULL;
	if ((error = git_revparse_single(&obj, git, rev)) < 0) {
		if (error == GIT_ENOTFOUND && !strcmp(rev, "HEAD") &&
		    git_repository_head_unborn(git) == 1)
			return mvc__err(MVC_ENOTFOUND, "no version committed yet");
		code = mvc__err_git(mvc__git_code(error) == MVC_EINVALID &&
		        error != GIT_EAMBIGUOUS ? MVC_ENOTFOUND : mvc__git_code(error),
		    "unknown revision '%s'", rev);
	}
	/* then channels, after git's own names (lib/channel.c) */
	if ((chan = mvc__channel_rev(out, git, rev, error == 0)) != MVC_ENOTFOUND || error < 0) {
		git_object_free(obj);
		return chan != MVC_ENOTFOUND ? chan : code;
	}
	error = git_object_peel((git_object **)out, obj, GIT_OBJECT_COMMIT);
	git_object_free(obj);
	if (error < 0)
		return mvc__err_git(MVC_ENOTFOUND, "'%s' does not name a version", rev);
	return 0;
}

/* A tree is a tracked file when it holds a MANIFEST blob. */
static bool is_file_tree(const git_tree *t)
{
	const git_tree_entry *e = git_tree_entry_byname(t, "MANIFEST");

	return e && git_tree_entry_type(e) == GIT_OBJECT_BLOB;
}

static int collect(char ***paths, size_t *count, size_t *cap, git_repository *git,
                   const git_tree *tree, const char *prefix)
{
	size_t n = git_tree_entrycount(tree);
	int error = 0;

	for (size_t i = 0; i < n && !error; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);
		git_tree *sub = NULL;
		mvc_buf p = MVC_BUF_INIT;

		if (git_tree_entry_type(e) != GIT_OBJECT_TREE)
			continue;
		if ((error = mvc_buf_printf(&p, "%s%s", prefix, git_tree_entry_name(e))) < 0)
			break;
		if (git_tree_lookup(&sub, git, git_tree_entry_id(e)) < 0) {
			error = mvc__err_git(MVC_ECORRUPT, "cannot read tree '%s'", p.ptr);
		} else if (is_file_tree(sub)) {
			if (*count == *cap) {
				size_t nc = *cap ? *cap * 2 : 8;
				char **np = realloc(*paths, nc * sizeof(char *));

				if (!np) {
					error = mvc__err(MVC_ENOMEM, "out of memory");
					goto next;
				}
				*paths = np;
				*cap = nc;
			}
			(*paths)[(*count)++] = mvc_buf_detach(&p);
		} else {
			if ((error = mvc_buf_puts(&p, "/")) == 0)
				error = collect(paths, count, cap, git, sub, p.ptr);
		}
next:
		git_tree_free(sub);
		mvc_buf_free(&p);
	}
	return error;
}

int mvc__tree_files(char ***paths, size_t *count, git_repository *git, const git_tree *root)
{
	size_t cap = 0;
	int error;

	*paths = NULL;
	*count = 0;
	if ((error = collect(paths, count, &cap, git, root, "")) < 0) {
		mvc_strings_free(*paths, *count);
		*paths = NULL;
		*count = 0;
	}
	return error;
}

int mvc__file_tree(git_tree **out, git_repository *git, const git_tree *root, const char *path)
{
	git_tree_entry *e = NULL;
	int error;

	*out = NULL;
	if ((error = git_tree_entry_bypath(&e, root, path)) < 0 ||
	    git_tree_entry_type(e) != GIT_OBJECT_TREE) {
		git_tree_entry_free(e);
		return mvc__err(MVC_ENOTFOUND, "'%s' is not tracked in this version", path);
	}
	error = git_tree_lookup(out, git, git_tree_entry_id(e));
	git_tree_entry_free(e);
	if (error < 0)
		return mvc__err_git(MVC_ECORRUPT, "cannot read the tree of '%s'", path);
	if (!is_file_tree(*out)) {
		git_tree_free(*out);
		*out = NULL;
		return mvc__err(MVC_ENOTFOUND, "'%s' is not tracked in this version", path);
	}
	return 0;
}

int mvc__tree_manifest(mvc_manifest **out, git_repository *git, const git_tree *ftree,
                       const char *path)
{
	const git_tree_entry *e = git_tree_entry_byname(ftree, "MANIFEST");
	git_blob *blob = NULL;
	int error;

	*out = NULL;
	if (!e || git_blob_lookup(&blob, git, git_tree_entry_id(e)) < 0)
		return mvc__err_git(MVC_ECORRUPT, "cannot read the MANIFEST of '%s'", path);
	error = mvc_manifest_parse(out, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob));
	git_blob_free(blob);
	if (error < 0) {
		char msg[1024];
		snprintf(msg, sizeof(msg), "%s", mvc_error_last());
		return mvc__err(error, "'%s': %s", path, msg);
	}
	return 0;
}
