/*
 * lib/packidx.c: pack indexes read as files give every object's place
 * and its size as stored, and the object-id map behind du and prune.
 */
#include "unit.h"
#include "internal.h"
#include "pack.h"
#include "packidx.h"

typedef struct {
	char *tmp, *objdir;
	mvc_repo *repo;
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->tmp = tmpdir_new("packidx");
	if (mvc_repo_init(&f->repo, f->tmp) < 0)
		return -1;
	f->objdir = path_join(mvc_repo_path(f->repo), "objects");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;

	mvc_repo_free(f->repo);
	rm_rf(f->tmp);
	free(f->tmp);
	free(f->objdir);
	free(f);
	return 0;
}

/* A pack of n blobs of different sizes, some deflated: their entry sizes. */
static void write_pack(fx *f, size_t n, git_oid *ids, size_t *sizes)
{
	mvc_pack *p = NULL;

	assert_ok(mvc__pack_open(&p, mvc_repo_path(f->repo)));
	for (size_t i = 0; i < n; i++) {
		mvc_pack_entry e;
		size_t len = 1 + i * 997 + (i % 3) * 70000;
		unsigned char *data = malloc(len);

		memset(&e, 0, sizeof(e));
		rnd_fill(data, len, 1000 + i);
		assert_ok(mvc__pack_entry_make(&e, GIT_OBJECT_BLOB, data, len, (int)(i % 2)));
		assert_ok(mvc__pack_append(p, &e));
		ids[i] = e.oid;
		sizes[i] = e.len;
		mvc__pack_entry_free(&e);
		free(data);
	}
	assert_ok(mvc__pack_finish(p, NULL));
	mvc__pack_free(p);
}

static void test_entry_sizes(void **state)
{
	fx *f = *state;
	git_oid ids[12];
	size_t sizes[12], total = 0;
	mvc_odbfiles *files = NULL;
	uint64_t size;
	size_t pack;

	write_pack(f, 12, ids, sizes);
	assert_ok(mvc__odbfiles_open(&files, f->objdir));
	assert_int_equal(files->npacks, 1);
	assert_int_equal(files->packs[0].count, 12);
	for (size_t i = 0; i < 12; i++) {
		assert_int_equal(mvc__odbfiles_find(&size, &pack, files, &ids[i]), 1);
		assert_int_equal(pack, 0);
		assert_int_equal(size, sizes[i]);
		total += sizes[i];
	}
	/* the entries fill the pack between its header and its trailer */
	assert_int_equal(total, files->packs[0].pack_size - 12 - 20);
	mvc__odbfiles_free(files);
}

static void test_loose_and_missing(void **state)
{
	fx *f = *state;
	git_odb *odb = NULL;
	git_oid id, none;
	mvc_odbfiles *files = NULL;
	mvc_buf path = MVC_BUF_INIT;
	struct stat st;
	uint64_t size;
	size_t pack;

	assert_int_equal(git_repository_odb(&odb, mvc__repo_git(f->repo)), 0);
	assert_int_equal(git_odb_write(&id, odb, "hello\n", 6, GIT_OBJECT_BLOB), 0);
	git_odb_free(odb);
	assert_ok(mvc__odbfiles_open(&files, f->objdir));
	assert_int_equal(files->npacks, 0);
	assert_int_equal(mvc__odbfiles_find(&size, &pack, files, &id), 1);
	assert_int_equal(pack, SIZE_MAX);
	assert_ok(mvc__loose_path(&path, f->objdir, &id));
	assert_int_equal(stat(path.ptr, &st), 0);
	assert_int_equal(size, (uint64_t)st.st_size);
	memset(&none, 0xab, sizeof(none));
	assert_int_equal(mvc__odbfiles_find(&size, &pack, files, &none), 0);
	mvc__odbfiles_free(files);
	mvc_buf_free(&path);
}

/* A damaged index is skipped, as libgit2 would not use it either. */
static void test_damaged_index_skipped(void **state)
{
	fx *f = *state;
	git_oid ids[3];
	size_t sizes[3];
	mvc_odbfiles *files = NULL;
	mvc_buf idx = MVC_BUF_INIT;
	unsigned char *p;
	size_t len = 0;

	write_pack(f, 3, ids, sizes);
	assert_ok(mvc__odbfiles_open(&files, f->objdir));
	assert_int_equal(files->npacks, 1);
	assert_ok(mvc_buf_printf(&idx, "%s.idx", files->packs[0].base));
	mvc__odbfiles_free(files);
	assert_non_null(p = read_bytes(idx.ptr, &len));
	chmod(idx.ptr, 0644);
	write_bytes(idx.ptr, p, len - 7);     /* truncated */
	assert_ok(mvc__odbfiles_open(&files, f->objdir));
	assert_int_equal(files->npacks, 0);
	mvc__odbfiles_free(files);
	p[8 + 255 * 4] = 0xff;                /* a count larger than the file */
	write_bytes(idx.ptr, p, len);
	assert_ok(mvc__odbfiles_open(&files, f->objdir));
	assert_int_equal(files->npacks, 0);
	mvc__odbfiles_free(files);
	free(p);
	mvc_buf_free(&idx);
}

static void test_oidmap(void **state)
{
	mvc_oidmap m = { 0 };
	git_oid id;

	(void)state;
	for (uint32_t i = 0; i < 5000; i++) {
		rnd_fill(id.id, 20, i);
		assert_int_equal(mvc__oidmap_put(&m, &id, (mvc_oidval){ i, i * 2 }), 1);
	}
	assert_int_equal(m.count, 5000);
	for (uint32_t i = 0; i < 5000; i++) {
		mvc_oidval *v;

		rnd_fill(id.id, 20, i);
		assert_non_null(v = mvc__oidmap_get(&m, &id));
		assert_int_equal(v->a, i);
		assert_int_equal(v->b, i * 2);
		/* present: not replaced */
		assert_int_equal(mvc__oidmap_put(&m, &id, (mvc_oidval){ 0, 0 }), 0);
		assert_int_equal(mvc__oidmap_get(&m, &id)->a, i);
	}
	rnd_fill(id.id, 20, 99999);
	assert_null(mvc__oidmap_get(&m, &id));
	mvc__oidmap_free(&m);
	assert_null(mvc__oidmap_get(&m, &id));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_entry_sizes),
		T(test_loose_and_missing),
		T(test_damaged_index_skipped),
		cmocka_unit_test(test_oidmap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
