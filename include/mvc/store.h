#ifndef MVC_STORE_H
#define MVC_STORE_H
/*
 * The store's upkeep: what each version costs (du), garbage collection
 * (gc) and a retention policy that drops old versions' data (prune).
 * See mvc-du(1), mvc-gc(1), mvc-prune(1) and mvc-format(5).
 */
#include "repo.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The object database's files. */
typedef struct mvc_store_stats {
	uint64_t packs, pack_bytes;     /* packs: .pack and .idx bytes */
	uint64_t promisor_packs;        /* of those, packs of pruned data's promises */
	uint64_t loose, loose_bytes;    /* loose objects */
	uint64_t temp, temp_bytes;      /* mvc's temporary files: objects/pack/tmp_mvc_*,
	                                   mvc-state.tmp.* */
} mvc_store_stats;

int mvc_store_stats_get(mvc_store_stats *out, mvc_repo *repo);

/*
 * What one version costs.  Sizes are of objects as stored: a packed
 * object's entry in its pack (header and zlib stream), a loose object's
 * file.  Every object is counted once across the versions walked, for
 * the first (oldest) version that uses it.
 */
typedef struct mvc_du_version {
	mvc_oid id;
	uint64_t raw;            /* bytes of the version's tracked files */
	uint64_t added;          /* bytes of the objects it was the first to use */
	uint64_t shared;         /* bytes of the objects it uses that it did not add:
	                            an earlier version's, or its own used twice */
	uint64_t data_added;     /* of `added`, the model data: chunk blobs and the
	                            non-tensor bytes (header blobs) */
	uint64_t raw_added;      /* their decoded size */
	uint64_t objects_added;
	uint64_t missing;        /* chunk objects it added that the store lacks
	                            (pruned, see mvc_prune(), or lost) */
	int64_t pruned;          /* when mvc prune dropped some of its data
	                            (seconds since the epoch), or 0 */
} mvc_du_version;

typedef struct mvc_du_report {
	size_t count;
	mvc_du_version *versions;  /* oldest first */
	mvc_du_version total;      /* sums over `versions` (id: zero) */
	mvc_store_stats store;
} mvc_du_report;

/*
 * Measure versions.  With no revisions: every version of the current
 * branch's history.  With revisions: those versions only, each measured
 * against its own history (an object counts as added by the oldest
 * version of all their ancestors that uses it).  Unchanged tensors and
 * files are skipped as whole subtrees, so the walk costs what changed.
 */
int mvc_du(mvc_du_report **out, mvc_repo *repo, const char *const *revs, size_t nrevs);
void mvc_du_report_free(mvc_du_report *r);

/* Ratios of a measured version; -1 when undefined (nothing raw). */
double mvc_du_compression(const mvc_du_version *v);  /* data_added / raw_added */
double mvc_du_dedup(const mvc_du_version *v);        /* raw_added / raw */

typedef struct mvc_gc_options {
	unsigned version;
	/*
	 * Unreachable objects older than this go: a git date ("2.weeks.ago",
	 * "2026-11-01"), "now" or "never".  NULL: gc.pruneExpire, else
	 * "2.weeks.ago".  Objects of a commit still running are younger than
	 * any expiry but "now".
	 */
	const char *prune;
} mvc_gc_options;

#define MVC_GC_OPTIONS_VERSION 1
#define MVC_GC_OPTIONS_INIT { MVC_GC_OPTIONS_VERSION, NULL }

typedef struct mvc_gc_report {
	mvc_store_stats before, after;
	char expire[64];          /* the expiry used */
	uint64_t temp_removed, temp_bytes_removed;
	double seconds;
} mvc_gc_report;

/*
 * Repack the store into one pack (packed objects are copied as they are:
 * no zlib and no delta search on chunk blobs) and prune what no ref
 * reaches (branches, tags, channels, notes; reflog entries of
 * unreachable commits expire with the same date), then remove mvc's
 * temporary files older than the expiry.  Runs git(1) on the store: git
 * must be on PATH.  MVC_ECONFLICT when another gc or prune holds the
 * store's maintenance lock.
 */
int mvc_gc(mvc_gc_report *out, mvc_repo *repo, const mvc_gc_options *opts);

typedef struct mvc_prune_options {
	unsigned version;
	size_t keep_last;         /* the newest versions of each branch kept (>= 1) */
	int keep_channels;        /* every version the channels pointed at, not only now */
	int keep_tagged;          /* every tagged version */
	int dry_run;              /* say what would go; change nothing */
} mvc_prune_options;

#define MVC_PRUNE_OPTIONS_VERSION 1
#define MVC_PRUNE_OPTIONS_INIT { MVC_PRUNE_OPTIONS_VERSION, 0, 0, 0, 0 }

typedef struct mvc_prune_report {
	size_t kept_count;
	mvc_oid *kept;            /* versions whose data stays */
	size_t pruned_count;
	mvc_oid *pruned;          /* versions whose data this run drops (some of it) */
	uint64_t chunks, bytes;   /* chunk objects dropped, their stored bytes */
	size_t packs_rewritten;
	int has_promise;
	mvc_oid promise;          /* the commit that records this run */
	int64_t time;             /* when, seconds since the epoch */
} mvc_prune_report;

/*
 * Drop, from the local store, the chunk blobs that no kept version needs.
 * Kept: the `keep_last` newest versions of every branch (as mvc log lists
 * them), a detached HEAD, every version a channel points at, and with the
 * options every version a channel ever pointed at and every tagged one.
 * Everything a kept version's tree names stays, delta bases included.
 * Commits, trees, manifests and headers always stay, so history, show and
 * diff --stat still work; no ref and no commit is rewritten.
 *
 * The dropped blobs are listed in a "promise" (a commit in a pack marked
 * .promisor), and the store becomes a git partial clone
 * (extensions.partialClone=mvc-pruned), so git fsck, git gc and mvc gc
 * accept their absence.  MVC_ECONFLICT when a ref moved while pruning
 * (nothing is dropped then) or another gc or prune runs.
 */
int mvc_prune(mvc_prune_report **out, mvc_repo *repo, const mvc_prune_options *opts);
void mvc_prune_report_free(mvc_prune_report *r);

/*
 * Was version `id`'s data pruned?  1 with *when (seconds since the
 * epoch) when a prune recorded it, 0 when not.
 */
int mvc_prune_lookup(int64_t *when, mvc_repo *repo, const mvc_oid *id);

#ifdef __cplusplus
}
#endif
#endif
