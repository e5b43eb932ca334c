#ifndef MVC_VERSION_H
#define MVC_VERSION_H
/*
 * Versions: the commits of an mvc repository, read back.
 */
#include "repo.h"
#include "manifest.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mvc_version mvc_version;

typedef struct mvc_person {
	const char *name;
	const char *email;
	int64_t time;       /* seconds since the epoch */
	int tz_minutes;     /* offset from UTC */
} mvc_person;

/*
 * Resolve a revision as git users type it: HEAD, HEAD~2, branch and tag
 * names, full and abbreviated ids, REV^2; then channel names, which stand
 * for their target version ("production", "production~1",
 * "refs/mvc/channels/production").  MVC_ENOTFOUND when unknown;
 * MVC_EINVALID when a name is both a channel and one of git's names.
 */
int mvc_version_lookup(mvc_version **out, mvc_repo *repo, const char *rev);
void mvc_version_free(mvc_version *v);

const mvc_oid *mvc_version_id(const mvc_version *v);
/* The whole message, trailers included. */
const char *mvc_version_message(const mvc_version *v);
/* The first line of the message. */
const char *mvc_version_summary(const mvc_version *v);
void mvc_version_author(mvc_person *out, const mvc_version *v);
void mvc_version_committer(mvc_person *out, const mvc_version *v);
size_t mvc_version_parentcount(const mvc_version *v);
int mvc_version_parent_id(mvc_oid *out, const mvc_version *v, size_t n);

/* Metadata recorded with --meta (the message's trailers). */
size_t mvc_version_meta_count(const mvc_version *v);
int mvc_version_meta(const char **key, const char **value, const mvc_version *v, size_t i);

/* Tracked files of the version, sorted by path. */
size_t mvc_version_file_count(const mvc_version *v);
const char *mvc_version_file_path(const mvc_version *v, size_t i);

/* The manifest of one tracked file; MVC_ENOTFOUND if it is not tracked. */
int mvc_version_manifest(mvc_manifest **out, mvc_version *v, const char *path);

/*
 * Branches, tags and channels that point at `id`, as "branch:main",
 * "tag:v1", "channel:production" and "HEAD" strings (a channel points at
 * the version that is its target); the array and its strings are the
 * caller's to free with mvc_strings_free().
 */
int mvc_version_refs(char ***out, size_t *count, mvc_repo *repo, const mvc_oid *id);
void mvc_strings_free(char **strings, size_t count);

/* History, newest first (by commit time, then topology). */
typedef struct mvc_walk mvc_walk;
int mvc_walk_new(mvc_walk **out, mvc_repo *repo, const char *rev);
/* The next version, or MVC_ITEROVER. */
int mvc_walk_next(mvc_version **out, mvc_walk *walk);
void mvc_walk_free(mvc_walk *walk);

#ifdef __cplusplus
}
#endif
#endif
