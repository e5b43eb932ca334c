/* Packfile and index writer (pack v2, idx v2). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <zlib.h>
#include "pack.h"

#define STORED_MAX 65535

int mvc__object_id(git_oid *out, git_object_t type, const void *data, size_t len)
{
	char hdr[64];
	int hl = snprintf(hdr, sizeof(hdr), "%s %zu", git_object_type2string(type), len);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int mdlen = 0;
	int ok;

	if (!ctx)
		return mvc__err(MVC_ENOMEM, "cannot create a SHA-1 context");
	ok = EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) &&
	     EVP_DigestUpdate(ctx, hdr, (size_t)hl + 1) &&
	     EVP_DigestUpdate(ctx, data, len) &&
	     EVP_DigestFinal_ex(ctx, out->id, &mdlen);
	EVP_MD_CTX_free(ctx);
	return ok && mdlen == 20 ? 0 : mvc__err(MVC_ERROR, "SHA-1 failed");
}

static int reserve(mvc_pack_entry *e, size_t need)
{
	unsigned char *p;

	if (need <= e->cap)
		return 0;
	if (!(p = realloc(e->buf, need)))
		return mvc__err(MVC_ENOMEM, "out of memory (%zu bytes)", need);
	e->buf = p;
	e->cap = need;
	return 0;
}

int mvc__pack_entry_make(mvc_pack_entry *e, git_object_t type, const void *data, size_t len,
                         int deflate)
{
	size_t blocks = len / STORED_MAX + 1, pos = 0, need;
	size_t size = len;
	const unsigned char *src = data;
	int error;

	if ((error = mvc__object_id(&e->oid, type, data, len)) < 0)
		return error;
	need = 16 + 2 + blocks * 5 + len + 4;
	if (deflate)
		need = 16 + compressBound((uLong)len);
	if ((error = reserve(e, need)) < 0)
		return error;
	/* type and size: 3 bits of type, then 4 + 7k bits of size */
	e->buf[pos] = (unsigned char)((type << 4) | (size & 0x0f));
	size >>= 4;
	while (size) {
		e->buf[pos++] |= 0x80;
		e->buf[pos] = size & 0x7f;
		size >>= 7;
	}
	pos++;
	if (deflate) {
		uLongf zl = (uLongf)(e->cap - pos);

		if (compress2(e->buf + pos, &zl, src, (uLong)len, 6) != Z_OK)
			return mvc__err(MVC_ERROR, "zlib failed");
		pos += zl;
	} else {
		uint32_t adler = mvc__adler32(1, src, len);

		e->buf[pos++] = 0x78;
		e->buf[pos++] = 0x01;
		do {
			size_t n = len > STORED_MAX ? STORED_MAX : len;

			e->buf[pos++] = len <= STORED_MAX; /* BFINAL, BTYPE=00 */
			e->buf[pos++] = (unsigned char)(n & 0xff);
			e->buf[pos++] = (unsigned char)(n >> 8);
			e->buf[pos++] = (unsigned char)(~n & 0xff);
			e->buf[pos++] = (unsigned char)((~n >> 8) & 0xff);
			memcpy(e->buf + pos, src, n);
			pos += n;
			src += n;
			len -= n;
		} while (len);
		e->buf[pos++] = (unsigned char)(adler >> 24);
		e->buf[pos++] = (unsigned char)(adler >> 16);
		e->buf[pos++] = (unsigned char)(adler >> 8);
		e->buf[pos++] = (unsigned char)adler;
	}
	e->len = pos;
	e->crc = mvc__crc32(0, e->buf, pos);
	return 0;
}

void mvc__pack_entry_free(mvc_pack_entry *e)
{
	if (!e)
		return;
	free(e->buf);
	memset(e, 0, sizeof(*e));
}

typedef struct idx_ent {
	git_oid oid;
	uint64_t offset;
	uint32_t crc;
} idx_ent;

struct mvc_pack {
	uint64_t flushed;       /* bytes handed to writeback so far */
	char *dir;
	char *tmp_pack, *tmp_idx;
	int fd;
	uint32_t written;
	size_t cap;
	uint64_t offset;
	idx_ent *ents;
	int finished;
	char *final;            /* ".../pack-<hash>", once finished */
};

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

int mvc__pack_open(mvc_pack **out, const char *store)
{
	mvc_pack *p = mvc__calloc(1, sizeof(*p));
	mvc_buf b = MVC_BUF_INIT;
	unsigned char hdr[12];
	int error;

	*out = NULL;
	if (!p)
		return MVC_ENOMEM;
	p->fd = -1;
	if ((error = mvc_buf_printf(&b, "%s/objects/pack", store)) < 0)
		goto fail;
	p->dir = mvc_buf_detach(&b);
	mkdir(p->dir, 0777);
	if ((error = mvc_buf_printf(&b, "%s/tmp_mvc_XXXXXX", p->dir)) < 0)
		goto fail;
	p->tmp_pack = mvc_buf_detach(&b);
	if ((p->fd = mkostemp(p->tmp_pack, O_CLOEXEC)) < 0) {
		error = mvc__err_sys("cannot create a pack in '%s'", p->dir);
		goto fail;
	}
	/* the count is patched in when the pack is finished */
	memcpy(hdr, "PACK", 4);
	put32(hdr + 4, 2);
	put32(hdr + 8, 0);
	if ((error = mvc_write_all(p->fd, hdr, sizeof(hdr), p->tmp_pack)) < 0)
		goto fail;
	p->offset = sizeof(hdr);
	*out = p;
	return 0;
fail:
	mvc_buf_free(&b);
	mvc__pack_free(p);
	return error;
}

int mvc__pack_append(mvc_pack *p, const mvc_pack_entry *e)
{
	int error;

	if (p->written == p->cap) {
		size_t nc = p->cap ? p->cap * 2 : 1024;
		idx_ent *n = realloc(p->ents, nc * sizeof(*n));

		if (!n || p->written == UINT32_MAX)
			return mvc__err(MVC_ENOMEM, "too many objects for one pack");
		p->ents = n;
		p->cap = nc;
	}
	if ((error = mvc_write_all(p->fd, e->buf, e->len, p->tmp_pack)) < 0)
		return error;
	p->ents[p->written].oid = e->oid;
	p->ents[p->written].offset = p->offset;
	p->ents[p->written].crc = e->crc;
	p->written++;
	p->offset += e->len;
	mvc__writeback(p->fd, &p->flushed, p->offset);
	return 0;
}

static int cmp_ent(const void *a, const void *b)
{
	return git_oid_cmp(&((const idx_ent *)a)->oid, &((const idx_ent *)b)->oid);
}

static int sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	return 0;
}

uint32_t mvc__pack_count(const mvc_pack *p)
{
	return p->written;
}

/* The pack's trailer: SHA-1 of everything before it, read back from the
 * page cache (the count at its head is only known at the end). */
static int pack_checksum(unsigned char out[20], int fd, uint64_t len, const char *what)
{
	EVP_MD_CTX *sha = EVP_MD_CTX_new();
	unsigned char *buf = mvc__malloc(4 << 20);
	unsigned int mdlen;
	uint64_t off = 0;
	int error = 0;

	if (!sha || !buf || !EVP_DigestInit_ex(sha, EVP_sha1(), NULL)) {
		error = mvc__err(MVC_ENOMEM, "out of memory");
		goto done;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	while (off < len) {
		size_t n = len - off < (4u << 20) ? (size_t)(len - off) : (4u << 20);

		if ((error = mvc_read_at(fd, buf, n, off, what)) < 0)
			goto done;
		EVP_DigestUpdate(sha, buf, n);
		off += n;
	}
	EVP_DigestFinal_ex(sha, out, &mdlen);
done:
	EVP_MD_CTX_free(sha);
	free(buf);
	return error;
}

int mvc__pack_finish(mvc_pack *p, git_odb *odb)
{
	unsigned char trailer[20], idxsum[20], b4[4], b8[8];
	unsigned int mdlen;
	EVP_MD_CTX *isha = NULL;
	mvc_buf idx = MVC_BUF_INIT, name = MVC_BUF_INIT;
	char hex[41];
	uint32_t fan[256] = { 0 }, large = 0;
	int fd = -1, error = 0;

	put32(b4, p->written);
	if (pwrite(p->fd, b4, 4, 8) != 4) {
		error = mvc__err_sys("cannot write a pack");
		goto done;
	}
	if ((error = pack_checksum(trailer, p->fd, p->offset, p->tmp_pack)) < 0 ||
	    (error = mvc_write_all(p->fd, trailer, 20, p->tmp_pack)) < 0)
		goto done;
	if (fsync(p->fd) < 0) {
		error = mvc__err_sys("cannot write a pack");
		goto done;
	}
	/* index v2 */
	qsort(p->ents, p->written, sizeof(*p->ents), cmp_ent);
	for (uint32_t i = 1; i < p->written; i++)
		if (git_oid_equal(&p->ents[i].oid, &p->ents[i - 1].oid)) {
			error = mvc__err(MVC_ERROR, "internal error: object written twice in a pack");
			goto done;
		}
	for (uint32_t i = 0; i < p->written; i++)
		fan[p->ents[i].oid.id[0]]++;
	for (int i = 1; i < 256; i++)
		fan[i] += fan[i - 1];
	mvc_buf_put(&idx, "\377tOc", 4);
	put32(b4, 2);
	mvc_buf_put(&idx, b4, 4);
	for (int i = 0; i < 256; i++) {
		put32(b4, fan[i]);
		mvc_buf_put(&idx, b4, 4);
	}
	for (uint32_t i = 0; i < p->written; i++)
		mvc_buf_put(&idx, p->ents[i].oid.id, 20);
	for (uint32_t i = 0; i < p->written; i++) {
		put32(b4, p->ents[i].crc);
		mvc_buf_put(&idx, b4, 4);
	}
	for (uint32_t i = 0; i < p->written; i++) {
		if (p->ents[i].offset < 0x80000000u) {
			put32(b4, (uint32_t)p->ents[i].offset);
		} else {
			put32(b4, 0x80000000u | large++);
		}
		mvc_buf_put(&idx, b4, 4);
	}
	for (uint32_t i = 0; i < p->written; i++) {
		if (p->ents[i].offset >= 0x80000000u) {
			put32(b8, (uint32_t)(p->ents[i].offset >> 32));
			put32(b8 + 4, (uint32_t)p->ents[i].offset);
			mvc_buf_put(&idx, b8, 8);
		}
	}
	mvc_buf_put(&idx, trailer, 20);
	if (!idx.ptr) {
		error = mvc__err(MVC_ENOMEM, "out of memory");
		goto done;
	}
	if (!(isha = EVP_MD_CTX_new()) || !EVP_DigestInit_ex(isha, EVP_sha1(), NULL) ||
	    !EVP_DigestUpdate(isha, idx.ptr, idx.len) || !EVP_DigestFinal_ex(isha, idxsum, &mdlen)) {
		error = mvc__err(MVC_ERROR, "SHA-1 failed");
		goto done;
	}
	mvc_buf_put(&idx, idxsum, 20);
	if ((error = mvc_buf_printf(&name, "%s/tmp_mvc_idx_XXXXXX", p->dir)) < 0)
		goto done;
	p->tmp_idx = mvc_buf_detach(&name);
	if ((fd = mkostemp(p->tmp_idx, O_CLOEXEC)) < 0) {
		error = mvc__err_sys("cannot create a pack index");
		goto done;
	}
	if ((error = mvc_write_all(fd, idx.ptr, idx.len, p->tmp_idx)) < 0)
		goto done;
	if (fsync(fd) < 0) {
		error = mvc__err_sys("cannot write a pack index");
		goto done;
	}
	fchmod(fd, 0444);
	fchmod(p->fd, 0444);
	for (int i = 0; i < 20; i++)
		snprintf(hex + 2 * i, 3, "%02x", trailer[i]);
	/* the .pack first, then the .idx that makes it visible */
	if ((error = mvc_buf_printf(&name, "%s/pack-%s.pack", p->dir, hex)) < 0)
		goto done;
	if (rename(p->tmp_pack, name.ptr) < 0) {
		error = mvc__err_sys("cannot install a pack");
		goto done;
	}
	free(p->tmp_pack);
	p->tmp_pack = NULL;
	name.len = 0;
	if ((error = mvc_buf_printf(&name, "%s/pack-%s.idx", p->dir, hex)) < 0)
		goto done;
	if (rename(p->tmp_idx, name.ptr) < 0) {
		error = mvc__err_sys("cannot install a pack index");
		goto done;
	}
	free(p->tmp_idx);
	p->tmp_idx = NULL;
	sync_dir(p->dir);
	p->finished = 1;
	name.len -= 4; /* ".idx" */
	name.ptr[name.len] = '\0';
	p->final = mvc_buf_detach(&name);
	if (odb && git_odb_refresh(odb) < 0)
		error = mvc__err_git(MVC_ERROR, "cannot reload the object database");
done:
	if (fd >= 0)
		close(fd);
	EVP_MD_CTX_free(isha);
	mvc_buf_free(&idx);
	mvc_buf_free(&name);
	return error;
}

void mvc__pack_free(mvc_pack *p)
{
	if (!p)
		return;
	if (p->fd >= 0)
		close(p->fd);
	if (p->tmp_pack)
		unlink(p->tmp_pack);
	if (p->tmp_idx)
		unlink(p->tmp_idx);
	free(p->tmp_pack);
	free(p->tmp_idx);
	free(p->ents);
	free(p->dir);
	free(p->final);
	free(p);
}

const char *mvc__pack_path(const mvc_pack *p)
{
	return p->final;
}

struct mvc_objset {
	mvc_pack_entry *ents;
	size_t count, cap;
};

int mvc__objset_new(mvc_objset **out)
{
	return (*out = mvc__calloc(1, sizeof(mvc_objset))) ? 0 : MVC_ENOMEM;
}

int mvc__objset_add(mvc_objset *s, git_oid *out, git_object_t type, const void *data, size_t len)
{
	mvc_pack_entry e;
	int error;

	memset(&e, 0, sizeof(e));
	if ((error = mvc__pack_entry_make(&e, type, data, len, 1)) < 0) {
		mvc__pack_entry_free(&e);
		return error;
	}
	*out = e.oid;
	for (size_t i = 0; i < s->count; i++)
		if (git_oid_equal(&s->ents[i].oid, &e.oid)) {
			mvc__pack_entry_free(&e);
			return 0;
		}
	if (s->count == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 16;
		mvc_pack_entry *n = realloc(s->ents, nc * sizeof(*n));

		if (!n) {
			mvc__pack_entry_free(&e);
			return mvc__err(MVC_ENOMEM, "out of memory");
		}
		s->ents = n;
		s->cap = nc;
	}
	s->ents[s->count++] = e;
	return 0;
}

int mvc__objset_write(mvc_objset *s, const char *store, git_odb *odb)
{
	mvc_pack *p = NULL;
	uint32_t n = 0;
	int error = 0;

	for (size_t i = 0; i < s->count; i++) {
		s->ents[i].len = git_odb_exists(odb, &s->ents[i].oid) ? 0 : s->ents[i].len;
		n += s->ents[i].len != 0;
	}
	if (n == 0)
		return 0;
	if ((error = mvc__pack_open(&p, store)) < 0)
		return error;
	for (size_t i = 0; i < s->count && !error; i++)
		if (s->ents[i].len)
			error = mvc__pack_append(p, &s->ents[i]);
	if (!error)
		error = mvc__pack_finish(p, odb);
	mvc__pack_free(p);
	return error;
}

void mvc__objset_free(mvc_objset *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->count; i++)
		mvc__pack_entry_free(&s->ents[i]);
	free(s->ents);
	free(s);
}

/* git sorts tree entries by name, comparing a tree as if it ended in '/'. */
static int cmp_tree_ent(const void *a, const void *b)
{
	const mvc_tree_ent *x = a, *y = b;
	size_t lx = strlen(x->name), ly = strlen(y->name), n = lx < ly ? lx : ly;
	int c = memcmp(x->name, y->name, n);
	unsigned char cx, cy;

	if (c)
		return c;
	cx = n < lx ? (unsigned char)x->name[n] : (x->mode == 040000 ? '/' : 0);
	cy = n < ly ? (unsigned char)y->name[n] : (y->mode == 040000 ? '/' : 0);
	return (int)cx - (int)cy;
}

int mvc__tree_serialize(mvc_buf *out, mvc_tree_ent *ents, size_t n)
{
	int error = 0;

	qsort(ents, n, sizeof(*ents), cmp_tree_ent);
	for (size_t i = 0; i < n && !error; i++) {
		if (i && !strcmp(ents[i].name, ents[i - 1].name))
			return mvc__err(MVC_ERROR, "internal error: duplicate tree entry '%s'", ents[i].name);
		if ((error = mvc_buf_printf(out, "%o %s", ents[i].mode, ents[i].name)) == 0 &&
		    (error = mvc_buf_put(out, "", 1)) == 0)
			error = mvc_buf_put(out, ents[i].oid.id, 20);
	}
	return error;
}
