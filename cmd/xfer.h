#ifndef MVC_XFER_CMD_H
#define MVC_XFER_CMD_H
/*
 * Transfers (cmd/util_transport.c), shared by clone, fetch, pull and push:
 * git's own command-line client does the network part.  See mvc-push(1)
 * for why it is git's client and not libgit2's.
 */
#include "cli.h"

struct xfer {
	char *out;          /* git's standard output (bounded), NUL-terminated */
	size_t out_len;
	char err[8192];     /* the end of its standard error, secrets hidden */
	int status;         /* its exit status; 128 + n when killed by signal n */
};

/*
 * Run `git [--git-dir=<store>] -c pack.window=0 ... <args>` (args
 * NULL-terminated; `repo` NULL for a clone) with execvp, no shell: stdin
 * from /dev/null, in a session of its own so that neither git nor ssh
 * can open the terminal to prompt (GIT_TERMINAL_PROMPT=0 as well), with
 * the variables that would point it at another repository removed.  Its
 * standard error is passed on as it comes, with the password of any URL
 * in it hidden; its standard output is kept in x->out.  An interrupt
 * (SIGINT, SIGTERM, SIGHUP) is passed on to it.  0 when git ran (then
 * x->status says how it went), else EXIT_ERR with the message printed.
 */
int xfer_git(struct xfer *x, mvc_repo *repo, const char *const *args);
void xfer_free(struct xfer *x);

/* Whether to ask git for progress: mode 1 --progress, 0 --no-progress,
 * -1 on a terminal unless quiet. */
int xfer_progress(int mode, int quiet);

/* "1a2b3c4d5e6f" */
void xfer_short(char out[13], const mvc_oid *id);

/*
 * Fetch from `remote` with mvc's refspecs, merge its notes and report
 * what changed on stdout (unless quiet): EXIT_OK, EXIT_NO when git
 * refused to update a ref (a tag that would be clobbered), EXIT_ERR with
 * the message printed.  For fetch and pull.
 */
int fetch_remote(mvc_repo *repo, const char *remote, int quiet, int progress);

#endif
