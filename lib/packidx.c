/* Pack indexes and loose objects read as files (see packidx.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "packidx.h"

#define IDX_HEADER (8 + 256 * 4)

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void packidx_close(mvc_packidx *p)
{
	if (p->map)
		munmap(p->map, p->maplen);
	free(p->sorted);
	free(p->base);
	memset(p, 0, sizeof(*p));
}

static bool exists(const char *base, const char *ext)
{
	char path[4096];
	struct stat st;

	if (snprintf(path, sizeof(path), "%s%s", base, ext) >= (int)sizeof(path))
		return false;
	return stat(path, &st) == 0;
}

uint64_t mvc__packidx_offset(const mvc_packidx *p, uint32_t i)
{
	uint32_t o = get32(p->off32 + 4 * (size_t)i);

	if (o & 0x80000000u) {
		const unsigned char *q = p->off64 + 8 * (size_t)(o & 0x7fffffffu);

		return (uint64_t)get32(q) << 32 | get32(q + 4);
	}
	return o;
}

/*
 * Map and check one index.  0 with p filled; MVC_ENOTFOUND (no message)
 * for an index to skip: unreadable, not v2, inconsistent, or without a
 * pack of the size its offsets need.
 */
static int packidx_open(mvc_packidx *p, const char *base)
{
	char path[4096];
	struct stat st, pst;
	uint64_t fixed, n64;
	int fd;

	memset(p, 0, sizeof(*p));
	if (snprintf(path, sizeof(path), "%s.pack", base) >= (int)sizeof(path) ||
	    stat(path, &pst) < 0 || (uint64_t)pst.st_size < 32)
		return MVC_ENOTFOUND;
	if (snprintf(path, sizeof(path), "%s.idx", base) >= (int)sizeof(path) ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return MVC_ENOTFOUND;
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_size < IDX_HEADER + 40 ||
	    (uint64_t)st.st_size > SIZE_MAX) {
		close(fd);
		return MVC_ENOTFOUND;
	}
	p->maplen = (size_t)st.st_size;
	p->map = mmap(NULL, p->maplen, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p->map == MAP_FAILED) {
		p->map = NULL;
		return MVC_ENOTFOUND;
	}
	if (memcmp(p->map, "\377tOc", 4) || get32(p->map + 4) != 2)
		goto bad;
	for (int i = 1; i < 256; i++)
		if (get32(p->map + 8 + 4 * i) < get32(p->map + 8 + 4 * (i - 1)))
			goto bad;
	p->count = get32(p->map + 8 + 255 * 4);
	/* header, ids, CRCs, 32-bit offsets, two checksums; then 64-bit offsets */
	fixed = IDX_HEADER + (uint64_t)p->count * 28 + 40;
	if (fixed > p->maplen || (p->maplen - fixed) % 8)
		goto bad;
	n64 = (p->maplen - fixed) / 8;
	p->oids = p->map + IDX_HEADER;
	p->crcs = p->oids + (size_t)p->count * 20;
	p->off32 = p->crcs + (size_t)p->count * 4;
	p->off64 = p->off32 + (size_t)p->count * 4;
	p->n64 = (size_t)n64;
	p->pack_size = (uint64_t)pst.st_size;
	p->idx_size = (uint64_t)st.st_size;
	p->mtime = (int64_t)pst.st_mtime;
	if (!(p->sorted = malloc(((size_t)p->count + 1) * sizeof(uint64_t))))
		goto bad;
	for (uint32_t i = 0; i < p->count; i++) {
		uint32_t o = get32(p->off32 + 4 * (size_t)i);

		if ((o & 0x80000000u) && (o & 0x7fffffffu) >= n64)
			goto bad;
		p->sorted[i] = mvc__packidx_offset(p, i);
		if (p->sorted[i] < 12 || p->sorted[i] >= p->pack_size - 20)
			goto bad;
	}
	qsort(p->sorted, p->count, sizeof(uint64_t), cmp_u64);
	for (uint32_t i = 1; i < p->count; i++)
		if (p->sorted[i] == p->sorted[i - 1])
			goto bad;
	if (!(p->base = strdup(base)))
		goto bad;
	p->promisor = exists(base, ".promisor");
	p->keep = exists(base, ".keep");
	return 0;
bad:
	packidx_close(p);
	return MVC_ENOTFOUND;
}

int mvc__packidx_find(uint32_t *i, const mvc_packidx *p, const git_oid *id)
{
	uint32_t lo = id->id[0] ? get32(p->map + 8 + 4 * (id->id[0] - 1)) : 0;
	uint32_t hi = get32(p->map + 8 + 4 * id->id[0]);

	if (hi > p->count)
		hi = p->count;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = memcmp(p->oids + (size_t)mid * 20, id->id, 20);

		if (!c) {
			*i = mid;
			return 1;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

void mvc__packidx_oid(git_oid *out, const mvc_packidx *p, uint32_t i)
{
	memcpy(out->id, p->oids + (size_t)i * 20, 20);
}

uint64_t mvc__packidx_entry_size(const mvc_packidx *p, uint64_t offset)
{
	size_t lo = 0, hi = p->count;

	/* the first offset above this one */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->sorted[mid] <= offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo < p->count ? p->sorted[lo] : p->pack_size - 20) - offset;
}

static int cmp_base(const void *a, const void *b)
{
	return strcmp(((const mvc_packidx *)a)->base, ((const mvc_packidx *)b)->base);
}

int mvc__odbfiles_open(mvc_odbfiles **out, const char *objdir)
{
	mvc_odbfiles *f = mvc__calloc(1, sizeof(*f));
	mvc_buf dir = MVC_BUF_INIT;
	size_t cap = 0;
	DIR *d = NULL;
	struct dirent *de;
	int error = 0;

	*out = NULL;
	if (!f)
		return MVC_ENOMEM;
	if (!(f->objdir = mvc__strdup(objdir)) ||
	    (error = mvc_buf_printf(&dir, "%s/pack", objdir)) < 0) {
		error = error ? error : MVC_ENOMEM;
		goto done;
	}
	if (!(d = opendir(dir.ptr))) {
		if (errno != ENOENT)
			error = mvc__err_sys("cannot read '%s'", dir.ptr);
		goto done;
	}
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		char base[4096];

		if (len < 9 || strncmp(de->d_name, "pack-", 5) || strcmp(de->d_name + len - 4, ".idx"))
			continue;
		if (f->npacks == cap) {
			size_t nc = cap ? cap * 2 : 16;
			mvc_packidx *np = realloc(f->packs, nc * sizeof(*np));

			if (!np) {
				error = mvc__err(MVC_ENOMEM, "out of memory");
				goto done;
			}
			f->packs = np;
			cap = nc;
		}
		if (snprintf(base, sizeof(base), "%s/%.*s", dir.ptr, (int)(len - 4), de->d_name) <
		        (int)sizeof(base) &&
		    packidx_open(&f->packs[f->npacks], base) == 0)
			f->npacks++;
	}
	/* the same order on every run, whatever readdir gives (qsort must not
	 * see the NULL array of a store without packs) */
	if (f->npacks > 1)
		qsort(f->packs, f->npacks, sizeof(*f->packs), cmp_base);
done:
	if (d)
		closedir(d);
	mvc_buf_free(&dir);
	if (error < 0) {
		mvc__odbfiles_free(f);
		return error;
	}
	*out = f;
	return 0;
}

void mvc__odbfiles_free(mvc_odbfiles *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->npacks; i++)
		packidx_close(&f->packs[i]);
	free(f->packs);
	free(f->objdir);
	free(f);
}

int mvc__loose_path(mvc_buf *out, const char *objdir, const git_oid *id)
{
	char hex[GIT_OID_HEXSZ + 1];

	git_oid_tostr(hex, sizeof(hex), id);
	out->len = 0;
	return mvc_buf_printf(out, "%s/%.2s/%s", objdir, hex, hex + 2);
}

int mvc__odbfiles_find(uint64_t *size, size_t *pack, const mvc_odbfiles *f, const git_oid *id)
{
	char hex[GIT_OID_HEXSZ + 1], path[4096];
	struct stat st;
	uint32_t i;

	for (size_t k = 0; k < f->npacks; k++)
		if (mvc__packidx_find(&i, &f->packs[k], id)) {
			*size = mvc__packidx_entry_size(&f->packs[k], mvc__packidx_offset(&f->packs[k], i));
			*pack = k;
			return 1;
		}
	git_oid_tostr(hex, sizeof(hex), id);
	if (snprintf(path, sizeof(path), "%s/%.2s/%s", f->objdir, hex, hex + 2) < (int)sizeof(path) &&
	    stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
		*size = (uint64_t)st.st_size;
		*pack = SIZE_MAX;
		return 1;
	}
	return 0;
}

/* ---- the map ---- */

static size_t slot_of(const mvc_oidmap *m, const git_oid *id)
{
	uint64_t h;

	memcpy(&h, id->id, sizeof(h));
	return (size_t)h & (m->cap - 1);
}

static int grow(mvc_oidmap *m)
{
	mvc_oidmap n = { m->cap ? m->cap * 2 : 1024, 0, NULL, NULL, NULL };

	if (!(n.keys = mvc__calloc(n.cap, sizeof(*n.keys))) ||
	    !(n.vals = mvc__calloc(n.cap, sizeof(*n.vals))) ||
	    !(n.used = mvc__calloc(n.cap, 1))) {
		mvc__oidmap_free(&n);
		return MVC_ENOMEM;
	}
	for (size_t i = 0; i < m->cap; i++)
		if (m->used[i])
			mvc__oidmap_put(&n, &m->keys[i], m->vals[i]);
	mvc__oidmap_free(m);
	*m = n;
	return 0;
}

int mvc__oidmap_put(mvc_oidmap *m, const git_oid *id, mvc_oidval v)
{
	size_t i;
	int error;

	if ((m->count + 1) * 2 > m->cap && (error = grow(m)) < 0)
		return error;
	for (i = slot_of(m, id); m->used[i]; i = (i + 1) & (m->cap - 1))
		if (git_oid_equal(&m->keys[i], id))
			return 0;
	m->used[i] = 1;
	m->keys[i] = *id;
	m->vals[i] = v;
	m->count++;
	return 1;
}

mvc_oidval *mvc__oidmap_get(const mvc_oidmap *m, const git_oid *id)
{
	if (!m->cap)
		return NULL;
	for (size_t i = slot_of(m, id); m->used[i]; i = (i + 1) & (m->cap - 1))
		if (git_oid_equal(&m->keys[i], id))
			return &m->vals[i];
	return NULL;
}

void mvc__oidmap_free(mvc_oidmap *m)
{
	free(m->keys);
	free(m->vals);
	free(m->used);
	memset(m, 0, sizeof(*m));
}
