/*
 * Score notes (refs/notes/mvc/scores), which arrive from remotes: every
 * line of a note through lib/score.c's parse_line() as mvc_score_list
 * reads it, the newest score picked from what parsed
 * (mvc_score_latest), and two notes merged line by line
 * (mvc__notes_union, lib/remote.c).  The input is the note; it is also
 * cut in two at its middle for the union, which must hold every line of
 * both, and give the first back when the second adds nothing.
 */
#include "fuzz.h"
#include "xfer.h"
#include "../../lib/score.c"

static void list_and_pick(const char *text, size_t size)
{
	mvc_score_list l;
	mvc_score *latest = NULL;
	size_t cap = 0;
	git_oid tree;

	memset(&l, 0, sizeof(l));
	memset(&tree, 0x11, sizeof(tree));
	for (size_t pos = 0; pos < size;) {
		const char *p = text + pos, *nl = memchr(p, '\n', size - pos);
		size_t len = nl ? (size_t)(nl - p) : size - pos;
		mvc_score s;

		pos += len + (nl != NULL);
		if (len == 0 || len > MVC_SCORE_LINE_MAX || parse_line(&s, p, len, &tree) != 0)
			continue;
		if (l.count == cap) {
			cap = cap ? 2 * cap : 4;
			l.scores = realloc(l.scores, cap * sizeof(*l.scores));
		}
		FUZZ_ASSERT(s.evaluator && s.source && s.options && s.data);
		l.scores[l.count++] = s;
	}
	if (mvc_score_latest(&latest, &l, NULL) == 0) {
		FUZZ_ASSERT(l.count > 0);
		mvc_score_free(latest);
	}
	for (size_t i = 0; i < l.count; i++)
		score_clear(&l.scores[i]);
	free(l.scores);
}

static bool has_line(const char *text, size_t len, const char *line, size_t ll)
{
	for (size_t pos = 0; pos < len;) {
		const char *p = text + pos, *nl = memchr(p, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - p) : len - pos;

		if (n == ll && !memcmp(p, line, ll))
			return true;
		pos += n + (nl != NULL);
	}
	return false;
}

static void union_check(const char *a, size_t alen, const char *b, size_t blen)
{
	mvc_buf out = MVC_BUF_INIT;

	if (mvc__notes_union(&out, a, alen, b, blen) == 0) {
		FUZZ_ASSERT(out.len >= alen && (alen == 0 || !memcmp(out.ptr, a, alen)));
		/* (a check in quadratic time: small inputs only) */
		for (size_t pos = 0; blen < 65536 && pos < blen;) {
			const char *p = b + pos, *nl = memchr(p, '\n', blen - pos);
			size_t n = nl ? (size_t)(nl - p) : blen - pos;

			if (n && !memchr(p, '\0', n))
				FUZZ_ASSERT(has_line(out.ptr, out.len, p, n));
			pos += n + (nl != NULL);
		}
	}
	mvc_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);

	memcpy(text, data, size);
	text[size] = '\0';
	list_and_pick(text, size);
	union_check(text, size / 2, text + size / 2, size - size / 2);
	free(text);
	mvc_error_clear();
	return 0;
}
