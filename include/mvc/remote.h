#ifndef MVC_REMOTE_H
#define MVC_REMOTE_H
/*
 * Remotes: other copies of the store on git servers, and what travels
 * between them.
 *
 * A remote is a git remote in the store's config (remote.<name>.url).
 * mvc fetches from it with these refspecs, so that nothing of the remote
 * lands on a local branch, channel or notes ref directly:
 *
 *     +refs/heads/<b>:refs/remotes/<name>/<b>                   branches
 *      refs/tags/<t>:refs/tags/<t>                             tags (never clobbered)
 *     +refs/mvc/channels/<c>:refs/mvc/remotes/<name>/channels/<c>  channels
 *     +refs/notes/mvc/<n>:refs/mvc/remotes/<name>/notes/<n>        score notes
 *
 * and then merges the fetched notes into the local refs/notes/mvc/<n> (a
 * union: no note line of either side is ever dropped).  Signatures are
 * headers of the commits they sign and travel with them.
 *
 * The library moves no bytes over the network and runs no processes:
 * mvc(1) hands the refspecs to git's own command-line client, which
 * reuses the store's packed chunks as they are (see mvc-push(1) for the
 * measurements behind that choice), and calls back into this module
 * before and after the transfer.
 */
#include "repo.h"
#include "refs.h"
#include "checkout.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Longest remote name and URL accepted, in bytes. */
#define MVC_REMOTE_NAME_MAX 100
#define MVC_REMOTE_URL_MAX 4096

/*
 * 0 if `name` may name a remote: 1 to 100 of the characters A-Z a-z 0-9
 * '.' '_' '-', not starting with '.' or '-', without "..", not ending in
 * ".lock".  (Git allows '/' as well; mvc does not, so that a remote's
 * refs can never be mistaken for another's.)  MVC_EINVALID otherwise.
 */
int mvc_remote_name_check(const char *name);

/*
 * 0 if `url` is a location git can fetch from: scheme://... with the
 * scheme file, git, ssh, git+ssh, ssh+git, http or https (and a host,
 * except for file), an scp-like [user@]host:path, or a local path.
 * MVC_EINVALID, naming the problem, for an empty or over-long URL,
 * control characters or spaces where git would not take them, a leading
 * '-', another scheme, or a transport helper ("ext::...").  Nothing is
 * contacted.
 */
int mvc_remote_url_check(const char *url);

/*
 * `text` (a URL, or a line of git's output) with the secrets of every URL
 * in it hidden: "https://user:token@host" becomes
 * "https://user:***@host", and the user of an http(s) URL without a
 * password (often a token) becomes "***".  *out is the caller's to free.
 */
int mvc_remote_redact(char **out, const char *text);

typedef struct mvc_remote {
	char *name;
	char *url;           /* remote.<name>.url */
	char *push_url;      /* remote.<name>.pushurl, NULL when there is none */
	int mirror;          /* remote.<name>.mirror is set (a git clone --mirror) */
} mvc_remote;

typedef struct mvc_remote_list {
	size_t count;
	mvc_remote *remotes; /* sorted by name */
} mvc_remote_list;

/* Every remote of the store, sorted by name. */
int mvc_remote_list_read(mvc_remote_list **out, mvc_repo *repo);
void mvc_remote_list_free(mvc_remote_list *list);

/* The remote `name`; MVC_ENOTFOUND, with a hint, when there is none. */
int mvc_remote_lookup(mvc_remote **out, mvc_repo *repo, const char *name);
void mvc_remote_free(mvc_remote *remote);

/*
 * Add remote `name` at `url` with mvc's fetch refspecs.  A relative local
 * path is made absolute (git would read it relative to wherever it runs).
 * MVC_EEXISTS when the remote exists, MVC_EINVALID for a bad name or URL.
 */
int mvc_remote_add(mvc_repo *repo, const char *name, const char *url);

/*
 * Remove remote `name` from the config, with its remote-tracking refs
 * (everything under refs/remotes/<name>/ and refs/mvc/remotes/<name>/).  Local branches,
 * tags, channels and notes stay, whatever the remote's refspecs said.
 * MVC_ENOTFOUND when there is no such remote.
 */
int mvc_remote_remove(mvc_repo *repo, const char *name);

/*
 * The refspecs to fetch from remote `name` (see above), in order.  The
 * array and its strings are the caller's to free with mvc_strings_free().
 */
int mvc_remote_fetch_refspecs(char ***out, size_t *count, const char *name);

/*
 * The refspecs of the first fetch of a clone from `name`, into a new bare
 * store that git clone --bare fills with the remote's branches and tags:
 * the remote-tracking refs above, and the remote's channels and notes as
 * the clone's own, so that a clone starts with the whole history of
 * deployments and scores.
 */
int mvc_remote_clone_refspecs(char ***out, size_t *count, const char *name);

/*
 * Finish a store that git cloned from remote `name`: the config of
 * mvc_repo_init() (format version, reflogs, no delta search when git
 * packs), and the remote's fetch refspecs replaced by mvc's (a
 * remote.<name>.mirror setting is removed).  When HEAD names a branch
 * the remote does not have (a server made by a plain `git init --bare`
 * says "master"), HEAD becomes "main" if there is one, else the only
 * branch.
 */
int mvc_remote_clone_setup(mvc_repo *repo, const char *name);

/*
 * What `mvc push <remote> [<spec>...]` sends, as full git refspecs.
 *
 * With no specs: the current branch (unless HEAD is unborn), every tag
 * naming a version in the history being pushed, every channel, and every
 * notes ref under refs/notes/mvc/ -- leaving out the channels and notes
 * refs that hold nothing the remote lacked when it was last fetched from
 * or pushed to (the local ref equals, or is an ancestor of, its
 * remote-tracking ref), so that a stale local copy is not offered as an
 * update.  MVC_EINVALID when HEAD is detached.
 *
 * With specs, exactly those, each "[+]<src>[:<dst>]" made explicit:
 * <src> is HEAD, a branch, tag or channel name, a full ref, or any
 * revision mvc understands (then sent by id); a <dst> without "refs/"
 * lands in the namespace of <src> (HEAD:sites/a is
 * refs/heads/<current>:refs/heads/sites/a); ":<dst>" deletes.  Patterns
 * with '*' must be full refs.  MVC_EINVALID or MVC_ENOTFOUND, naming the
 * spec, otherwise.
 *
 * *count may be 0 (nothing to push).  Free with mvc_strings_free().
 */
int mvc_remote_push_refspecs(char ***out, size_t *count, mvc_repo *repo, const char *remote,
                             const char *const *specs, size_t nspecs);

/*
 * The refs that a fetch from `remote` may change, with what they point
 * at (not peeled), sorted by full ref name in `name`: the refs under
 * refs/remotes/<remote>/, refs/mvc/remotes/<remote>/, refs/tags/ and
 * refs/notes/mvc/.  Taken
 * before and after a transfer, they tell what it did.
 */
int mvc_remote_refs(mvc_ref_list **out, mvc_repo *repo, const char *remote);

typedef enum mvc_notes_merge_kind {
	MVC_NOTES_UP_TO_DATE = 0,  /* the remote had nothing new */
	MVC_NOTES_CREATED,         /* there was no such local notes ref */
	MVC_NOTES_FAST_FORWARD,    /* the local notes were behind */
	MVC_NOTES_MERGED           /* both had new notes: a merge commit */
} mvc_notes_merge_kind;

typedef struct mvc_notes_merge_entry {
	char *ref;                 /* the local notes ref, refs/notes/mvc/... */
	mvc_notes_merge_kind kind;
	mvc_oid id;                /* what the local ref points at now */
	size_t added;              /* MERGED: notes only the remote had */
	size_t combined;           /* MERGED: notes both had, differently: lines united */
} mvc_notes_merge_entry;

typedef struct mvc_notes_merge_result {
	size_t count;
	mvc_notes_merge_entry *entries;   /* sorted by ref */
} mvc_notes_merge_result;

/*
 * Merge the notes fetched from `remote` (refs/mvc/remotes/<remote>/notes/X)
 * into the local refs/notes/mvc/X, each independently: created or
 * fast-forwarded when one side has all, else a merge commit (parents:
 * local, remote) whose notes are the union of both.  When both sides
 * annotate an object differently the note becomes the local note's lines
 * followed by the remote note's lines that the local one lacks: no line
 * (a score, as JSON lines hold them) of either side is dropped, and
 * merging again changes nothing.  Each local ref moves by compare-and-swap
 * (a concurrent writer makes the merge start again, a few dozen times at
 * most; then MVC_ECONFLICT).  A note over 16 MiB is refused
 * (MVC_ECORRUPT).  `out` may be NULL.
 */
int mvc_remote_notes_merge(mvc_notes_merge_result **out, mvc_repo *repo, const char *remote);
void mvc_notes_merge_result_free(mvc_notes_merge_result *r);

typedef struct mvc_pull_options {
	unsigned version;
	int force;                  /* overwrite tracked files with uncommitted changes */
	mvc_progress_cb progress;   /* bytes written by the checkout */
	void *progress_payload;
} mvc_pull_options;

#define MVC_PULL_OPTIONS_VERSION 1
#define MVC_PULL_OPTIONS_INIT { MVC_PULL_OPTIONS_VERSION, 0, NULL, NULL }

typedef struct mvc_pull_result {
	char *branch;               /* the current branch */
	char *upstream;             /* the remote-tracking ref it followed */
	int moved;                  /* 0: already up to date */
	int has_from;               /* 0: the branch had no version yet */
	mvc_oid from, to;
} mvc_pull_result;

/*
 * After a fetch from `remote`: fast-forward the current branch to
 * refs/remotes/<remote>/<branch> (`branch` NULL: the current branch's own
 * name) and write that version's files, with the protection of
 * mvc_checkout_paths() (MVC_EDIRTY before anything is written or moved).
 * Never a merge: MVC_EREFUSED, with nothing changed, when the branch has
 * versions the remote's lacks.  Up to date (moved 0) when the remote's
 * is already in the branch's history.  MVC_EINVALID for a detached HEAD,
 * MVC_ENOTFOUND when the remote had no such branch at the last fetch,
 * MVC_ECONFLICT when the branch moved meanwhile.  Free `out` with
 * mvc_pull_result_clear().
 */
int mvc_remote_pull(mvc_pull_result *out, mvc_repo *repo, const char *remote, const char *branch,
                    const mvc_pull_options *opts);
void mvc_pull_result_clear(mvc_pull_result *r);

#ifdef __cplusplus
}
#endif
#endif
