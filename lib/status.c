/* mvc status: tracked files against the current version, and untracked
 * model files. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "scan.h"

const char *mvc_file_state_name(mvc_file_state s)
{
	switch (s) {
	case MVC_FILE_CLEAN: return "clean";
	case MVC_FILE_MODIFIED: return "modified";
	case MVC_FILE_OTHER_VERSION: return "other-version";
	case MVC_FILE_MISSING: return "missing";
	case MVC_FILE_UNTRACKED: return "untracked";
	case MVC_FILE_INVALID: return "invalid";
	}
	return "?";
}

void mvc_status_free(mvc_status_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->count; i++)
		free(l->entries[i].path);
	free(l->entries);
	free(l->branch);
	free(l);
}

static int push(mvc_status_list *l, size_t *cap, const char *path, mvc_file_state s,
                const mvc_oid *v)
{
	mvc_status_entry *e;

	if (l->count == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;
		mvc_status_entry *ne = realloc(l->entries, nc * sizeof(*ne));

		if (!ne)
			return mvc__err(MVC_ENOMEM, "out of memory");
		l->entries = ne;
		*cap = nc;
	}
	e = &l->entries[l->count];
	memset(e, 0, sizeof(*e));
	if (!(e->path = mvc__strdup(path)))
		return MVC_ENOMEM;
	e->state = s;
	if (v)
		e->version = *v;
	l->count++;
	return 0;
}

static bool has_suffix(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);

	return a >= b && !strcmp(s + a - b, suf);
}

/* Names of model files worth reporting when untracked (any file can be
 * committed, as an opaque one, but these are what a user means to). */
static bool is_model_name(const char *name)
{
	return has_suffix(name, ".safetensors") || has_suffix(name, ".gguf") ||
	    has_suffix(name, ".npy") || has_suffix(name, ".npz");
}

static bool is_tracked(char **tracked, size_t n, const char *p)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(tracked[i], p))
			return true;
	return false;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const mvc_status_entry *)a)->path, ((const mvc_status_entry *)b)->path);
}

/* Model files under `dir` that no version tracks (hidden entries skipped). */
static int untracked(mvc_status_list *l, size_t *cap, const char *root, const char *rel,
                     char **tracked, size_t ntracked, int depth)
{
	mvc_buf dirpath = MVC_BUF_INIT;
	struct dirent *de;
	DIR *d;
	int error = 0;

	if (depth > 32)
		return 0;
	if ((error = mvc_buf_printf(&dirpath, "%s%s%s", root, *rel ? "/" : "", rel)) < 0)
		return error;
	if (!(d = opendir(dirpath.ptr))) {
		mvc_buf_free(&dirpath);
		return 0; /* unreadable directories are not ours to report */
	}
	while (!error && (de = readdir(d))) {
		mvc_buf p = MVC_BUF_INIT, fp = MVC_BUF_INIT;
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		if ((error = mvc_buf_printf(&p, "%s%s%s", rel, *rel ? "/" : "", de->d_name)) < 0 ||
		    (error = mvc_buf_printf(&fp, "%s/%s", root, p.ptr)) < 0)
			goto next;
		if (lstat(fp.ptr, &st) < 0)
			goto next;
		if (S_ISDIR(st.st_mode))
			error = untracked(l, cap, root, p.ptr, tracked, ntracked, depth + 1);
		else if (S_ISREG(st.st_mode) && is_model_name(de->d_name) &&
		         !is_tracked(tracked, ntracked, p.ptr))
			error = push(l, cap, p.ptr, MVC_FILE_UNTRACKED, NULL);
next:
		mvc_buf_free(&p);
		mvc_buf_free(&fp);
	}
	closedir(d);
	mvc_buf_free(&dirpath);
	return error;
}

int mvc_status(mvc_status_list **out, mvc_repo *repo, int rehash)
{
	git_repository *git = mvc__repo_git(repo);
	mvc_status_list *l = mvc__calloc(1, sizeof(*l));
	git_commit *head = NULL;
	git_tree *root = NULL;
	char **tracked = NULL;
	size_t ntracked = 0, cap = 0, first_untracked;
	uint64_t chunk_size;
	mvc_state st;
	mvc_oid head_id;
	int error;

	*out = NULL;
	memset(&st, 0, sizeof(st));
	if (!l)
		return MVC_ENOMEM;
	if ((error = mvc_repo_head(&l->branch, &l->unborn, repo)) < 0 ||
	    (error = mvc_repo_chunk_size(&chunk_size, repo)) < 0 ||
	    (error = mvc__state_load(&st, repo)) < 0)
		goto done;
	if (!l->unborn) {
		if ((error = mvc__resolve(&head, git, "HEAD")) < 0)
			goto done;
		if (git_commit_tree(&root, head) < 0) {
			error = mvc__err_git(MVC_ECORRUPT, "cannot read the current version");
			goto done;
		}
		mvc__oid_from_git(&head_id, git_commit_id(head));
		if ((error = mvc__tree_files(&tracked, &ntracked, git, root)) < 0)
			goto done;
	}
	for (size_t i = 0; i < ntracked; i++) {
		const char *path = tracked[i];
		mvc_state_entry *e = mvc__state_get(&st, path);
		mvc_manifest *hm = NULL, *cur = NULL;
		git_tree *ft = NULL;
		mvc_buf fs = MVC_BUF_INIT;
		struct stat s;
		int64_t started = mvc__now_ns();
		const unsigned char *digest;

		if ((error = mvc_buf_printf(&fs, "%s/%s", mvc_repo_workdir(repo), path)) < 0 ||
		    (error = mvc__file_tree(&ft, git, root, path)) < 0 ||
		    (error = mvc__tree_manifest(&hm, git, ft, path)) < 0)
			goto next;
		if (stat(fs.ptr, &s) < 0) {
			error = push(l, &cap, path, MVC_FILE_MISSING, NULL);
			goto next;
		}
		if (!rehash && mvc__state_fresh(e, fs.ptr)) {
			digest = e->digest;
		} else if (mvc__scan_file(&cur, fs.ptr, path, hm, chunk_size) < 0) {
			mvc_error_clear();
			error = push(l, &cap, path, MVC_FILE_INVALID, NULL);
			goto next;
		} else {
			digest = cur->digest;
		}
		if (!memcmp(digest, hm->digest, MVC_DIGEST_SIZE)) {
			error = push(l, &cap, path, MVC_FILE_CLEAN, NULL);
			if (cur && !error)
				error = mvc__state_set(&st, path, fs.ptr, digest, &head_id, started);
		} else if (e && !memcmp(digest, e->digest, MVC_DIGEST_SIZE)) {
			mvc_oid v = e->version;

			error = push(l, &cap, path, MVC_FILE_OTHER_VERSION, &v);
			if (cur && !error)
				error = mvc__state_set(&st, path, fs.ptr, digest, &v, started);
		} else {
			error = push(l, &cap, path, MVC_FILE_MODIFIED, NULL);
		}
next:
		mvc_manifest_free(cur);
		mvc_manifest_free(hm);
		git_tree_free(ft);
		mvc_buf_free(&fs);
		if (error < 0)
			goto done;
	}
	first_untracked = l->count;
	if ((error = untracked(l, &cap, mvc_repo_workdir(repo), "", tracked, ntracked, 0)) < 0)
		goto done;
	qsort(l->entries + first_untracked, l->count - first_untracked, sizeof(*l->entries),
	    cmp_entry);
	if (st.dirty)
		mvc__state_save(&st, repo);
	*out = l;
	l = NULL;
done:
	mvc__state_free(&st);
	mvc_strings_free(tracked, ntracked);
	git_tree_free(root);
	git_commit_free(head);
	mvc_status_free(l);
	return error;
}
