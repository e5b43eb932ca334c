#ifndef MVC_MOVE_H
#define MVC_MOVE_H
/* Channel moves, shared by lib/channel.c and lib/rollback.c. */
#include "internal.h"

/* Attempts at a compare-and-swap before a retrying caller gives up. */
#define MVC_CAS_ATTEMPTS 64

/* Sleep a short random time before retry `attempt` (1, 2, ...). */
void mvc__backoff(unsigned attempt);

/* "refs/mvc/channels/<name>" into `b`, after checking the name. */
int mvc__channel_refname(mvc_buf *b, const char *name);

/*
 * The tip move of channel `refname` (NULL, and 0, when the channel does
 * not exist yet) and its target.
 */
int mvc__channel_tip(git_commit **tip, git_oid *target, git_repository *git,
                     const char *refname, const char *name);

/*
 * Write a move of channel `name` to `target` on top of `tip` (NULL for
 * the first move) and swap the ref from `tip` to it.  MVC_ECONFLICT when
 * the ref is no longer `tip`.
 */
int mvc__channel_move(git_oid *out, git_repository *git, const char *name, const char *refname,
                      git_commit *tip, const git_commit *target, mvc_channel_action action,
                      const char *reason, const mvc_key *key);

#endif
