/*
 * Rollback of a channel (a new move) or of the current branch (a new
 * commit that reuses an older version's tree).  Both pick their target
 * from the same list of states, newest first, so that repeated rollbacks
 * walk further back and never return to a version a rollback left.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "move.h"

/* One state of a channel or branch, newest first. */
typedef struct state {
	git_oid key;        /* what identifies the models: target id, or tree id */
	git_oid version;    /* the version holding them */
	git_oid from;       /* for a rollback: the key it left */
	int rollback;
} state;

typedef struct states {
	state *v;
	size_t count, cap;
} states;

static state *states_add(states *s)
{
	if (s->count == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 32;
		state *nv = realloc(s->v, nc * sizeof(*nv));

		if (!nv) {
			mvc__err(MVC_ENOMEM, "out of memory");
			return NULL;
		}
		s->v = nv;
		s->cap = nc;
	}
	memset(&s->v[s->count], 0, sizeof(state));
	return &s->v[s->count++];
}

static bool in(const git_oid *set, size_t n, const git_oid *id)
{
	for (size_t i = 0; i < n; i++)
		if (git_oid_equal(&set[i], id))
			return true;
	return false;
}

/*
 * The `steps`-th earlier good state: older states, each key counted once,
 * leaving out the current key and bad keys.  A key turns bad when a
 * rollback leaves it and good again whenever a later state arrives at it
 * (an explicit set, or a rollback to it by name).  With `scores`, only
 * states whose version has recorded scores that meet it count.  NULL if
 * there are not that many.
 */
static const state *plan(git_repository *git, const states *s, unsigned steps,
                         const mvc_score_filter *scores, int *error)
{
	git_oid *bad = NULL, *seen = NULL;
	size_t nbad = 0, nseen = 0;
	const state *found = NULL;

	*error = 0;
	if (!s->count)
		return NULL;
	if (!(bad = mvc__calloc(s->count, sizeof(git_oid))) ||
	    !(seen = mvc__calloc(s->count, sizeof(git_oid)))) {
		*error = MVC_ENOMEM;
		goto done;
	}
	for (size_t i = s->count; i-- > 0;) {
		const state *st = &s->v[i];

		for (size_t j = 0; j < nbad; j++)
			if (git_oid_equal(&bad[j], &st->key)) {
				bad[j] = bad[--nbad];
				break;
			}
		if (st->rollback && !in(bad, nbad, &st->from))
			bad[nbad++] = st->from;
	}
	seen[nseen++] = s->v[0].key;
	for (size_t i = 1; i < s->count; i++) {
		const state *st = &s->v[i];
		int good = 1;

		if (in(seen, nseen, &st->key) || in(bad, nbad, &st->key))
			continue;
		seen[nseen++] = st->key;
		if (scores && (*error = mvc__score_good(&good, git, &st->version, scores)) < 0)
			break;
		if (good && --steps == 0) {
			found = st;
			break;
		}
	}
done:
	free(bad);
	free(seen);
	return found;
}

static int trailer(git_oid *out, const char *msg, const char *key)
{
	git_message_trailer_array tr;
	int found = 0;

	memset(&tr, 0, sizeof(tr));
	if (git_message_trailers(&tr, msg) < 0)
		return 0;
	for (size_t i = 0; i < tr.count && !found; i++)
		if (!strcasecmp(tr.trailers[i].key, key))
			found = !out || git_oid_fromstr(out, tr.trailers[i].value) == 0;
	git_message_trailer_array_free(&tr);
	return found;
}

/* The states of a branch: its first-parent line, keyed by tree. */
static int branch_states(states *s, git_repository *git, const git_commit *head)
{
	git_commit *c = NULL, *p = NULL;
	int error = 0;

	if (git_commit_dup(&c, (git_commit *)head) < 0)
		return mvc__err_git(MVC_ERROR, "cannot read history");
	while (c) {
		state *st = states_add(s);

		if (!st) {
			error = MVC_ENOMEM;
			break;
		}
		git_oid_cpy(&st->key, git_commit_tree_id(c));
		git_oid_cpy(&st->version, git_commit_id(c));
		if (git_commit_parentcount(c) > 0) {
			if (git_commit_parent(&p, c, 0) < 0) {
				error = mvc__err_git(MVC_ECORRUPT, "cannot read history");
				break;
			}
			if (trailer(NULL, git_commit_message(c), "Rollback-Of")) {
				git_oid to;
				git_commit *tc = NULL;

				st->rollback = 1;
				git_oid_cpy(&st->from, git_commit_tree_id(p));
				/* name the version whose models these are, when it is still there */
				if (trailer(&to, git_commit_message(c), "Rollback-To") &&
				    git_commit_lookup(&tc, git, &to) == 0 &&
				    git_oid_equal(git_commit_tree_id(tc), &st->key))
					git_oid_cpy(&st->version, &to);
				git_commit_free(tc);
			}
		}
		git_commit_free(c);
		c = p;
		p = NULL;
	}
	git_commit_free(c);
	return error;
}

static int channel_states(states *s, mvc_repo *repo, const char *name)
{
	mvc_channel_log *log = NULL;
	int error;

	if ((error = mvc_channel_log_read(&log, repo, name, 0)) < 0)
		return error;
	for (size_t i = 0; i < log->count; i++) {
		const mvc_channel_move *m = &log->moves[i];
		state *st = states_add(s);

		if (!st) {
			error = MVC_ENOMEM;
			break;
		}
		mvc__oid_to_git(&st->key, &m->target);
		st->version = st->key;
		st->rollback = m->action == MVC_CHANNEL_ROLLBACK && m->has_from;
		if (m->has_from)
			mvc__oid_to_git(&st->from, &m->from);
	}
	mvc_channel_log_free(log);
	return error;
}

/* Pick the target version among `s` (newest first) by `opts`. */
static int pick(git_commit **out, git_repository *git, const states *s,
                const mvc_rollback_options *opts, const char *what, bool by_tree)
{
	char q[MVC_QUOTE_MAX], hex[MVC_OID_HEXSZ + 1];
	const state *st;
	int error;

	*out = NULL;
	if (opts->to) {
		if ((error = mvc__resolve(out, git, opts->to)) < 0)
			return error;
		if (git_oid_equal(by_tree ? git_commit_tree_id(*out) : git_commit_id(*out),
		        &s->v[0].key)) {
			git_commit_free(*out);
			*out = NULL;
			return mvc__err(MVC_EINVALID, "%s already %s '%s'; nothing to roll back", what,
			    by_tree ? "holds the models of" : "points at", mvc_quote(q, sizeof(q), opts->to));
		}
		return 0;
	}
	st = plan(git, s, opts->steps ? opts->steps : 1, opts->last_good, &error);
	if (error < 0)
		return error;
	if (!st && opts->last_good)
		return mvc__err(MVC_ENOTFOUND,
		    "%s has no earlier version with recorded scores that meet the bounds%s "
		    "(versions rolled back from are skipped); nothing was changed", what,
		    opts->last_good->test_digest ? " on that test data" : "");
	if (!st) {
		if (opts->steps > 1)
			return mvc__err(MVC_ENOTFOUND,
			    "%s has fewer than %u earlier versions to roll back to "
			    "(versions rolled back from are skipped); nothing was changed",
			    what, opts->steps);
		return mvc__err(MVC_ENOTFOUND,
		    "%s has no earlier version to roll back to (versions rolled back from are "
		    "skipped); nothing was changed", what);
	}
	if (git_commit_lookup(out, git, &st->version) < 0) {
		git_oid_tostr(hex, sizeof(hex), &st->version);
		return mvc__err_git(MVC_ECORRUPT, "cannot read version %.12s", hex);
	}
	return 0;
}

static int rollback_channel(mvc_rollback_result *out, mvc_repo *repo, const char *name,
                            const mvc_rollback_options *opts)
{
	git_repository *git = mvc__repo_git(repo);
	mvc_buf refname = MVC_BUF_INIT, what = MVC_BUF_INIT;
	git_commit *tip = NULL, *target = NULL;
	states s = { NULL, 0, 0 };
	char q[MVC_QUOTE_MAX];
	git_oid cur, id;
	int error;

	if ((error = mvc__channel_refname(&refname, name)) < 0 ||
	    (error = mvc_buf_printf(&what, "channel '%s'", mvc_quote(q, sizeof(q), name))) < 0)
		goto done;
	for (unsigned attempt = 0;; attempt++) {
		git_commit_free(tip);
		git_commit_free(target);
		tip = target = NULL;
		s.count = 0;
		if ((error = mvc__channel_tip(&tip, &cur, git, refname.ptr, name)) < 0)
			goto done;
		if (!tip) {
			error = mvc__err(MVC_ENOTFOUND, "no channel '%s'", q);
			goto done;
		}
		if ((error = channel_states(&s, repo, name)) < 0)
			goto done;
		/* the log may have been read after another move: plan from the tip read */
		if (!s.count || !git_oid_equal(&s.v[0].key, &cur)) {
			error = mvc__err(MVC_ECONFLICT, "channel '%s' moved meanwhile; nothing was changed", q);
		} else if ((error = pick(&target, git, &s, opts, what.ptr, false)) < 0) {
			goto done;
		} else {
			error = mvc__channel_move(&id, git, name, refname.ptr, tip, target,
			    MVC_CHANNEL_ROLLBACK, opts->message, opts->signing_key);
		}
		if (error == 0)
			break;
		if (error != MVC_ECONFLICT || !opts->retry || attempt + 1 >= MVC_CAS_ATTEMPTS)
			goto done;
		mvc__backoff(attempt + 1);
	}
	if (out) {
		mvc__oid_from_git(&out->commit, &id);
		mvc__oid_from_git(&out->target, git_commit_id(target));
		mvc__oid_from_git(&out->from, &cur);
	}
done:
	free(s.v);
	git_commit_free(tip);
	git_commit_free(target);
	mvc_buf_free(&refname);
	mvc_buf_free(&what);
	return error;
}

/* One attempt at a branch rollback: plan, restore the files, commit, swap. */
static int rollback_branch_once(mvc_rollback_result *out, mvc_repo *repo,
                                const mvc_rollback_options *opts)
{
	git_repository *git = mvc__repo_git(repo);
	mvc_checkout_options co = MVC_CHECKOUT_OPTIONS_INIT;
	git_reference *head_ref = NULL, *ref = NULL;
	git_commit *head = NULL, *target = NULL;
	git_tree *tree = NULL;
	git_signature *sig = NULL;
	mvc_buf msg = MVC_BUF_INIT, why = MVC_BUF_INIT, what = MVC_BUF_INIT;
	char *refname = NULL, hex[MVC_OID_HEXSZ + 1], hh[MVC_OID_HEXSZ + 1], q[MVC_QUOTE_MAX];
	const git_commit *parents[1];
	states s = { NULL, 0, 0 };
	git_oid id;
	int rc, error;

	if (git_repository_head_unborn(git) == 1)
		return mvc__err(MVC_ENOTFOUND, "no version committed yet: nothing to roll back");
	if (git_reference_lookup(&head_ref, git, "HEAD") < 0)
		return mvc__err_git(MVC_ERROR, "cannot read HEAD");
	refname = mvc__strdup(git_reference_type(head_ref) == GIT_REFERENCE_SYMBOLIC
	                          ? git_reference_symbolic_target(head_ref) : "HEAD");
	if (!refname) {
		error = MVC_ENOMEM;
		goto done;
	}
	if ((error = mvc__resolve(&head, git, "HEAD")) < 0 ||
	    (error = branch_states(&s, git, head)) < 0)
		goto done;
	if ((error = !strcmp(refname, "HEAD")
	         ? mvc_buf_puts(&what, "the detached HEAD")
	         : mvc_buf_printf(&what, "branch '%s'", mvc_quote(q, sizeof(q),
	               strncmp(refname, "refs/heads/", 11) ? refname : refname + 11))) < 0 ||
	    (error = pick(&target, git, &s, opts, what.ptr, true)) < 0)
		goto done;
	git_oid_tostr(hex, sizeof(hex), git_commit_id(target));
	git_oid_tostr(hh, sizeof(hh), git_commit_id(head));
	/* the working files first: a refusal must leave everything as it was */
	co.force = opts->force;
	if ((error = mvc_checkout_paths(repo, hex, NULL, 0, &co)) < 0)
		goto done;
	if (opts->message) {
		const char *m = opts->message;
		size_t len;

		while (*m == '\n' || *m == ' ' || *m == '\t')
			m++;
		len = strlen(m);
		while (len && (m[len - 1] == '\n' || m[len - 1] == ' ' || m[len - 1] == '\t'))
			len--;
		if ((error = mvc_buf_put(&why, m, len)) < 0)
			goto done;
	}
	if ((error = mvc_buf_printf(&msg, "Rollback to %.12s\n\n", hex)) < 0 ||
	    (why.len && (error = mvc_buf_printf(&msg, "%s\n\n", why.ptr)) < 0) ||
	    (error = mvc_buf_printf(&msg, "Rollback-Of: %s\nRollback-To: %s\n", hh, hex)) < 0)
		goto done;
	/* the old tree as it is: one new commit object, whatever the models' size */
	parents[0] = head;
	if (git_commit_tree(&tree, target) < 0 || mvc__signature(&sig, git) < 0) {
		error = mvc__err_git(MVC_EIO, "cannot write the rollback");
		goto done;
	}
	if ((error = mvc__commit_write(&id, git, opts->signing_key, sig, sig, msg.ptr, tree, 1,
	         parents, "the rollback")) < 0)
		goto done;
	rc = git_reference_create_matching(&ref, git, refname, &id, 1, git_commit_id(head),
	    "mvc rollback");
	if (rc == GIT_EEXISTS || rc == GIT_EMODIFIED || rc == GIT_ELOCKED) {
		error = mvc__err(MVC_ECONFLICT,
		    "%s moved while rolling back (another commit?); it was not changed, but the "
		    "working files now hold version %.12s", what.ptr, hex);
		goto done;
	}
	if (rc < 0) {
		error = mvc__err_git(MVC_EIO, "cannot update %s", what.ptr);
		goto done;
	}
	if (out) {
		mvc__oid_from_git(&out->commit, &id);
		mvc__oid_from_git(&out->target, git_commit_id(target));
		mvc__oid_from_git(&out->from, git_commit_id(head));
	}
done:
	free(s.v);
	free(refname);
	git_reference_free(ref);
	git_reference_free(head_ref);
	git_signature_free(sig);
	git_tree_free(tree);
	git_commit_free(target);
	git_commit_free(head);
	mvc_buf_free(&msg);
	mvc_buf_free(&why);
	mvc_buf_free(&what);
	return error;
}

int mvc_rollback(mvc_rollback_result *out, mvc_repo *repo, const char *channel,
                 const mvc_rollback_options *opts)
{
	int error;

	if (!opts || opts->version != MVC_ROLLBACK_OPTIONS_VERSION)
		return mvc__err(MVC_EINVALID, "bad rollback options version");
	if (opts->to && opts->steps)
		return mvc__err(MVC_EINVALID, "a rollback goes --to a version or back --steps, not both");
	if (opts->to && opts->last_good)
		return mvc__err(MVC_EINVALID,
		    "a rollback goes --to a version or to the last good one, not both");
	if (channel)
		return rollback_channel(out, repo, channel, opts);
	for (unsigned attempt = 0;; attempt++) {
		error = rollback_branch_once(out, repo, opts);
		if (error != MVC_ECONFLICT || !opts->retry || attempt + 1 >= MVC_CAS_ATTEMPTS)
			return error;
		mvc__backoff(attempt + 1);
	}
}
