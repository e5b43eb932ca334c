#ifndef MVC_XFER_H
#define MVC_XFER_H
/* Remotes (lib/remote.c): what the unit tests reach below the public API. */
#include "internal.h"

/* Largest note mvc reads while merging notes (they come from remotes). */
#define MVC_NOTE_MAX ((size_t)16 << 20)

/*
 * The union of two notes, line by line: `a` as it is (with a final
 * newline), then every non-empty line of `b` that `a` lacks, once, in
 * b's order.  Appends to `out`.  Union of a note with itself, or with a
 * note whose lines it already holds, gives it back unchanged.
 */
int mvc__notes_union(mvc_buf *out, const char *a, size_t alen, const char *b, size_t blen);

#endif
