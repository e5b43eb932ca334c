/* Branches and tags: list, create, delete; switching the current branch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

void mvc_ref_list_free(mvc_ref_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->count; i++) {
		free(list->entries[i].name);
		free(list->entries[i].message);
	}
	free(list->entries);
	free(list);
}

static mvc_ref_entry *list_add(mvc_ref_list *l, size_t *cap)
{
	if (l->count == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;
		mvc_ref_entry *ne = realloc(l->entries, nc * sizeof(*ne));

		if (!ne) {
			mvc__err(MVC_ENOMEM, "out of memory");
			return NULL;
		}
		l->entries = ne;
		*cap = nc;
	}
	memset(&l->entries[l->count], 0, sizeof(mvc_ref_entry));
	return &l->entries[l->count++];
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const mvc_ref_entry *)a)->name, ((const mvc_ref_entry *)b)->name);
}

/*
 * Every ref under `prefix` ("refs/heads/", "refs/tags/") that names a
 * version.  Refs that point at no commit (a tag of a tree) are left out.
 */
static int list_refs(mvc_ref_list **out, git_repository *git, const char *prefix)
{
	git_reference_iterator *it = NULL;
	git_reference *ref = NULL;
	mvc_ref_list *l;
	mvc_buf glob = MVC_BUF_INIT;
	size_t cap = 0, plen = strlen(prefix);
	char *head = NULL;
	int rc, error = 0;

	*out = NULL;
	if (!(l = mvc__calloc(1, sizeof(*l))))
		return MVC_ENOMEM;
	{
		git_reference *h = NULL;

		if (git_reference_lookup(&h, git, "HEAD") == 0 &&
		    git_reference_type(h) == GIT_REFERENCE_SYMBOLIC)
			head = mvc__strdup(git_reference_symbolic_target(h));
		git_reference_free(h);
	}
	if ((error = mvc_buf_printf(&glob, "%s*", prefix)) < 0)
		goto done;
	if (git_reference_iterator_glob_new(&it, git, glob.ptr) < 0) {
		error = mvc__err_git(MVC_ERROR, "cannot list refs");
		goto done;
	}
	while ((rc = git_reference_next(&ref, it)) == 0) {
		git_object *obj = NULL, *direct = NULL;
		mvc_ref_entry *e;

		if (git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT) == 0) {
			if (!(e = list_add(l, &cap)) ||
			    !(e->name = mvc__strdup(git_reference_name(ref) + plen))) {
				git_object_free(obj);
				error = MVC_ENOMEM;
				goto done;
			}
			mvc__oid_from_git(&e->target, git_object_id(obj));
			e->current = head && !strcmp(head, git_reference_name(ref));
			/* an annotated tag: its message */
			if (git_reference_type(ref) == GIT_REFERENCE_DIRECT &&
			    git_object_lookup(&direct, git, git_reference_target(ref), GIT_OBJECT_ANY) == 0 &&
			    git_object_type(direct) == GIT_OBJECT_TAG) {
				const char *m = git_tag_message((git_tag *)direct);

				if (m && !(e->message = mvc__strdup(m))) {
					error = MVC_ENOMEM;
					git_object_free(direct);
					git_object_free(obj);
					goto done;
				}
			}
			git_object_free(direct);
		}
		git_object_free(obj);
		git_reference_free(ref);
		ref = NULL;
	}
	if (rc != GIT_ITEROVER) {
		error = mvc__err_git(MVC_ERROR, "cannot list refs");
		goto done;
	}
	if (l->count)
		qsort(l->entries, l->count, sizeof(*l->entries), cmp_entry);
done:
	free(head);
	mvc_buf_free(&glob);
	git_reference_free(ref);
	git_reference_iterator_free(it);
	if (error < 0) {
		mvc_ref_list_free(l);
		return error;
	}
	*out = l;
	return 0;
}

int mvc_branch_list(mvc_ref_list **out, mvc_repo *repo)
{
	return list_refs(out, mvc__repo_git(repo), "refs/heads/");
}

int mvc_tag_list(mvc_ref_list **out, mvc_repo *repo)
{
	return list_refs(out, mvc__repo_git(repo), "refs/tags/");
}

/*
 * May `name` be created as a `kind` ("branch", "tag")?  Valid for git,
 * no leading '-', and not the name of a channel: a revision must never
 * mean two things.
 */
static int check_new_name(git_repository *git, const char *kind, const char *name)
{
	git_reference *ref = NULL;
	mvc_buf b = MVC_BUF_INIT;
	char q[MVC_QUOTE_MAX];
	int valid = 0, error = 0;

	mvc_quote(q, sizeof(q), name);
	if (!*name || name[0] == '-')
		return mvc__err(MVC_EINVALID, "'%s' is not a valid %s name", q, kind);
	if ((!strcmp(kind, "branch") ? git_branch_name_is_valid(&valid, name)
	                              : git_tag_name_is_valid(&valid, name)) < 0 || !valid)
		return mvc__err(MVC_EINVALID,
		    "'%s' is not a valid %s name (a git ref name: no spaces, '..', '~^:?*[\\', "
		    "empty or dot-leading parts, or '.lock' ending)", q, kind);
	if ((error = mvc_buf_printf(&b, "%s%s", MVC_CHANNEL_REF_PREFIX, name)) < 0)
		return error;
	if (git_reference_lookup(&ref, git, b.ptr) == 0)
		error = mvc__err(MVC_EEXISTS,
		    "'%s' is a channel; a %s of the same name would make the revision ambiguous", q, kind);
	git_reference_free(ref);
	mvc_buf_free(&b);
	return error;
}

int mvc_branch_create(mvc_oid *out, mvc_repo *repo, const char *name, const char *rev)
{
	git_repository *git = mvc__repo_git(repo);
	git_commit *c = NULL;
	git_reference *ref = NULL;
	char q[MVC_QUOTE_MAX];
	int rc, error;

	if ((error = check_new_name(git, "branch", name)) < 0 ||
	    (error = mvc__resolve(&c, git, rev ? rev : "HEAD")) < 0)
		goto done;
	if ((rc = git_branch_create(&ref, git, name, c, 0)) < 0) {
		error = rc == GIT_EEXISTS
		    ? mvc__err(MVC_EEXISTS, "a branch '%s' already exists", mvc_quote(q, sizeof(q), name))
		    : mvc__err_git(MVC_EIO, "cannot create branch '%s'", mvc_quote(q, sizeof(q), name));
		goto done;
	}
	if (out)
		mvc__oid_from_git(out, git_commit_id(c));
done:
	git_reference_free(ref);
	git_commit_free(c);
	return error;
}

/* Does a ref other than `except` keep commit `tip` (point at it or a descendant)? */
static int kept_elsewhere(int *kept, git_repository *git, const char *except, const git_oid *tip)
{
	git_reference_iterator *it = NULL;
	git_reference *ref = NULL;
	int rc;

	*kept = 0;
	if (git_reference_iterator_new(&it, git) < 0)
		return mvc__err_git(MVC_ERROR, "cannot list refs");
	while (!*kept && (rc = git_reference_next(&ref, it)) == 0) {
		git_object *obj = NULL;

		if (strcmp(git_reference_name(ref), except) &&
		    git_reference_type(ref) == GIT_REFERENCE_DIRECT &&
		    git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT) == 0)
			*kept = git_oid_equal(git_object_id(obj), tip) ||
			        git_graph_descendant_of(git, git_object_id(obj), tip) == 1;
		git_object_free(obj);
		git_reference_free(ref);
		ref = NULL;
	}
	git_reference_iterator_free(it);
	return 0;
}

/* Remove the upstream settings git keeps for a branch, if any. */
static void unset_branch_config(git_repository *git, const char *name)
{
	static const char *const keys[] = { "remote", "merge", "pushRemote", "rebase" };
	git_config *cfg = NULL;
	mvc_buf key = MVC_BUF_INIT;

	if (git_repository_config(&cfg, git) < 0)
		return;
	for (size_t i = 0; i < MVC_ARRAY_SIZE(keys); i++) {
		key.len = 0;
		if (mvc_buf_printf(&key, "branch.%s.%s", name, keys[i]) == 0)
			git_config_delete_entry(cfg, key.ptr);
	}
	git_error_clear();
	mvc_buf_free(&key);
	git_config_free(cfg);
}

int mvc_branch_delete(mvc_repo *repo, const char *name, int force)
{
	git_repository *git = mvc__repo_git(repo);
	git_reference *ref = NULL;
	git_object *obj = NULL;
	char q[MVC_QUOTE_MAX];
	int rc, error = 0, kept;

	mvc_quote(q, sizeof(q), name);
	if ((rc = git_branch_lookup(&ref, git, name, GIT_BRANCH_LOCAL)) < 0)
		return rc == GIT_ENOTFOUND || rc == GIT_EINVALIDSPEC
		    ? mvc__err(MVC_ENOTFOUND, "no branch '%s'", q)
		    : mvc__err_git(MVC_ERROR, "cannot read branch '%s'", q);
	if (git_branch_is_head(ref) == 1) {
		error = mvc__err(MVC_EINVALID,
		    "'%s' is the current branch; switch to another before deleting it", q);
		goto done;
	}
	if (!force && git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT) == 0) {
		if ((error = kept_elsewhere(&kept, git, git_reference_name(ref), git_object_id(obj))) < 0)
			goto done;
		if (!kept) {
			error = mvc__err(MVC_EINVALID,
			    "branch '%s' holds versions that no other branch, tag or channel keeps; "
			    "use --force to delete it anyway (git gc may then drop them)", q);
			goto done;
		}
	}
	/*
	 * Not git_branch_delete(): libgit2 1.5.1 leaks pcre2 match data when it
	 * clears branch.<name>.* by regex.  mvc writes no branch config; the
	 * upstream keys git may have set are removed one by one.
	 */
	if ((rc = git_reference_delete(ref)) < 0) {
		error = mvc__err_git(rc == GIT_EMODIFIED || rc == GIT_ELOCKED ? MVC_ECONFLICT : MVC_EIO,
		    "cannot delete branch '%s'", q);
		goto done;
	}
	unset_branch_config(git, name);
done:
	git_object_free(obj);
	git_reference_free(ref);
	return error;
}

int mvc_switch(mvc_repo *repo, const char *name, const mvc_switch_options *opts)
{
	git_repository *git = mvc__repo_git(repo);
	mvc_checkout_options co = MVC_CHECKOUT_OPTIONS_INIT;
	git_reference *ref = NULL, *created = NULL;
	git_object *obj = NULL;
	git_commit *c = NULL;
	char *cur = NULL, q[MVC_QUOTE_MAX], hex[MVC_OID_HEXSZ + 1];
	mvc_buf refname = MVC_BUF_INIT;
	int rc, unborn, error;

	if (!opts || opts->version != MVC_SWITCH_OPTIONS_VERSION)
		return mvc__err(MVC_EINVALID, "bad switch options version");
	mvc_quote(q, sizeof(q), name);
	if ((error = mvc_repo_head(&cur, &unborn, repo)) < 0)
		return error;
	if (opts->create) {
		if ((error = check_new_name(git, "branch", name)) < 0)
			goto done;
		if (git_branch_lookup(&ref, git, name, GIT_BRANCH_LOCAL) == 0) {
			error = mvc__err(MVC_EEXISTS, "a branch '%s' already exists", q);
			goto done;
		}
		if ((error = mvc__resolve(&c, git, opts->start ? opts->start : "HEAD")) < 0)
			goto done;
	} else {
		if (opts->start) {
			error = mvc__err(MVC_EINVALID, "a start version needs --create");
			goto done;
		}
		if ((rc = git_branch_lookup(&ref, git, name, GIT_BRANCH_LOCAL)) < 0) {
			error = rc == GIT_ENOTFOUND || rc == GIT_EINVALIDSPEC
			    ? mvc__err(MVC_ENOTFOUND, "no branch '%s' (--create makes one)", q)
			    : mvc__err_git(MVC_ERROR, "cannot read branch '%s'", q);
			goto done;
		}
		if (cur && !strcmp(cur, name))
			goto done; /* already there */
		if (git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT) < 0) {
			error = mvc__err_git(MVC_ECORRUPT, "cannot read branch '%s'", q);
			goto done;
		}
		c = (git_commit *)obj;
		obj = NULL;
	}
	/* the files first: a refusal leaves HEAD and the branches alone */
	git_oid_tostr(hex, sizeof(hex), git_commit_id(c));
	co.force = opts->force;
	if ((error = mvc_checkout_paths(repo, hex, NULL, 0, &co)) < 0)
		goto done;
	if (opts->create && (rc = git_branch_create(&created, git, name, c, 0)) < 0) {
		error = rc == GIT_EEXISTS
		    ? mvc__err(MVC_ECONFLICT, "branch '%s' was created meanwhile; HEAD did not move", q)
		    : mvc__err_git(MVC_EIO, "cannot create branch '%s'", q);
		goto done;
	}
	if ((error = mvc_buf_printf(&refname, "refs/heads/%s", name)) < 0)
		goto done;
	if (git_repository_set_head(git, refname.ptr) < 0)
		error = mvc__err_git(MVC_EIO, "cannot switch to branch '%s'", q);
done:
	mvc_buf_free(&refname);
	git_object_free(obj);
	git_commit_free(c);
	git_reference_free(created);
	git_reference_free(ref);
	free(cur);
	return error;
}

int mvc_tag_create(mvc_oid *out, mvc_repo *repo, const char *name, const char *rev,
                   const char *message)
{
	git_repository *git = mvc__repo_git(repo);
	git_commit *c = NULL;
	git_signature *sig = NULL;
	mvc_buf msg = MVC_BUF_INIT;
	char q[MVC_QUOTE_MAX];
	git_oid id;
	int rc, error;

	if ((error = check_new_name(git, "tag", name)) < 0 ||
	    (error = mvc__resolve(&c, git, rev ? rev : "HEAD")) < 0)
		goto done;
	if (message) {
		const char *m = message;
		size_t len;

		while (*m == '\n' || *m == ' ' || *m == '\t')
			m++;
		len = strlen(m);
		while (len && (m[len - 1] == '\n' || m[len - 1] == ' ' || m[len - 1] == '\t'))
			len--;
		if (!len) {
			error = mvc__err(MVC_EINVALID, "an annotated tag needs a non-empty message");
			goto done;
		}
		if ((error = mvc_buf_put(&msg, m, len)) < 0 || (error = mvc_buf_puts(&msg, "\n")) < 0)
			goto done;
		if (mvc__signature(&sig, git) < 0) {
			error = mvc__err_git(MVC_ERROR, "cannot find an identity for the tag");
			goto done;
		}
		rc = git_tag_create(&id, git, name, (git_object *)c, sig, msg.ptr, 0);
	} else {
		rc = git_tag_create_lightweight(&id, git, name, (git_object *)c, 0);
	}
	if (rc < 0) {
		error = rc == GIT_EEXISTS
		    ? mvc__err(MVC_EEXISTS, "a tag '%s' already exists", mvc_quote(q, sizeof(q), name))
		    : mvc__err_git(MVC_EIO, "cannot create tag '%s'", mvc_quote(q, sizeof(q), name));
		goto done;
	}
	if (out)
		mvc__oid_from_git(out, git_commit_id(c));
done:
	git_signature_free(sig);
	git_commit_free(c);
	mvc_buf_free(&msg);
	return error;
}

int mvc_tag_delete(mvc_repo *repo, const char *name)
{
	char q[MVC_QUOTE_MAX];
	int rc;

	if ((rc = git_tag_delete(mvc__repo_git(repo), name)) == 0)
		return 0;
	mvc_quote(q, sizeof(q), name);
	if (rc == GIT_ENOTFOUND || rc == GIT_EINVALIDSPEC)
		return mvc__err(MVC_ENOTFOUND, "no tag '%s'", q);
	return mvc__err_git(MVC_EIO, "cannot delete tag '%s'", q);
}
