/*
 * A guard in front of libgit2's object database.
 *
 * Two kinds of damaged object make libgit2 1.5.1 spin forever instead of
 * failing, and mvc reads stores that come from anywhere:
 *
 *  - a truncated loose object: once the input runs out, the inflate loop
 *    of the loose backend makes no progress and never ends (libgit2 issue
 *    7342, fixed after 1.5).  A chunk cut short this way hung `mvc
 *    checkout` and `mvc fsck --full`, with a second reader thread waiting
 *    on the object database's lock behind the first;
 *  - a packed delta whose chain of bases comes back to itself (a
 *    REF_DELTA naming its own id, or a loop through several entries): the
 *    pack backend follows the chain without a bound, growing a stack
 *    until memory runs out.
 *
 * The guard is a backend that libgit2 asks first.  It reads loose objects
 * itself, inflating them with every length checked, and lets libgit2 read
 * a packed object only once the object's delta chain is known to end
 * within MVC_PACK_MAX_DEPTH steps.  It writes nothing.  Everything else
 * about damaged packs (bad zlib data, sizes, offsets, bases missing)
 * libgit2 reports as an error by itself.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <git2/sys/odb_backend.h>
#include "odb.h"

/* The deflate format cannot expand data by more than about 1032:1. */
#define ZLIB_MAX_RATIO 1032
/* libgit2's loose backend follows alternates this deep. */
#define ALTERNATES_DEPTH 5

/* ---- loose objects ---- */

/* Hand zlib the next piece of the input (uInt-sized). */
static void feed(z_stream *zs, const unsigned char **in, size_t *left)
{
	size_t n;

	if (zs->avail_in || !*left)
		return;
	n = *left > UINT_MAX ? UINT_MAX : *left;
	zs->next_in = (Bytef *)*in;
	zs->avail_in = (uInt)n;
	*in += n;
	*left -= n;
}

static int parse_header(const unsigned char *h, size_t n, git_object_t *type, size_t *size)
{
	static const struct { const char *name; git_object_t type; } types[] = {
		{ "commit", GIT_OBJECT_COMMIT }, { "tree", GIT_OBJECT_TREE },
		{ "blob", GIT_OBJECT_BLOB }, { "tag", GIT_OBJECT_TAG },
	};
	const unsigned char *sp = memchr(h, ' ', n), *p;
	size_t v = 0;

	if (!sp)
		return -1;
	*type = GIT_OBJECT_INVALID;
	for (size_t i = 0; i < MVC_ARRAY_SIZE(types); i++)
		if ((size_t)(sp - h) == strlen(types[i].name) &&
		    !memcmp(h, types[i].name, (size_t)(sp - h)))
			*type = types[i].type;
	if (*type == GIT_OBJECT_INVALID || sp + 1 == h + n)
		return -1;
	for (p = sp + 1; p < h + n; p++) {
		if (*p < '0' || *p > '9' || v > (SIZE_MAX - 9) / 10)
			return -1;
		v = v * 10 + (size_t)(*p - '0');
	}
	*size = v;
	return 0;
}

int mvc__loose_inflate(const unsigned char *in, size_t inlen, git_object_t *type, size_t *size,
                       void **body, void *(*alloc)(size_t n, void *ctx),
                       void (*release)(void *p, void *ctx), void *ctx, const char **why)
{
	unsigned char hdr[64], *data = NULL, *out;
	const unsigned char *nul;
	size_t got, have, out_left;
	z_stream zs;
	int rc = Z_OK;

	*why = NULL;
	if (body)
		*body = NULL;
	memset(&zs, 0, sizeof(zs));
	if (inflateInit(&zs) != Z_OK) {
		*why = "zlib cannot start (out of memory?)";
		return -1;
	}
	/* "<type> <size>\0", and whatever of the body comes with it */
	zs.next_out = hdr;
	zs.avail_out = sizeof(hdr);
	while (zs.avail_out && !memchr(hdr, 0, sizeof(hdr) - zs.avail_out)) {
		feed(&zs, &in, &inlen);
		rc = inflate(&zs, Z_NO_FLUSH);
		if (rc == Z_STREAM_END)
			break;
		if (rc == Z_BUF_ERROR) {
			*why = "truncated";
			goto fail;
		}
		if (rc != Z_OK) {
			*why = "not a valid zlib stream";
			goto fail;
		}
	}
	got = sizeof(hdr) - zs.avail_out;
	if (!(nul = memchr(hdr, 0, got)) || parse_header(hdr, (size_t)(nul - hdr), type, size) < 0) {
		*why = "no valid object header";
		goto fail;
	}
	if (!body) {
		inflateEnd(&zs);
		return 0;
	}
	have = got - (size_t)(nul + 1 - hdr);
	if (have > *size) {
		*why = "longer than its header says";
		goto fail;
	}
	/* a size the compressed bytes cannot hold: refuse before allocating */
	if (*size == SIZE_MAX || (*size - have > 64 &&
	    (*size - have - 64) / ZLIB_MAX_RATIO > inlen + zs.avail_in)) {
		*why = "its header claims more data than the file can hold";
		goto fail;
	}
	if (!(data = alloc(*size + 1, ctx))) {
		*why = "out of memory";
		goto fail;
	}
	memcpy(data, nul + 1, have);
	/* one byte more than the header promises, to catch a longer body */
	out = data + have;
	out_left = *size - have + 1;
	while (rc != Z_STREAM_END) {
		size_t produced;

		feed(&zs, &in, &inlen);
		zs.next_out = out;
		zs.avail_out = out_left > UINT_MAX ? UINT_MAX : (uInt)out_left;
		rc = inflate(&zs, Z_NO_FLUSH);
		produced = (size_t)(zs.next_out - out);
		out += produced;
		out_left -= produced;
		if (rc == Z_STREAM_END)
			break;
		if (rc == Z_BUF_ERROR) {
			/* no progress: out of room (too long) or out of input */
			*why = out_left ? "truncated"
			                : "longer than its header says";
			goto fail;
		}
		if (rc != Z_OK) {
			*why = "not a valid zlib stream";
			goto fail;
		}
	}
	if (out_left != 1) {
		*why = out_left ? "shorter than its header says"
		                : "longer than its header says";
		goto fail;
	}
	if (zs.avail_in || inlen) {
		*why = "garbage after its zlib stream";
		goto fail;
	}
	inflateEnd(&zs);
	data[*size] = '\0';
	*body = data;
	return 0;
fail:
	inflateEnd(&zs);
	if (data)
		release(data, ctx);
	return -1;
}

/* ---- pack indexes and delta chains ---- */

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int mvc__pack_idx_check(const unsigned char *idx, size_t len, uint32_t *count)
{
	uint32_t n, prev = 0, large = 0;
	uint64_t need;

	if (len < 8 + 256 * 4 + 40 || memcmp(idx, "\377tOc", 4) || be32(idx + 4) != 2)
		return -1;
	for (int i = 0; i < 256; i++) {
		uint32_t f = be32(idx + 8 + 4 * i);

		if (f < prev)
			return -1;
		prev = f;
	}
	n = prev;
	need = 8 + 256 * 4 + (uint64_t)n * (20 + 4 + 4) + 40;
	if (need > len)
		return -1;
	for (uint32_t i = 0; i < n; i++)
		if (be32(idx + 8 + 1024 + (size_t)n * 24 + 4 * (size_t)i) & 0x80000000u)
			large++;
	if (need + (uint64_t)large * 8 > len)
		return -1;
	*count = n;
	return 0;
}

static uint64_t idx_offset(const unsigned char *idx, size_t len, uint32_t n, uint32_t i)
{
	const unsigned char *o = idx + 8 + 1024 + (size_t)n * 24;
	uint32_t v = be32(o + 4 * (size_t)i);
	size_t at;

	if (!(v & 0x80000000u))
		return v;
	at = (size_t)n * 4 + 8 * (size_t)(v & 0x7fffffffu);
	if (at + 8 > len - 40 - (size_t)(o - idx))
		return UINT64_MAX;
	return (uint64_t)be32(o + at) << 32 | be32(o + at + 4);
}

int64_t mvc__pack_idx_find(const unsigned char *idx, size_t idxlen, const unsigned char oid[20])
{
	uint32_t n = be32(idx + 8 + 255 * 4);
	uint32_t lo = oid[0] ? be32(idx + 8 + 4 * (oid[0] - 1)) : 0, hi = be32(idx + 8 + 4 * oid[0]);
	const unsigned char *names = idx + 8 + 1024;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = memcmp(names + 20 * (size_t)mid, oid, 20);

		if (!c) {
			uint64_t off = idx_offset(idx, idxlen, n, mid);

			return off > INT64_MAX ? -1 : (int64_t)off;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/*
 * The steps below are libgit2 1.5.1's (pack.c: packfile_unpack_header1,
 * get_delta_base, pack_dependency_chain): where libgit2 would fail, so
 * does the walk (returning 0: libgit2 reports that damage itself); it
 * must never stop where libgit2 would go on.
 */
int mvc__pack_chain_check(const unsigned char *idx, size_t idxlen, mvc_pack_read_fn rd,
                          void *ctx, uint64_t packlen, uint64_t offset, const char **why)
{
	*why = NULL;
	for (unsigned depth = 0; depth <= MVC_PACK_MAX_DEPTH; depth++) {
		unsigned char b[32];
		size_t n, used = 0;
		unsigned type, shift = 4;
		unsigned c;

		if (packlen < 20 || offset > packlen - 20 || offset == 0)
			return 0;
		n = rd(ctx, offset, b, sizeof(b));
		if (n == 0)
			return 0;
		c = b[used++];
		type = (c >> 4) & 7;
		while (c & 0x80) {
			if (used >= n || shift >= 64)
				return 0;
			c = b[used++];
			shift += 7;
		}
		if (type != GIT_OBJECT_OFS_DELTA && type != GIT_OBJECT_REF_DELTA)
			return 0; /* a whole object, or a type libgit2 refuses */
		if (type == GIT_OBJECT_OFS_DELTA) {
			uint64_t rel;

			if (used >= n)
				return 0;
			c = b[used++];
			rel = c & 127;
			while (c & 128) {
				if (used >= n)
					return 0;
				rel += 1;
				if (!rel || rel >> (64 - 7))
					return 0;
				c = b[used++];
				rel = (rel << 7) + (c & 127);
			}
			if (rel == 0 || offset <= rel)
				return 0;
			offset -= rel;
		} else {
			unsigned char base[20];
			int64_t at;

			if (offset + used > packlen - 20 ||
			    rd(ctx, offset + used, base, sizeof(base)) != sizeof(base) ||
			    (at = mvc__pack_idx_find(idx, idxlen, base)) <= 0)
				return 0;
			offset = (uint64_t)at;
		}
	}
	*why = "its chain of delta bases never ends (the pack entry is damaged)";
	return -1;
}

/* ---- the backend ---- */

/* A pack and its index.  The index is mapped (as libgit2 maps it: packs
 * are never changed in place, only added and deleted); the pack is not:
 * the few bytes of entry headers a check needs are read with pread(), so
 * that the pages of chunk data around them never count in the process's
 * resident memory (a mapping of every pack made checkout's RSS grow by
 * each version's pack along a chain of deltas). */
typedef struct gpack {
	char *name;               /* .idx path */
	unsigned char *idx;
	size_t idxlen;
	char *packpath;
	uint64_t packlen;
	int fd;                   /* the pack, opened at its first check; -1 */
	int seen;                 /* still there at the last scan */
} gpack;

typedef struct guard {
	git_odb_backend parent;
	pthread_mutex_t mu;
	char **dirs;              /* objects directories */
	size_t ndirs;
	struct timespec *mtimes;  /* of each <dir>/pack at the last scan */
	gpack *packs;
	size_t npacks, cap;
} guard;

static size_t pack_pread(void *ctx, uint64_t off, unsigned char *buf, size_t n)
{
	const gpack *p = ctx;

	if (off >= p->packlen)
		return 0;
	if (n > p->packlen - off)
		n = (size_t)(p->packlen - off);
	return mvc_read_at(p->fd, buf, n, off, p->packpath) < 0 ? 0 : n;
}

/*
 * Check the chain of the entry at `off` of pack `p`; -1 with `why` set
 * when it is damaged, or when the pack cannot be opened.  The pack stays
 * open for the next read; when descriptors run out, every pack of the
 * guard is closed and the open tried again.  Called with the lock held.
 */
static int pack_check_at(guard *g, gpack *p, uint64_t off, const char **why)
{
	if (p->fd < 0 && (p->fd = open(p->packpath, O_RDONLY | O_CLOEXEC)) < 0 &&
	    (errno == EMFILE || errno == ENFILE)) {
		for (size_t i = 0; i < g->npacks; i++)
			if (g->packs[i].fd >= 0) {
				close(g->packs[i].fd);
				g->packs[i].fd = -1;
			}
		p->fd = open(p->packpath, O_RDONLY | O_CLOEXEC);
	}
	if (p->fd < 0) {
		*why = "the pack cannot be opened";
		return -1;
	}
	return mvc__pack_chain_check(p->idx, p->idxlen, pack_pread, p, p->packlen, off, why);
}

static void pack_close(gpack *p)
{
	if (p->fd >= 0)
		close(p->fd);
	if (p->idx)
		munmap(p->idx, p->idxlen);
	free(p->packpath);
	free(p->name);
	memset(p, 0, sizeof(*p));
	p->fd = -1;
}

/* The whole file, mapped read-only; NULL if it cannot be. */
static unsigned char *map_file(const char *path, size_t *len)
{
	struct stat st;
	void *p = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0 && st.st_size > 0 && (uint64_t)st.st_size <= SIZE_MAX) {
		*len = (size_t)st.st_size;
		p = mmap(NULL, *len, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED)
			p = NULL;
	}
	close(fd);
	return p;
}

/* Map one index and open its pack; silently skip what is not usable
 * (libgit2 then reads or refuses it on its own terms). */
static void pack_add(guard *g, const char *idxpath)
{
	gpack p = { NULL, NULL, 0, NULL, 0, -1, 1 };
	size_t plen = strlen(idxpath);
	struct stat st;
	uint32_t count;

	for (size_t i = 0; i < g->npacks; i++)
		if (!strcmp(g->packs[i].name, idxpath)) {
			g->packs[i].seen = 1;
			return;
		}
	if (g->npacks == g->cap) {
		size_t nc = g->cap ? g->cap * 2 : 16;
		gpack *np = realloc(g->packs, nc * sizeof(*np));

		if (!np)
			return;
		g->packs = np;
		g->cap = nc;
	}
	if (!(p.idx = map_file(idxpath, &p.idxlen)) ||
	    mvc__pack_idx_check(p.idx, p.idxlen, &count) < 0 || !(p.packpath = malloc(plen + 2))) {
		pack_close(&p);
		return;
	}
	memcpy(p.packpath, idxpath, plen - 4);
	strcpy(p.packpath + plen - 4, ".pack");
	if (stat(p.packpath, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    !(p.name = strdup(idxpath))) {
		pack_close(&p);
		return;
	}
	p.packlen = (uint64_t)st.st_size;
	g->packs[g->npacks++] = p;
}

/* Read the pack directories again if one of them changed since the last
 * time (never read: changed).  Called with the lock held. */
static void scan_packs(guard *g)
{
	int changed = 0;
	char path[PATH_MAX];

	for (size_t d = 0; d < g->ndirs; d++) {
		struct stat st;

		snprintf(path, sizeof(path), "%s/pack", g->dirs[d]);
		if (stat(path, &st) < 0)
			memset(&st, 0, sizeof(st));
		if (st.st_mtim.tv_sec != g->mtimes[d].tv_sec ||
		    st.st_mtim.tv_nsec != g->mtimes[d].tv_nsec)
			changed = 1;
		g->mtimes[d] = st.st_mtim;
	}
	if (!changed)
		return;
	for (size_t i = 0; i < g->npacks; i++)
		g->packs[i].seen = 0;
	for (size_t d = 0; d < g->ndirs; d++) {
		DIR *dir;
		struct dirent *de;

		snprintf(path, sizeof(path), "%s/pack", g->dirs[d]);
		if (!(dir = opendir(path)))
			continue;
		while ((de = readdir(dir))) {
			size_t n = strlen(de->d_name);

			if (n > 4 && !strcmp(de->d_name + n - 4, ".idx") &&
			    (size_t)snprintf(path, sizeof(path), "%s/pack/%s", g->dirs[d], de->d_name) <
			        sizeof(path))
				pack_add(g, path);
		}
		closedir(dir);
	}
	/* packs deleted since (git gc): forget them */
	for (size_t i = 0; i < g->npacks;) {
		if (g->packs[i].seen) {
			i++;
			continue;
		}
		pack_close(&g->packs[i]);
		g->packs[i] = g->packs[--g->npacks];
	}
}

/* Every pack entry of `oid` must have a chain that ends: 1 if a pack
 * holds it, 0 if none does, -1 if an entry is damaged that way. */
static int packed_check(guard *g, const git_oid *oid)
{
	char hex[GIT_OID_HEXSZ + 1];
	int found = 0, error = 0;

	pthread_mutex_lock(&g->mu);
	for (int pass = 0; pass < 2 && !found && !error; pass++) {
		if (pass)
			scan_packs(g);
		for (size_t i = 0; i < g->npacks && !error; i++) {
			gpack *p = &g->packs[i];
			int64_t off = mvc__pack_idx_find(p->idx, p->idxlen, oid->id);
			const char *why;

			if (off < 0)
				continue;
			found = 1;
			if (pack_check_at(g, p, (uint64_t)off, &why) < 0) {
				git_oid_tostr(hex, sizeof(hex), oid);
				git_error_set(GIT_ERROR_ODB, "packed object %s in '%.*s.pack': %s", hex,
				    (int)strlen(p->name) - 4, p->name, why);
				error = -1;
			}
		}
	}
	pthread_mutex_unlock(&g->mu);
	return error < 0 ? error : found;
}

/* Read the loose file of `oid`: GIT_ENOTFOUND if there is none. */
static int loose_file(guard *g, const char *hex, unsigned char **buf, size_t *len, char *path,
                      size_t pathsz)
{
	for (size_t d = 0; d < g->ndirs; d++) {
		struct stat st;
		size_t got = 0;
		int fd;

		snprintf(path, pathsz, "%s/%.2s/%s", g->dirs[d], hex, hex + 2);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		if (fstat(fd, &st) < 0 || (uint64_t)st.st_size >= SIZE_MAX ||
		    !(*buf = malloc((size_t)st.st_size + 1))) {
			close(fd);
			git_error_set(GIT_ERROR_OS, "cannot read loose object '%s'", path);
			return -1;
		}
		while (got < (size_t)st.st_size) {
			ssize_t n = read(fd, *buf + got, (size_t)st.st_size - got);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			got += (size_t)n;
		}
		close(fd);
		*len = got;
		return 0;
	}
	return GIT_ENOTFOUND;
}

static void *backend_alloc(size_t n, void *ctx)
{
	return git_odb_backend_data_alloc(ctx, n);
}

static void backend_release(void *p, void *ctx)
{
	git_odb_backend_data_free(ctx, p);
}

/* A loose object, whole (`data` non-NULL) or its header only. */
static int loose_read(guard *g, const git_oid *oid, void **data, size_t *len, git_object_t *type)
{
	char hex[GIT_OID_HEXSZ + 1], path[PATH_MAX];
	unsigned char *file = NULL;
	const char *why;
	size_t flen = 0;
	int rc;

	git_oid_tostr(hex, sizeof(hex), oid);
	if ((rc = loose_file(g, hex, &file, &flen, path, sizeof(path))) < 0)
		return rc;
	rc = mvc__loose_inflate(file, flen, type, len, data, backend_alloc, backend_release, g,
	    &why);
	free(file);
	if (rc < 0) {
		git_error_set(GIT_ERROR_ODB, "loose object %s is damaged: %s", hex, why);
		return -1;
	}
	return 0;
}

/* Does the loose object `oid`, if there is one, inflate whole? */
static int loose_check(guard *g, const git_oid *oid)
{
	void *data = NULL;
	size_t len;
	git_object_t type;
	int rc = loose_read(g, oid, &data, &len, &type);

	if (data)
		git_odb_backend_data_free(&g->parent, data);
	return rc == GIT_ENOTFOUND ? 0 : rc;
}

/*
 * A loose object is read here, unless it is damaged and a pack holds it
 * too: libgit2 reads packs first and would never look at the damaged
 * copy, so neither does mvc.
 */
static int guard_read(void **data, size_t *len, git_object_t *type, git_odb_backend *b,
                      const git_oid *oid)
{
	guard *g = (guard *)b;
	int rc = loose_read(g, oid, data, len, type), pc;

	if (rc == 0)
		return 0;
	if ((pc = packed_check(g, oid)) < 0)
		return -1;
	if (rc != GIT_ENOTFOUND && pc == 0)
		return rc; /* damaged, and in no pack */
	git_error_clear();
	return GIT_PASSTHROUGH;
}

static int guard_read_header(size_t *len, git_object_t *type, git_odb_backend *b,
                             const git_oid *oid)
{
	guard *g = (guard *)b;
	int rc = loose_read(g, oid, NULL, len, type), pc;

	if (rc == 0)
		return 0;
	if ((pc = packed_check(g, oid)) < 0)
		return -1;
	if (rc != GIT_ENOTFOUND && pc == 0)
		return rc;
	git_error_clear();
	return GIT_PASSTHROUGH;
}

/* An abbreviated id: check every loose and packed object it may name,
 * then let libgit2 find it (and report an ambiguity). */
static int guard_read_prefix(git_oid *out, void **data, size_t *len, git_object_t *type,
                             git_odb_backend *b, const git_oid *prefix, size_t hexlen)
{
	guard *g = (guard *)b;
	char hex[GIT_OID_HEXSZ + 1];
	int error = 0;

	(void)data;
	(void)len;
	(void)type;
	if (hexlen >= GIT_OID_HEXSZ) {
		*out = *prefix;
		return guard_read(data, len, type, b, prefix);
	}
	git_oid_tostr(hex, sizeof(hex), prefix);
	hex[hexlen] = '\0';
	for (size_t d = 0; d < g->ndirs && !error && hexlen >= 2; d++) {
		char path[PATH_MAX];
		DIR *dir;
		struct dirent *de;

		snprintf(path, sizeof(path), "%s/%.2s", g->dirs[d], hex);
		if (!(dir = opendir(path)))
			continue;
		while (!error && (de = readdir(dir))) {
			git_oid id;
			char full[GIT_OID_HEXSZ + 1];

			if (strlen(de->d_name) != GIT_OID_HEXSZ - 2)
				continue;
			if (snprintf(full, sizeof(full), "%.2s%s", hex, de->d_name) >= (int)sizeof(full) ||
			    strncmp(full, hex, hexlen) || git_oid_fromstr(&id, full) < 0)
				continue;
			error = loose_check(g, &id) < 0 ? -1 : 0;
		}
		closedir(dir);
	}
	pthread_mutex_lock(&g->mu);
	scan_packs(g);
	for (size_t i = 0; i < g->npacks && !error; i++) {
		gpack *p = &g->packs[i];
		uint32_t n = be32(p->idx + 8 + 255 * 4);
		uint32_t lo = prefix->id[0] ? be32(p->idx + 8 + 4 * (prefix->id[0] - 1)) : 0;
		uint32_t hi = be32(p->idx + 8 + 4 * prefix->id[0]);

		for (uint32_t k = lo; k < hi && !error; k++) {
			const unsigned char *name = p->idx + 8 + 1024 + 20 * (size_t)k;
			git_oid id;
			const char *why;
			uint64_t off;

			git_oid_fromraw(&id, name);
			if (git_oid_ncmp(&id, prefix, hexlen))
				continue;
			off = idx_offset(p->idx, p->idxlen, n, k);
			if (off != UINT64_MAX && pack_check_at(g, p, off, &why) < 0) {
				git_oid_tostr(hex, sizeof(hex), &id);
				git_error_set(GIT_ERROR_ODB, "packed object %s in '%.*s.pack': %s", hex,
				    (int)strlen(p->name) - 4, p->name, why);
				error = -1;
			}
		}
	}
	pthread_mutex_unlock(&g->mu);
	return error < 0 ? error : GIT_PASSTHROUGH;
}

static int guard_refresh(git_odb_backend *b)
{
	guard *g = (guard *)b;

	pthread_mutex_lock(&g->mu);
	scan_packs(g);
	pthread_mutex_unlock(&g->mu);
	return 0;
}

static void guard_free(git_odb_backend *b)
{
	guard *g = (guard *)b;

	if (!g)
		return;
	for (size_t i = 0; i < g->npacks; i++)
		pack_close(&g->packs[i]);
	free(g->packs);
	for (size_t i = 0; i < g->ndirs; i++)
		free(g->dirs[i]);
	free(g->dirs);
	free(g->mtimes);
	pthread_mutex_destroy(&g->mu);
	free(g);
}

static int add_dir(guard *g, const char *dir, unsigned depth);

/* The directories an objects directory's info/alternates names. */
static int add_alternates(guard *g, const char *dir, unsigned depth)
{
	char path[PATH_MAX], line[PATH_MAX];
	FILE *f;
	int error = 0;

	snprintf(path, sizeof(path), "%s/info/alternates", dir);
	if (!(f = fopen(path, "re")))
		return 0;
	while (!error && fgets(line, sizeof(line), f)) {
		size_t n = strcspn(line, "\r\n");

		line[n] = '\0';
		if (!n || line[0] == '#')
			continue;
		if (line[0] == '/') {
			error = add_dir(g, line, depth + 1);
		} else {
			/* relative to the objects directory */
			if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, line) < sizeof(path))
				error = add_dir(g, path, depth + 1);
		}
	}
	fclose(f);
	return error;
}

static int add_dir(guard *g, const char *dir, unsigned depth)
{
	char **nd;
	struct timespec *nm;
	char *real;

	if (depth > ALTERNATES_DEPTH || !(real = realpath(dir, NULL)))
		return 0;
	for (size_t i = 0; i < g->ndirs; i++)
		if (!strcmp(g->dirs[i], real)) {
			free(real);
			return 0;
		}
	if (!(nd = realloc(g->dirs, (g->ndirs + 1) * sizeof(*nd)))) {
		free(real);
		return mvc__err(MVC_ENOMEM, "out of memory");
	}
	g->dirs = nd;
	if (!(nm = realloc(g->mtimes, (g->ndirs + 1) * sizeof(*nm)))) {
		free(real);
		return mvc__err(MVC_ENOMEM, "out of memory");
	}
	g->mtimes = nm;
	memset(&g->mtimes[g->ndirs], 0, sizeof(*nm));
	g->dirs[g->ndirs++] = real;
	return add_alternates(g, real, depth);
}

int mvc__odb_guard(git_repository *git, const char *objdir, const char *alternates)
{
	git_odb *odb = NULL;
	guard *g;
	int error;

	if (!(g = mvc__calloc(1, sizeof(*g))))
		return MVC_ENOMEM;
	pthread_mutex_init(&g->mu, NULL);
	git_odb_init_backend(&g->parent, GIT_ODB_BACKEND_VERSION);
	g->parent.read = guard_read;
	g->parent.read_header = guard_read_header;
	g->parent.read_prefix = guard_read_prefix;
	g->parent.refresh = guard_refresh;
	g->parent.free = guard_free;
	if ((error = add_dir(g, objdir, 0)) < 0)
		goto fail;
	while (alternates && *alternates) {
		size_t n = strcspn(alternates, ":");
		char dir[PATH_MAX];

		if (n && n < sizeof(dir)) {
			memcpy(dir, alternates, n);
			dir[n] = '\0';
			if ((error = add_dir(g, dir, 0)) < 0)
				goto fail;
		}
		alternates += n + (alternates[n] == ':');
	}
	/* the packs are mapped when first needed (a command that reads only
	 * loose objects, or none, never maps them) */
	if (git_repository_odb(&odb, git) < 0) {
		error = mvc__err_git(MVC_ERROR, "cannot open the object database");
		goto fail;
	}
	/* ahead of libgit2's loose (1) and packed (2) backends */
	if (git_odb_add_backend(odb, &g->parent, 1000) < 0) {
		error = mvc__err_git(MVC_ERROR, "cannot guard the object database");
		git_odb_free(odb);
		goto fail;
	}
	git_odb_free(odb);
	return 0;
fail:
	guard_free(&g->parent);
	return error;
}
