#ifndef MVC_ROLLBACK_H
#define MVC_ROLLBACK_H
/*
 * Rolling back a channel or the current branch to an earlier version.
 * History is never rewritten: a rollback is a new move of the channel, or
 * a new commit on the branch, recorded with the reason.
 *
 * Which version is "earlier": the targets of the channel's moves (for a
 * branch: the models of the versions along its first-parent line),
 * newest first, each counted once, leaving out the current one and every
 * "bad" one.  A target becomes bad when a rollback leaves it, and good
 * again only when it is explicitly chosen later (mvc_channel_set() or
 * rollback to it by name).  So a second rollback goes further back and
 * never flips back to the version the first one left.
 */
#include "repo.h"
#include "sign.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mvc_rollback_options {
	unsigned version;
	const char *to;          /* roll back to this revision (any version) */
	unsigned steps;          /* else: the steps-th earlier good target (0 means 1) */
	const char *message;     /* the reason; may be NULL */
	int retry;               /* on a lost compare-and-swap, re-plan and retry */
	int force;               /* branch: overwrite working files with changes */
	const mvc_key *signing_key; /* sign the move or commit; NULL: unsigned */
	/*
	 * Only versions whose recorded scores meet this filter are targets
	 * (mvc_score_good()): the newest earlier one, or the steps-th;
	 * NULL: any.
	 */
	const struct mvc_score_filter *last_good;
} mvc_rollback_options;

#define MVC_ROLLBACK_OPTIONS_VERSION 1
#define MVC_ROLLBACK_OPTIONS_INIT { MVC_ROLLBACK_OPTIONS_VERSION, NULL, 0, NULL, 0, 0, NULL }

typedef struct mvc_rollback_result {
	mvc_oid commit;          /* the new move, or the new commit on the branch */
	mvc_oid target;          /* the version rolled back to */
	mvc_oid from;            /* the channel's target, or HEAD, before */
} mvc_rollback_result;

/*
 * Roll back channel `channel`, or the current branch when it is NULL.
 *
 * A channel gets a new move (Channel-Action: rollback) to the target.
 *
 * A branch gets a new commit whose parent is HEAD and whose tree is the
 * target's tree, reused as it is (it costs one small commit object,
 * whatever the models' size), with the message "Rollback to <short id>",
 * the reason, and the trailers "Rollback-Of: <HEAD>" and "Rollback-To:
 * <target>".  The working files are restored to the target first, with
 * the protection of mvc_checkout_paths() (MVC_EDIRTY before anything is
 * written, unless force).
 *
 * MVC_ENOTFOUND: no such channel, no version yet, an unknown `to`, or no
 * earlier target left (rolling back past the first, or none with good
 * scores when last_good is set); MVC_EINVALID: `to`
 * is the current target; MVC_ECONFLICT: the channel or branch moved
 * meanwhile (retry not set, or still moving after a few attempts).
 * Nothing is moved on any error.
 */
int mvc_rollback(mvc_rollback_result *out, mvc_repo *repo, const char *channel,
                 const mvc_rollback_options *opts);

#ifdef __cplusplus
}
#endif
#endif
