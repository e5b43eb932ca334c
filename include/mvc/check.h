#ifndef MVC_CHECK_H
#define MVC_CHECK_H
/*
 * Checks of one version for hooks that refuse a bad model: NaN or
 * infinite values, tensor shapes or dtypes that differ from another
 * version, and tensors that moved more than allowed.  The numbers come
 * from mvc_diff (include/mvc/diff.h), which streams chunk by chunk on all
 * cores and checks every chunk against its digest.
 */
#include "repo.h"
#include "diff.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mvc_check_kind {
	MVC_CHECK_NONFINITE = 0,  /* NaN or infinite values (no_nan) */
	MVC_CHECK_SHAPE,          /* another shape than in same_shapes_as */
	MVC_CHECK_DTYPE,          /* another dtype */
	MVC_CHECK_ADDED,          /* a tensor same_shapes_as does not have */
	MVC_CHECK_REMOVED,        /* a tensor of same_shapes_as that is missing */
	MVC_CHECK_RENAMED,        /* a tensor under another name */
	MVC_CHECK_FILE_ADDED,     /* a file same_shapes_as does not have */
	MVC_CHECK_FILE_REMOVED,   /* a file of same_shapes_as that is missing */
	MVC_CHECK_RELATIVE        /* moved more than max_relative_change */
} mvc_check_kind;

/* "nonfinite", "shape", "dtype", "added", "removed", "renamed",
 * "file-added", "file-removed", "relative-change". */
const char *mvc_check_kind_name(mvc_check_kind k);

typedef struct mvc_check_problem {
	mvc_check_kind kind;
	const char *path;             /* the file */
	const char *tensor;           /* the tensor (NULL for a file) */
	const char *old_name;         /* RENAMED: its name in the other version */
	const mvc_tensor *old_tensor; /* in the other version (SHAPE, DTYPE, REMOVED, RENAMED) */
	const mvc_tensor *new_tensor; /* in the version checked (NULL when removed) */
	uint64_t nan_count, inf_count;   /* NONFINITE */
	/* RELATIVE: the relative L2 change over the elements finite on both
	 * sides (undefined when the old tensor is all zeros), and the
	 * elements that became or stopped being NaN or infinite */
	double relative;
	int relative_defined;
	uint64_t nonfinite_changed;
} mvc_check_problem;

typedef struct mvc_check_options {
	unsigned version;
	int no_nan;                   /* every float tensor finite */
	const char *same_shapes_as;   /* a revision, or NULL */
	/* With has_max_relative: no tensor may move more than this (relative
	 * L2 change) against `against`, NULL meaning the first parent. */
	int has_max_relative;
	double max_relative_change;
	const char *against;
	unsigned threads;             /* 0: MVC_THREADS, else every core */
} mvc_check_options;

#define MVC_CHECK_OPTIONS_VERSION 1
#define MVC_CHECK_OPTIONS_INIT { MVC_CHECK_OPTIONS_VERSION, 0, NULL, 0, 0.0, NULL, 0 }

typedef struct mvc_check_result {
	mvc_oid id;                   /* the version checked */
	int has_shapes;               /* same_shapes_as was resolved */
	mvc_oid shapes;
	int has_against;              /* 0: no parent to measure against */
	mvc_oid against;
	size_t float_tensors;         /* float tensors checked for NaN and Inf */
	size_t compared;              /* tensors whose change was measured */
	/* the largest relative change measured (its tensor, or NULL) */
	const char *largest_path, *largest_tensor;
	double largest_relative;
	size_t count;
	mvc_check_problem *problems;  /* in file, then tensor order, by check */
	/* the diffs the problems point into */
	mvc_diff *nan_diff, *shape_diff, *change_diff;
} mvc_check_result;

/*
 * Run the checks of `opts` on version `rev`.  Returns 0 whether or not
 * problems were found (out->count says); a negative code for errors (an
 * unknown revision, no check asked for, damaged data).  Tensors of dtypes
 * that are not F64, F32, F16 or BF16 are not checked for NaN, and their
 * change is not measured.
 */
int mvc_check(mvc_check_result **out, mvc_repo *repo, const char *rev,
              const mvc_check_options *opts);
void mvc_check_result_free(mvc_check_result *r);

#ifdef __cplusplus
}
#endif
#endif
