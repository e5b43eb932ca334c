/*
 * Channels: refs/mvc/channels/<name>, a chain of move commits.  Each move
 * has the target version's tree and the parents [previous move, target],
 * so the ref only fast-forwards, gc keeps every move, and a push or a
 * mirror clone carries the deployment history like a branch.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sodium.h>
#include "move.h"

#define PREFIX MVC_CHANNEL_REF_PREFIX
#define PREFIX_LEN (sizeof(PREFIX) - 1)

void mvc__backoff(unsigned attempt)
{
	/* up to 2, 4, ... 64 ms: enough for another commit or move to finish */
	uint32_t cap = 2u << (attempt < 5 ? attempt : 5);
	struct timespec ts;
	uint32_t us = 500 + randombytes_uniform(cap * 1000);

	ts.tv_sec = us / 1000000;
	ts.tv_nsec = (long)(us % 1000000) * 1000;
	nanosleep(&ts, NULL);
}

const char *mvc_channel_action_name(mvc_channel_action a)
{
	return a == MVC_CHANNEL_ROLLBACK ? "rollback" : "set";
}

static bool all_hex(const char *s)
{
	for (; *s; s++)
		if (!isxdigit((unsigned char)*s))
			return false;
	return true;
}

int mvc_channel_name_check(const char *name)
{
	char q[MVC_QUOTE_MAX], norm[PREFIX_LEN + MVC_CHANNEL_NAME_MAX + 2];
	mvc_buf b = MVC_BUF_INIT;
	size_t len;
	int valid = 0, error;

	if ((error = mvc__global_init()) < 0)
		return error;
	if (!name || !*name)
		return mvc__err(MVC_EINVALID, "a channel needs a name");
	mvc_quote(q, sizeof(q), name);
	if ((len = strlen(name)) > MVC_CHANNEL_NAME_MAX)
		return mvc__err(MVC_EINVALID, "channel name '%s' is longer than %d bytes", q,
		    MVC_CHANNEL_NAME_MAX);
	if (name[0] == '-')
		return mvc__err(MVC_EINVALID, "channel name '%s' must not start with '-'", q);
	if (!strcmp(name, "HEAD") || !strcmp(name, "@"))
		return mvc__err(MVC_EINVALID, "'%s' cannot name a channel (it means HEAD)", q);
	if (len >= 4 && all_hex(name))
		return mvc__err(MVC_EINVALID,
		    "channel name '%s' looks like a version id; use a name with a non-hex letter", q);
	if ((error = mvc_buf_printf(&b, "%s%s", PREFIX, name)) < 0)
		return error;
	/* valid as git writes it, and already in normal form ("a//b" is not) */
	if (git_reference_name_is_valid(&valid, b.ptr) < 0 || !valid ||
	    git_reference_normalize_name(norm, sizeof(norm), b.ptr, GIT_REFERENCE_FORMAT_NORMAL) < 0 ||
	    strcmp(norm, b.ptr))
		valid = 0;
	mvc_buf_free(&b);
	if (!valid)
		return mvc__err(MVC_EINVALID,
		    "'%s' is not a valid channel name (a git ref name: no spaces, '..', '~^:?*[\\', "
		    "empty or dot-leading parts, or '.lock' ending)", q);
	return 0;
}

int mvc__channel_refname(mvc_buf *b, const char *name)
{
	int error;

	if ((error = mvc_channel_name_check(name)) < 0)
		return error;
	b->len = 0;
	return mvc_buf_printf(b, "%s%s", PREFIX, name);
}

/* The target of a move: its last parent.  A move has one or two parents. */
static int move_target(git_oid *out, const git_commit *move, const char *name)
{
	unsigned n = git_commit_parentcount(move);
	char q[MVC_QUOTE_MAX];

	if (n < 1 || n > 2)
		return mvc__err(MVC_ECORRUPT, "channel '%s' does not point at a channel move",
		    mvc_quote(q, sizeof(q), name));
	git_oid_cpy(out, git_commit_parent_id(move, n - 1));
	return 0;
}

int mvc__channel_ref_target(git_oid *out, git_repository *git, const git_reference *ref)
{
	git_object *obj = NULL;
	int error;

	if (git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT) < 0)
		return mvc__err_git(MVC_ECORRUPT, "cannot read '%s'", git_reference_name(ref));
	error = move_target(out, (git_commit *)obj, git_reference_name(ref) + PREFIX_LEN);
	git_object_free(obj);
	(void)git;
	return error;
}

int mvc__channel_tip(git_commit **tip, git_oid *target, git_repository *git,
                     const char *refname, const char *name)
{
	git_reference *ref = NULL;
	git_object *obj = NULL;
	int rc, error;

	*tip = NULL;
	if ((rc = git_reference_lookup(&ref, git, refname)) == GIT_ENOTFOUND)
		return 0;
	if (rc < 0)
		return mvc__err_git(MVC_ERROR, "cannot read channel '%s'", name);
	rc = git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT);
	git_reference_free(ref);
	if (rc < 0)
		return mvc__err_git(MVC_ECORRUPT, "cannot read channel '%s'", name);
	if ((error = move_target(target, (git_commit *)obj, name)) < 0) {
		git_object_free(obj);
		return error;
	}
	*tip = (git_commit *)obj;
	return 0;
}

/* "  text \n" -> "text"; NULL or blank -> "". */
static int trimmed(mvc_buf *b, const char *s)
{
	size_t len;

	if (!s)
		return 0;
	while (*s == '\n' || *s == ' ' || *s == '\t' || *s == '\r')
		s++;
	len = strlen(s);
	while (len && (s[len - 1] == '\n' || s[len - 1] == ' ' || s[len - 1] == '\t' ||
	               s[len - 1] == '\r'))
		len--;
	return mvc_buf_put(b, s, len);
}

int mvc__channel_move(git_oid *out, git_repository *git, const char *name, const char *refname,
                      git_commit *tip, const git_commit *target, mvc_channel_action action,
                      const char *reason, const mvc_key *key)
{
	git_signature *sig = NULL;
	git_tree *tree = NULL;
	git_reference *ref = NULL;
	const git_commit *parents[2];
	mvc_buf msg = MVC_BUF_INIT, why = MVC_BUF_INIT;
	char to[MVC_OID_HEXSZ + 1], from[MVC_OID_HEXSZ + 1] = "none", q[MVC_QUOTE_MAX];
	size_t np = 0;
	git_oid id;
	int rc, error;

	git_oid_tostr(to, sizeof(to), git_commit_id(target));
	if (tip) {
		git_oid prev;

		if ((error = move_target(&prev, tip, name)) < 0)
			return error;
		git_oid_tostr(from, sizeof(from), &prev);
		parents[np++] = tip;
	}
	parents[np++] = target;
	if ((error = trimmed(&why, reason)) < 0 ||
	    (error = mvc_buf_printf(&msg, "%s %s to %.12s\n\n",
	         action == MVC_CHANNEL_ROLLBACK ? "roll back" : "move", name, to)) < 0 ||
	    (why.len && (error = mvc_buf_printf(&msg, "%s\n\n", why.ptr)) < 0) ||
	    (error = mvc_buf_printf(&msg,
	         "Channel: %s\nChannel-Action: %s\nChannel-Target: %s\nChannel-From: %s\n", name,
	         mvc_channel_action_name(action), to, from)) < 0)
		goto done;
	if (git_commit_tree(&tree, target) < 0 || mvc__signature(&sig, git) < 0) {
		error = mvc__err_git(MVC_EIO, "cannot write the move of channel '%s'",
		    mvc_quote(q, sizeof(q), name));
		goto done;
	}
	{
		char what[MVC_QUOTE_MAX + 32];

		snprintf(what, sizeof(what), "the move of channel '%s'", mvc_quote(q, sizeof(q), name));
		if ((error = mvc__commit_write(&id, git, key, sig, sig, msg.ptr, tree, np, parents,
		         what)) < 0)
			goto done;
	}
	/* compare-and-swap: only from the move this one was built on */
	if (tip)
		rc = git_reference_create_matching(&ref, git, refname, &id, 1, git_commit_id(tip),
		    "mvc channel move");
	else
		rc = git_reference_create(&ref, git, refname, &id, 0, "mvc channel create");
	if (rc == GIT_EEXISTS || rc == GIT_EMODIFIED || rc == GIT_ELOCKED) {
		error = mvc__err(MVC_ECONFLICT,
		    "channel '%s' moved meanwhile (another process?); nothing was changed",
		    mvc_quote(q, sizeof(q), name));
		goto done;
	}
	if (rc < 0) {
		error = mvc__err_git(MVC_EIO, "cannot update channel '%s'", mvc_quote(q, sizeof(q), name));
		goto done;
	}
	if (out)
		git_oid_cpy(out, &id);
	error = 0;
done:
	git_reference_free(ref);
	git_signature_free(sig);
	git_tree_free(tree);
	mvc_buf_free(&msg);
	mvc_buf_free(&why);
	return error;
}

/* Branches and tags named `name`: a channel must not share their name. */
static int git_name_taken(git_repository *git, const char *name, const char **what)
{
	static const char *const kinds[][2] = { { "refs/heads/", "branch" }, { "refs/tags/", "tag" } };
	mvc_buf b = MVC_BUF_INIT;
	git_reference *ref = NULL;
	int taken = 0;

	for (size_t i = 0; i < MVC_ARRAY_SIZE(kinds) && !taken; i++) {
		b.len = 0;
		if (mvc_buf_printf(&b, "%s%s", kinds[i][0], name) < 0)
			break;
		if (git_reference_lookup(&ref, git, b.ptr) == 0) {
			taken = 1;
			*what = kinds[i][1];
		}
		git_reference_free(ref);
		ref = NULL;
	}
	mvc_buf_free(&b);
	return taken;
}

/*
 * A new channel cannot live beside one whose name is a directory of its
 * name or the other way round ("a" and "a/b"): git stores refs as files.
 */
static int nesting_check(git_repository *git, const char *name)
{
	git_reference_iterator *it = NULL;
	git_reference *ref = NULL;
	size_t len = strlen(name);
	char q[MVC_QUOTE_MAX], q2[MVC_QUOTE_MAX];
	int error = 0;

	if (git_reference_iterator_glob_new(&it, git, PREFIX "*") < 0)
		return mvc__err_git(MVC_ERROR, "cannot list channels");
	while (!error && git_reference_next(&ref, it) == 0) {
		const char *other = git_reference_name(ref) + PREFIX_LEN;
		size_t olen = strlen(other);

		if ((olen < len && !strncmp(other, name, olen) && name[olen] == '/') ||
		    (len < olen && !strncmp(other, name, len) && other[len] == '/'))
			error = mvc__err(MVC_EINVALID,
			    "channel '%s' cannot exist beside channel '%s' (one would be a "
			    "directory of the other)", mvc_quote(q, sizeof(q), name),
			    mvc_quote(q2, sizeof(q2), other));
		git_reference_free(ref);
		ref = NULL;
	}
	git_reference_iterator_free(it);
	return error;
}

int mvc_channel_set(mvc_channel_result *out, mvc_repo *repo, const char *name, const char *rev,
                    const mvc_channel_options *opts)
{
	git_repository *git = mvc__repo_git(repo);
	git_commit *target = NULL, *tip = NULL;
	mvc_buf refname = MVC_BUF_INIT;
	const char *what;
	char q[MVC_QUOTE_MAX];
	git_oid id, cur;
	int error, moved = 0;

	if (!opts || opts->version != MVC_CHANNEL_OPTIONS_VERSION)
		return mvc__err(MVC_EINVALID, "bad channel options version");
	if ((error = mvc__channel_refname(&refname, name)) < 0)
		goto done;
	if (git_name_taken(git, name, &what)) {
		error = mvc__err(MVC_EINVALID,
		    "'%s' is a %s; a channel of the same name would make the revision ambiguous",
		    mvc_quote(q, sizeof(q), name), what);
		goto done;
	}
	if ((error = mvc__resolve(&target, git, rev)) < 0)
		goto done;
	for (unsigned attempt = 0;; attempt++) {
		git_commit_free(tip);
		tip = NULL;
		if ((error = mvc__channel_tip(&tip, &cur, git, refname.ptr, name)) < 0 ||
		    (!tip && (error = nesting_check(git, name)) < 0))
			goto done;
		if (tip && git_oid_equal(&cur, git_commit_id(target))) {
			/* already there: a repeated deployment is not a move */
			git_oid_cpy(&id, git_commit_id(tip));
			break;
		}
		error = mvc__channel_move(&id, git, name, refname.ptr, tip, target, MVC_CHANNEL_SET,
		    opts->message, opts->signing_key);
		if (error == 0) {
			moved = 1;
			break;
		}
		if (error != MVC_ECONFLICT || !opts->retry || attempt + 1 >= MVC_CAS_ATTEMPTS)
			goto done;
		mvc__backoff(attempt + 1);
	}
	if (out) {
		memset(out, 0, sizeof(*out));
		mvc__oid_from_git(&out->move, &id);
		mvc__oid_from_git(&out->target, git_commit_id(target));
		if (tip && moved) {
			out->has_from = 1;
			mvc__oid_from_git(&out->from, &cur);
		}
		out->moved = moved;
	}
done:
	git_commit_free(tip);
	git_commit_free(target);
	mvc_buf_free(&refname);
	return error;
}

int mvc_channel_target(mvc_oid *out, mvc_repo *repo, const char *name)
{
	git_commit *tip = NULL;
	mvc_buf refname = MVC_BUF_INIT;
	char q[MVC_QUOTE_MAX];
	git_oid t;
	int error;

	if ((error = mvc__channel_refname(&refname, name)) == 0 &&
	    (error = mvc__channel_tip(&tip, &t, mvc__repo_git(repo), refname.ptr, name)) == 0) {
		if (!tip)
			error = mvc__err(MVC_ENOTFOUND, "no channel '%s'", mvc_quote(q, sizeof(q), name));
		else
			mvc__oid_from_git(out, &t);
	}
	git_commit_free(tip);
	mvc_buf_free(&refname);
	return error;
}

int mvc_channel_delete(mvc_repo *repo, const char *name)
{
	git_reference *ref = NULL;
	mvc_buf refname = MVC_BUF_INIT;
	char q[MVC_QUOTE_MAX];
	int rc, error;

	if ((error = mvc__channel_refname(&refname, name)) < 0)
		goto done;
	if ((rc = git_reference_lookup(&ref, mvc__repo_git(repo), refname.ptr)) == GIT_ENOTFOUND) {
		error = mvc__err(MVC_ENOTFOUND, "no channel '%s'", mvc_quote(q, sizeof(q), name));
		goto done;
	}
	if (rc < 0) {
		error = mvc__err_git(MVC_ERROR, "cannot read channel '%s'", mvc_quote(q, sizeof(q), name));
		goto done;
	}
	/* libgit2 refuses when the ref changed since it was looked up */
	if ((rc = git_reference_delete(ref)) < 0)
		error = mvc__err_git(rc == GIT_EMODIFIED || rc == GIT_ELOCKED ? MVC_ECONFLICT : MVC_EIO,
		    "cannot delete channel '%s'", mvc_quote(q, sizeof(q), name));
done:
	git_reference_free(ref);
	mvc_buf_free(&refname);
	return error;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const mvc_ref_entry *)a)->name, ((const mvc_ref_entry *)b)->name);
}

int mvc_channel_list(mvc_ref_list **out, mvc_repo *repo)
{
	git_repository *git = mvc__repo_git(repo);
	git_reference_iterator *it = NULL;
	git_reference *ref = NULL;
	mvc_ref_list *l;
	size_t cap = 0;
	int rc, error = 0;

	*out = NULL;
	if (!(l = mvc__calloc(1, sizeof(*l))))
		return MVC_ENOMEM;
	if (git_reference_iterator_glob_new(&it, git, PREFIX "*") < 0) {
		error = mvc__err_git(MVC_ERROR, "cannot list channels");
		goto done;
	}
	while ((rc = git_reference_next(&ref, it)) == 0) {
		mvc_ref_entry *e;
		git_oid t;

		if (l->count == cap) {
			size_t nc = cap ? cap * 2 : 8;
			mvc_ref_entry *ne = realloc(l->entries, nc * sizeof(*ne));

			if (!ne) {
				error = mvc__err(MVC_ENOMEM, "out of memory");
				goto done;
			}
			l->entries = ne;
			cap = nc;
		}
		if ((error = mvc__channel_ref_target(&t, git, ref)) < 0)
			goto done;
		e = &l->entries[l->count];
		memset(e, 0, sizeof(*e));
		if (!(e->name = mvc__strdup(git_reference_name(ref) + PREFIX_LEN))) {
			error = MVC_ENOMEM;
			goto done;
		}
		mvc__oid_from_git(&e->target, &t);
		l->count++;
		git_reference_free(ref);
		ref = NULL;
	}
	if (rc != GIT_ITEROVER) {
		error = mvc__err_git(MVC_ERROR, "cannot list channels");
		goto done;
	}
	if (l->count)
		qsort(l->entries, l->count, sizeof(*l->entries), cmp_entry);
done:
	git_reference_free(ref);
	git_reference_iterator_free(it);
	if (error < 0) {
		mvc_ref_list_free(l);
		return error;
	}
	*out = l;
	return 0;
}

/* The reason of a move: the text between the summary and the trailers. */
static char *move_reason(const char *msg)
{
	const char *body = strstr(msg, "\n\n"), *tr = NULL, *p;
	mvc_buf b = MVC_BUF_INIT;

	for (p = msg; (p = strstr(p, "\n\nChannel: ")); p++)
		tr = p;
	if (body && tr && body < tr) {
		body += 2;
		while (tr > body && tr[-1] == '\n')
			tr--;
		if (mvc_buf_put(&b, body, (size_t)(tr - body)) < 0)
			return NULL;
	}
	return mvc_buf_detach(&b); /* "" when there is no reason */
}

static mvc_channel_action move_action(const char *msg)
{
	git_message_trailer_array tr;
	mvc_channel_action a = MVC_CHANNEL_SET;

	memset(&tr, 0, sizeof(tr));
	if (git_message_trailers(&tr, msg) < 0)
		return a;
	for (size_t i = 0; i < tr.count; i++)
		if (!strcasecmp(tr.trailers[i].key, "Channel-Action") &&
		    !strcmp(tr.trailers[i].value, "rollback"))
			a = MVC_CHANNEL_ROLLBACK;
	git_message_trailer_array_free(&tr);
	return a;
}

void mvc_channel_log_free(mvc_channel_log *log)
{
	if (!log)
		return;
	for (size_t i = 0; i < log->count; i++) {
		free(log->moves[i].reason);
		free(log->moves[i].name);
		free(log->moves[i].email);
	}
	free(log->moves);
	free(log);
}

int mvc_channel_log_read(mvc_channel_log **out, mvc_repo *repo, const char *name, size_t max)
{
	git_repository *git = mvc__repo_git(repo);
	git_commit *c = NULL, *next = NULL;
	mvc_buf refname = MVC_BUF_INIT;
	mvc_channel_log *log = NULL;
	size_t cap = 0;
	char q[MVC_QUOTE_MAX];
	git_oid t;
	int error;

	*out = NULL;
	if ((error = mvc__channel_refname(&refname, name)) < 0 ||
	    (error = mvc__channel_tip(&c, &t, git, refname.ptr, name)) < 0)
		goto done;
	if (!c) {
		error = mvc__err(MVC_ENOTFOUND, "no channel '%s'", mvc_quote(q, sizeof(q), name));
		goto done;
	}
	if (!(log = mvc__calloc(1, sizeof(*log)))) {
		error = MVC_ENOMEM;
		goto done;
	}
	while (c && (max == 0 || log->count < max)) {
		mvc_channel_move *m;
		const git_signature *who = git_commit_committer(c);

		if (log->count == cap) {
			size_t nc = cap ? cap * 2 : 16;
			mvc_channel_move *nm = realloc(log->moves, nc * sizeof(*nm));

			if (!nm) {
				error = mvc__err(MVC_ENOMEM, "out of memory");
				goto done;
			}
			log->moves = nm;
			cap = nc;
		}
		m = &log->moves[log->count];
		memset(m, 0, sizeof(*m));
		log->count++;
		mvc__oid_from_git(&m->id, git_commit_id(c));
		if ((error = move_target(&t, c, name)) < 0)
			goto done;
		mvc__oid_from_git(&m->target, &t);
		m->action = move_action(git_commit_message(c));
		m->time = who->when.time;
		m->tz_minutes = who->when.offset;
		if (!(m->reason = move_reason(git_commit_message(c))) ||
		    !(m->name = mvc__strdup(who->name ? who->name : "")) ||
		    !(m->email = mvc__strdup(who->email ? who->email : ""))) {
			error = mvc__err(MVC_ENOMEM, "out of memory");
			goto done;
		}
		/* the first move has the target as its only parent */
		if (git_commit_parentcount(c) == 2) {
			if (git_commit_parent(&next, c, 0) < 0) {
				error = mvc__err_git(MVC_ECORRUPT, "cannot read the moves of channel '%s'",
				    mvc_quote(q, sizeof(q), name));
				goto done;
			}
			if ((error = move_target(&t, next, name)) < 0)
				goto done;
			m->has_from = 1;
			mvc__oid_from_git(&m->from, &t);
		}
		git_commit_free(c);
		c = next;
		next = NULL;
	}
	error = 0;
done:
	git_commit_free(c);
	git_commit_free(next);
	mvc_buf_free(&refname);
	if (error < 0) {
		mvc_channel_log_free(log);
		return error;
	}
	*out = log;
	return 0;
}

int mvc__channel_rev(git_commit **out, git_repository *git, const char *rev, int git_found)
{
	size_t baselen = strcspn(rev, "~^");
	const char *name = rev;
	bool explicit = false;
	git_reference *ref = NULL;
	git_commit *move = NULL;
	git_object *obj = NULL;
	mvc_buf b = MVC_BUF_INIT;
	char q[MVC_QUOTE_MAX], hex[MVC_OID_HEXSZ + 1];
	git_oid t;
	int error = MVC_ENOTFOUND, valid = 0;

	*out = NULL;
	if (!strcmp(rev, "HEAD") || !baselen)
		return MVC_ENOTFOUND;
	if (!strncmp(rev, PREFIX, PREFIX_LEN)) {
		name += PREFIX_LEN;
		baselen -= PREFIX_LEN;
		explicit = true;
	} else if (!strncmp(rev, "mvc/channels/", 13)) {
		name += 13;
		baselen -= 13;
		explicit = true;
	}
	if (mvc_buf_printf(&b, "%s%.*s", PREFIX, (int)baselen, name) < 0)
		return MVC_ENOMEM;
	/* not a possible channel: leave the revision to git, quietly */
	if (git_reference_name_is_valid(&valid, b.ptr) < 0 || !valid ||
	    git_reference_lookup(&ref, git, b.ptr) < 0) {
		error = MVC_ENOTFOUND;
		goto done;
	}
	if (git_found && !explicit) {
		mvc_buf_free(&b);
		if (mvc_buf_printf(&b, "%.*s", (int)baselen, name) < 0) {
			error = MVC_ENOMEM;
			goto done;
		}
		mvc_quote(q, sizeof(q), b.ptr);
		error = mvc__err(MVC_EINVALID,
		    "'%s' names both a channel and a branch, tag or id; say refs/mvc/channels/%s "
		    "for the channel, refs/heads/%s or refs/tags/%s for the others", q, q, q, q);
		goto done;
	}
	if (git_reference_peel(&obj, ref, GIT_OBJECT_COMMIT) < 0) {
		error = mvc__err_git(MVC_ECORRUPT, "cannot read channel '%s'", mvc_quote(q, sizeof(q), rev));
		goto done;
	}
	move = (git_commit *)obj;
	obj = NULL;
	if ((error = move_target(&t, move, b.ptr + PREFIX_LEN)) < 0)
		goto done;
	/* "production~2": the suffix applies to the target version */
	git_oid_tostr(hex, sizeof(hex), &t);
	b.len = 0;
	if ((error = mvc_buf_printf(&b, "%s%s", hex, name + baselen)) < 0)
		goto done;
	if (git_revparse_single(&obj, git, b.ptr) < 0 ||
	    git_object_peel((git_object **)out, obj, GIT_OBJECT_COMMIT) < 0) {
		error = mvc__err_git(MVC_ENOTFOUND, "unknown revision '%s'", mvc_quote(q, sizeof(q), rev));
		goto done;
	}
	error = 0;
done:
	git_object_free(obj);
	git_commit_free(move);
	git_reference_free(ref);
	mvc_buf_free(&b);
	return error;
}
