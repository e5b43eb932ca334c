/*
 * A store with versions of a small model, for the tests of du, gc and
 * prune: an embedding table of which a tenth of the rows are retrained
 * at each version (its chunks become deltas against the version before)
 * and a dense layer that changes entirely (stored whole: the chunk of
 * version k is needed by version k only).
 */
#ifndef MVC_TEST_VERSIONS_H
#define MVC_TEST_VERSIONS_H
#include "unit.h"
#include "internal.h"

#define UPKEEP_ROWS 256
#define UPKEEP_DIM 64
#define UPKEEP_MODEL "model.safetensors"

typedef struct ufx {
	char *tmp, *work, *model;
	mvc_repo *repo;
} ufx;

static UNUSED_FN int ufx_setup(void **state)
{
	ufx *f = calloc(1, sizeof(*f));
	git_config *cfg = NULL;

	if (!f)
		return -1;
	f->tmp = tmpdir_new("upkeep");
	f->work = path_join(f->tmp, "w");
	f->model = path_join(f->work, UPKEEP_MODEL);
	if (mvc_repo_init(&f->repo, f->work) < 0 ||
	    git_repository_config(&cfg, mvc__repo_git(f->repo)) < 0 ||
	    git_config_set_int64(cfg, "mvc.chunkSize", 4096) < 0 ||
	    git_config_set_string(cfg, "user.name", "upkeep test") < 0 ||
	    git_config_set_string(cfg, "user.email", "upkeep@example.com") < 0)
		return -1;
	git_config_free(cfg);
	*state = f;
	return 0;
}

static UNUSED_FN int ufx_teardown(void **state)
{
	ufx *f = *state;

	mvc_repo_free(f->repo);
	rm_rf(f->tmp);
	free(f->tmp);
	free(f->work);
	free(f->model);
	free(f);
	return 0;
}

/* Version k of the model (k >= 1). */
static UNUSED_FN unsigned char *ufx_model(size_t *len, unsigned k)
{
	const size_t emb = UPKEEP_ROWS * UPKEEP_DIM * 4, dense = UPKEEP_DIM * 4;
	char hdr[512];
	int h = snprintf(hdr, sizeof(hdr),
	    "{\"emb\":{\"dtype\":\"F32\",\"shape\":[%d,%d],\"data_offsets\":[0,%zu]},"
	    "\"dense\":{\"dtype\":\"F32\",\"shape\":[%d],\"data_offsets\":[%zu,%zu]}}",
	    UPKEEP_ROWS, UPKEEP_DIM, emb, UPKEEP_DIM, emb, emb + dense);
	unsigned char *data = malloc(emb + dense), *out;

	assert_non_null(data);
	while (h % 8)
		hdr[h++] = ' ';
	for (unsigned r = 0; r < UPKEEP_ROWS; r++) {
		unsigned gen = 0;

		/* row r was last retrained at the latest j <= k with (r + j) % 10 == 0 */
		for (unsigned j = 2; j <= k; j++)
			if ((r + j) % 10 == 0)
				gen = j;
		weights_fill((float *)(void *)(data + (size_t)r * UPKEEP_DIM * 4), UPKEEP_DIM,
		    (uint64_t)r * 1000 + gen);
	}
	/* random bytes: a delta against them is never smaller, so they are
	 * stored whole and no later version needs them */
	rnd_fill(data + emb, dense, 77777 + k);
	out = st_build(len, hdr, (size_t)h, data, emb + dense);
	free(data);
	return out;
}

/* Write version k into the working directory and commit it. */
static UNUSED_FN void ufx_commit(ufx *f, unsigned k, mvc_oid *out)
{
	mvc_commit_options o = MVC_COMMIT_OPTIONS_INIT;
	const char *paths[] = { UPKEEP_MODEL };
	char msg[32];
	size_t len;
	unsigned char *p = ufx_model(&len, k);

	write_bytes(f->model, p, len);
	free(p);
	snprintf(msg, sizeof(msg), "v%u", k);
	o.message = msg;
	assert_ok(mvc_commit(out, NULL, f->repo, paths, 1, &o));
}

/* Check out version `id` elsewhere: 0 and equal to model k, or the error. */
static UNUSED_FN int ufx_checkout(ufx *f, const mvc_oid *id, unsigned k)
{
	mvc_checkout_options o = MVC_CHECKOUT_OPTIONS_INIT;
	char hex[MVC_OID_HEXSZ + 1], *out = path_join(f->tmp, "out.safetensors");
	size_t len;
	unsigned char *want = ufx_model(&len, k);
	mvc_repo *repo = NULL;
	int error;

	/* a new handle, as a new process: libgit2 may still read packs this
	 * process opened before gc or prune removed them */
	mvc_oid_fmt(hex, id);
	assert_ok(mvc_repo_open(&repo, f->work));
	mvc_error_clear();
	error = mvc_checkout_to(repo, hex, UPKEEP_MODEL, out, &o);
	mvc_repo_free(repo);
	if (!error && !file_equals(out, want, len))
		fail_msg("version %.12s does not check out as model %u", hex, k);
	unlink(out);
	free(out);
	free(want);
	return error;
}

/* The number of packs in the store. */
static UNUSED_FN size_t ufx_packs(ufx *f)
{
	mvc_store_stats s;

	assert_ok(mvc_store_stats_get(&s, f->repo));
	return (size_t)s.packs;
}

#endif
