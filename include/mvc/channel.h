#ifndef MVC_CHANNEL_H
#define MVC_CHANNEL_H
/*
 * Channels: named deployments (production, staging/eu, ...) that point at
 * a version and keep the history of every move.
 *
 * A channel is the ref refs/mvc/channels/<name>.  It points at a "move":
 * a small commit whose tree is the target version's tree, whose parents
 * are the previous move (none for the first) and the target version, and
 * whose message records the reason, the action and the ids:
 *
 *     move production to 3eeab9b7067a
 *
 *     <reason>
 *
 *     Channel: production
 *     Channel-Action: set
 *     Channel-Target: <full id>
 *     Channel-From: <full id, or "none">
 *
 * The ref only ever fast-forwards (a move's first parent is the move
 * before it), so `git gc` keeps every move and its version, and a push
 * carries the history like a branch.  Each move replaces the ref with a
 * compare-and-swap against the move it was built on: a concurrent mover
 * makes the slower one fail with MVC_ECONFLICT (nothing changed) unless
 * it asked to retry.
 *
 * As a revision (mvc_version_lookup(), checkout, log, ...) a channel name
 * stands for its target version, after git's own names; see
 * mvc_channel_set().
 */
#include "repo.h"
#include "refs.h"
#include "sign.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MVC_CHANNEL_REF_PREFIX "refs/mvc/channels/"
/* Longest channel name accepted, in bytes. */
#define MVC_CHANNEL_NAME_MAX 200

/*
 * 0 if `name` may name a channel, else MVC_EINVALID with the reason: it
 * must be a valid git ref name below refs/mvc/channels/ as written
 * ("production", "staging/eu"; no "..", spaces, "~^:?*[\", no empty or
 * dot-leading components, no ".lock" suffix), must not start with '-',
 * must not be HEAD and must not look like a version id (all hex digits).
 */
int mvc_channel_name_check(const char *name);

/* Every channel and its target version, sorted by name. */
int mvc_channel_list(mvc_ref_list **out, mvc_repo *repo);

/* The version channel `name` points at; MVC_ENOTFOUND if no such channel. */
int mvc_channel_target(mvc_oid *out, mvc_repo *repo, const char *name);

typedef enum mvc_channel_action {
	MVC_CHANNEL_SET = 0,
	MVC_CHANNEL_ROLLBACK
} mvc_channel_action;

/* "set" or "rollback". */
const char *mvc_channel_action_name(mvc_channel_action a);

typedef struct mvc_channel_move {
	mvc_oid id;              /* the move (a commit on the channel's ref) */
	mvc_oid target;          /* the version the channel points at after it */
	mvc_oid from;            /* before it (valid when has_from) */
	int has_from;            /* 0 for the channel's first move */
	mvc_channel_action action;
	char *reason;            /* the -m text, "" when none was given */
	char *name, *email;      /* who moved it */
	int64_t time;            /* when, seconds since the epoch */
	int tz_minutes;
} mvc_channel_move;

typedef struct mvc_channel_log {
	size_t count;
	mvc_channel_move *moves; /* newest first */
} mvc_channel_log;

/*
 * The moves of channel `name`, newest first; at most `max` of them (0:
 * all).  MVC_ENOTFOUND if there is no such channel.
 */
int mvc_channel_log_read(mvc_channel_log **out, mvc_repo *repo, const char *name, size_t max);
void mvc_channel_log_free(mvc_channel_log *log);

typedef struct mvc_channel_options {
	unsigned version;
	const char *message;     /* the reason, recorded in the move; may be NULL */
	int retry;               /* on a lost compare-and-swap, rebuild and retry */
	const mvc_key *signing_key; /* sign the move (include/mvc/sign.h); NULL: unsigned */
} mvc_channel_options;

#define MVC_CHANNEL_OPTIONS_VERSION 1
#define MVC_CHANNEL_OPTIONS_INIT { MVC_CHANNEL_OPTIONS_VERSION, NULL, 0, NULL }

typedef struct mvc_channel_result {
	mvc_oid move;            /* the new move (the tip, when nothing moved) */
	mvc_oid target;          /* the version the channel points at now */
	mvc_oid from;            /* the one before (valid when has_from) */
	int has_from;            /* 0 when the channel was created */
	int moved;               /* 0 when it already pointed at the target */
} mvc_channel_result;

/*
 * Point channel `name` at version `rev` (any revision, another channel
 * included), creating the channel if needed, with a new move.  When the
 * channel already points at that version nothing is written and
 * out->moved is 0.  MVC_EINVALID for a bad name or the name of a branch
 * or tag, MVC_ENOTFOUND for an unknown revision, MVC_ECONFLICT when
 * another process moved the channel meanwhile (and retry is not set; a
 * retry gives up after a few dozen attempts).  `out` may be NULL.
 */
int mvc_channel_set(mvc_channel_result *out, mvc_repo *repo, const char *name, const char *rev,
                    const mvc_channel_options *opts);

/*
 * Delete channel `name` and with it the record of its moves (the
 * versions stay on their branches).  MVC_ENOTFOUND if there is none.
 */
int mvc_channel_delete(mvc_repo *repo, const char *name);

#ifdef __cplusplus
}
#endif
#endif
