#ifndef MVC_EXPORT_H
#define MVC_EXPORT_H
/* Part of a stored file written as safetensors (lib/export.c). */
#include "scan.h"

/*
 * Write the tensors of stored file `path` (its tree `ft`, manifest `m`)
 * that match opts->tensors, converted to opts->dtype, as a safetensors
 * file at `out_path`.
 */
int mvc__export(git_repository *git, const git_tree *ft, const mvc_manifest *m, const char *path,
                const char *out_path, const mvc_checkout_options *opts);

#endif
