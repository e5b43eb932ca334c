/* Reading chunks back: a delta chain is followed down to its full chunk,
 * which is decoded first; each delta above it is then applied in place. */
#include <stdlib.h>
#include <string.h>
#include "scan.h"

/* The codec's message, with the object it came from: a damaged chunk is
 * named by its id, so that it can be found (and fetched again). */
static int name_object(int error, const git_oid *id, int chain)
{
	char hex[GIT_OID_HEXSZ + 1], why[512];

	git_oid_tostr(hex, sizeof(hex), id);
	snprintf(why, sizeof(why), "%s", mvc_error_last());
	return mvc__err(error, "%s (object %s%s)", why, hex,
	    chain ? ", or a delta base it names" : "");
}

int mvc__chunk_load(git_odb *odb, mvc_codec *codec, const git_oid *oid, unsigned char *dst,
                    size_t len, git_oid *chain, unsigned *nchain, unsigned char *key)
{
	git_odb_object *objs[MVC_DELTA_MAX_DEPTH + 1] = { 0 };
	git_oid cur = *oid;
	unsigned n = 0, want_depth = 0;
	int error = 0;

	for (;;) {
		unsigned char base[20];
		unsigned depth;
		int rc;

		if (n > MVC_DELTA_MAX_DEPTH) {
			error = mvc__err(MVC_ECORRUPT, "delta chain is longer than %d", MVC_DELTA_MAX_DEPTH);
			goto done;
		}
		if (git_odb_read(&objs[n], odb, &cur) < 0) {
			char hex[GIT_OID_HEXSZ + 1];
			git_oid_tostr(hex, sizeof(hex), &cur);
			error = mvc__err_git(MVC_ECORRUPT, "%s object %s is missing or unreadable",
			    n ? "delta base" : "chunk", hex);
			goto done;
		}
		if (git_odb_object_type(objs[n]) != GIT_OBJECT_BLOB) {
			error = mvc__err(MVC_ECORRUPT, "chunk object is not a blob");
			goto done;
		}
		rc = mvc_codec_delta_info(git_odb_object_data(objs[n]), git_odb_object_size(objs[n]),
		    base, &depth);
		if (rc < 0) {
			error = name_object(rc, &cur, 0);
			goto done;
		}
		/* each base must be one level shallower than the delta above it,
		 * and the chain must end in a full chunk exactly at depth 0 */
		if (n > 0 && (rc == 1 ? depth != want_depth : want_depth != 0)) {
			error = mvc__err(MVC_ECORRUPT, "delta chain depths do not match");
			goto done;
		}
		n++;
		if (rc == 0)
			break;
		memcpy(cur.id, base, 20);
		if (chain)
			chain[n - 1] = cur;
		want_depth = depth - 1;
	}
	/* n objects: objs[n-1] is full, the ones above are deltas */
	{
		const void *encs[MVC_DELTA_MAX_DEPTH + 1];
		size_t lens[MVC_DELTA_MAX_DEPTH + 1];

		for (unsigned i = 0; i < n; i++) {
			encs[i] = git_odb_object_data(objs[n - 1 - i]);
			lens[i] = git_odb_object_size(objs[n - 1 - i]);
		}
		if (key) {
			/* the full chunk alone first, for a caller that needs it */
			if ((error = mvc_codec_decode(codec, key, len, encs[0], lens[0])) < 0) {
				error = name_object(error, git_odb_object_id(objs[n - 1]), 0);
				goto done;
			}
		}
		if ((error = mvc_codec_decode_chain(codec, dst, len, encs, lens, n)) < 0) {
			error = name_object(error, oid, n > 1);
			goto done;
		}
	}
	if (nchain)
		*nchain = n - 1;
done:
	for (unsigned i = 0; i <= MVC_DELTA_MAX_DEPTH; i++)
		git_odb_object_free(objs[i]);
	return error;
}
