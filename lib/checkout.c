/* mvc checkout: rebuild files from their chunks, verified, atomically. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "scan.h"
#include "pool.h"
#include "export.h"
#include "upkeep.h"

typedef struct writer {
	const mvc_checkout_options *opts;
	uint64_t *done, total;    /* progress over every file written */
	int fd;
	uint64_t written, flushed;
	const char *what;     /* the file, for messages */
	mvc_buf buf;          /* output batching */
} writer;

static int out_write(writer *w, const void *data, size_t len)
{
	int error = mvc_write_all(w->fd, data, len, w->what);

	w->written += len;
	mvc__writeback(w->fd, &w->flushed, w->written);
	if (w->opts && w->opts->progress && w->done) {
		*w->done += len;
		w->opts->progress(*w->done, w->total, w->opts->progress_payload);
	}
	return error;
}

static int out_put(writer *w, const void *data, size_t len)
{
	int error;

	/* batch small writes (tiny tensors, header bytes); pass chunks through */
	if ((len >= (64u << 10) || w->buf.len + len > (4u << 20)) && w->buf.len) {
		if ((error = out_write(w, w->buf.ptr, w->buf.len)) < 0)
			return error;
		w->buf.len = 0;
	}
	if (len >= (64u << 10))
		return out_write(w, data, len);
	return mvc_buf_put(&w->buf, data, len);
}

static int out_flush(writer *w)
{
	int error = 0;

	if (w->buf.len)
		error = out_write(w, w->buf.ptr, w->buf.len);
	w->buf.len = 0;
	return error;
}

static int read_blob(git_blob **out, git_repository *git, const git_tree *t, const char *name)
{
	const git_tree_entry *e = t ? git_tree_entry_byname(t, name) : NULL;

	if (!e || git_tree_entry_type(e) != GIT_OBJECT_BLOB)
		return MVC_ENOTFOUND;
	return git_blob_lookup(out, git, git_tree_entry_id(e)) < 0 ? MVC_ECORRUPT : 0;
}

typedef struct read_ctx {
	writer *w;
	git_odb *odb;
	const mvc_manifest *m;
	const char *path;
	mvc_chunk_ref *refs;
	git_oid *oids;
	const unsigned char *hdr;
	uint64_t pos, hpos;      /* file position written, header bytes used */
	mvc_codec **codecs;      /* per thread */
	unsigned char **bufs;    /* per window slot */
	size_t window;
} read_ctx;

static int chunk_error(const read_ctx *r, const mvc_chunk_ref *ref, int error)
{
	char why[512], q[MVC_QUOTE_MAX];

	snprintf(why, sizeof(why), "%s", mvc_error_last());
	return mvc__err(error, "'%s': tensor '%s': chunk %llu: %s", r->path,
	    mvc_quote(q, sizeof(q), r->m->tensors[ref->tensor].t.name),
	    (unsigned long long)ref->chunk, why);
}

static int read_work(void *p, size_t item, unsigned thread)
{
	read_ctx *r = p;
	const mvc_chunk_ref *ref = &r->refs[item];
	unsigned char *buf = r->bufs[item % r->window], d[MVC_DIGEST_SIZE];
	int error;

	if ((error = mvc__chunk_load(r->odb, r->codecs[thread], &r->oids[item], buf, ref->len,
	         NULL, NULL, NULL)) < 0)
		return chunk_error(r, ref, error);
	mvc_blake2b(d, buf, ref->len);
	if (memcmp(d, r->m->tensors[ref->tensor].chunk_digests + ref->chunk * MVC_DIGEST_SIZE,
	        MVC_DIGEST_SIZE)) {
		char hex[GIT_OID_HEXSZ + 1];

		/* which object: it (or a delta base it names) is damaged */
		git_oid_tostr(hex, sizeof(hex), &r->oids[item]);
		mvc__err(MVC_ECORRUPT, "fails its BLAKE2b digest (corrupt object %s)", hex);
		return chunk_error(r, ref, MVC_ECORRUPT);
	}
	return 0;
}

static int read_done(void *p, size_t item)
{
	read_ctx *r = p;
	const mvc_chunk_ref *ref = &r->refs[item];
	uint64_t gap = ref->offset - r->pos;
	int error;

	/* non-tensor bytes before this chunk come from the header blob */
	if (gap && (error = out_put(r->w, r->hdr + r->hpos, (size_t)gap)) < 0)
		return error;
	r->hpos += gap;
	r->pos = ref->offset + ref->len;
	return out_put(r->w, r->bufs[item % r->window], ref->len);
}

/* Stream the stored file into `w`, checking every digest, on all cores. */
static int write_file(writer *w, git_repository *git, const git_tree *ftree,
                      const mvc_manifest *m, const char *path)
{
	git_blob *hblob = NULL;
	git_tree *t = NULL, *tt = NULL;
	const git_tree_entry *e;
	unsigned char digest[MVC_DIGEST_SIZE];
	unsigned nthreads = mvc__pool_threads();
	uint64_t maxchunk = 1;
	size_t nrefs = 0, k = 0;
	read_ctx r;
	char q[MVC_QUOTE_MAX];
	int error;

	memset(&r, 0, sizeof(r));
	if (read_blob(&hblob, git, ftree, "header") < 0 ||
	    (uint64_t)git_blob_rawsize(hblob) != m->header_size) {
		error = mvc__err(MVC_ECORRUPT, "'%s': the stored header is missing or damaged", path);
		goto done;
	}
	r.hdr = git_blob_rawcontent(hblob);
	mvc_blake2b(digest, r.hdr, (size_t)m->header_size);
	if (memcmp(digest, m->header_digest, MVC_DIGEST_SIZE) != 0) {
		error = mvc__err(MVC_ECORRUPT, "'%s': the stored header fails its digest", path);
		goto done;
	}
	if ((e = git_tree_entry_byname(ftree, "t")) && git_tree_lookup(&t, git, git_tree_entry_id(e)) < 0) {
		error = mvc__err_git(MVC_ECORRUPT, "'%s': cannot read the tensor table", path);
		goto done;
	}
	if ((error = mvc__chunk_list(&r.refs, &nrefs, m)) < 0)
		goto done;
	if (!(r.oids = mvc__calloc(nrefs + 1, sizeof(*r.oids)))) {
		error = MVC_ENOMEM;
		goto done;
	}
	/* the blob of every chunk, from the tensor trees */
	for (size_t i = 0; i < m->ntensors; i++) {
		const mvc_manifest_tensor *mt = &m->tensors[i];
		char name[24];

		if (!mt->nchunks)
			continue;
		if (mt->chunk_size > maxchunk)
			maxchunk = mt->chunk_size;
		mvc__index_name(name, i);
		mvc_quote(q, sizeof(q), mt->t.name);
		if (!t || !(e = git_tree_entry_byname(t, name)) ||
		    git_tree_lookup(&tt, git, git_tree_entry_id(e)) < 0) {
			error = mvc__err(MVC_ECORRUPT, "'%s': tensor '%s': its chunk table is missing",
			    path, q);
			goto done;
		}
		for (uint64_t c = 0; c < mt->nchunks; c++, k++) {
			mvc__index_name(name, c);
			if (!(e = git_tree_entry_byname(tt, name)) ||
			    git_tree_entry_type(e) != GIT_OBJECT_BLOB) {
				error = mvc__err(MVC_ECORRUPT, "'%s': tensor '%s': chunk %llu is missing",
				    path, q, (unsigned long long)c);
				goto done;
			}
			r.oids[k] = *git_tree_entry_id(e);
		}
		git_tree_free(tt);
		tt = NULL;
	}
	if (git_repository_odb(&r.odb, git) < 0) {
		error = mvc__err_git(MVC_ERROR, "cannot open the object database");
		goto done;
	}
	if (nthreads > nrefs)
		nthreads = nrefs ? (unsigned)nrefs : 1;
	r.window = 2 * (size_t)nthreads + 2;
	if (!(r.codecs = mvc__calloc(nthreads, sizeof(*r.codecs))) ||
	    !(r.bufs = mvc__calloc(r.window, sizeof(*r.bufs)))) {
		error = MVC_ENOMEM;
		goto done;
	}
	for (unsigned i = 0; i < nthreads; i++)
		if ((error = mvc_codec_new(&r.codecs[i])) < 0)
			goto done;
	for (size_t i = 0; i < r.window; i++)
		if (!(r.bufs[i] = mvc__malloc((size_t)maxchunk))) {
			error = MVC_ENOMEM;
			goto done;
		}
	r.w = w;
	r.m = m;
	r.path = path;
	if ((error = mvc__pool_run(nrefs, nthreads, r.window, read_work, read_done, &r)) < 0)
		goto done;
	error = out_put(w, r.hdr + r.hpos, (size_t)(m->header_size - r.hpos));
done:
	for (unsigned i = 0; r.codecs && i < nthreads; i++)
		mvc_codec_free(r.codecs[i]);
	free(r.codecs);
	for (size_t i = 0; r.bufs && i < r.window; i++)
		free(r.bufs[i]);
	free(r.bufs);
	free(r.refs);
	free(r.oids);
	git_odb_free(r.odb);
	git_tree_free(tt);
	git_tree_free(t);
	git_blob_free(hblob);
	return error;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	fsync(fd);
	close(fd);
	return 0;
}

/*
 * A checkout killed while it wrote leaves its temporary file behind
 * (.NAME.mvc-XXXXXX beside NAME), as large as the model.  Every writer
 * holds an flock on its own temporary file until it is renamed; one that
 * nobody holds and that has not changed for two seconds belongs to a
 * writer that died, and the next checkout of NAME removes it.
 */
static void sweep_dead_temps(const char *dir, const char *base)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t blen = strlen(base);
	time_t now = time(NULL);

	if (!d)
		return;
	while ((de = readdir(d))) {
		const char *n = de->d_name;
		struct stat st;
		int fd;

		if (n[0] != '.' || strncmp(n + 1, base, blen) || strncmp(n + 1 + blen, ".mvc-", 5) ||
		    strlen(n + 1 + blen + 5) != 6)
			continue;
		if ((fd = openat(dirfd(d), n, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
			continue;
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && now - st.st_mtime >= 2 &&
		    flock(fd, LOCK_EX | LOCK_NB) == 0)
			unlinkat(dirfd(d), n, 0);
		close(fd);
	}
	closedir(d);
}

/* Write a stored file to `dest` through a temporary file and a rename. */
static int materialise(git_repository *git, const git_tree *ftree, const mvc_manifest *m,
                       const char *path, const char *dest, const mvc_checkout_options *opts,
                       uint64_t *done, uint64_t total)
{
	char *d1 = mvc__strdup(dest), *d2 = mvc__strdup(dest), *dn, *bn;
	mvc_buf tmp = MVC_BUF_INIT;
	writer w;
	struct stat st;
	mode_t mask;
	int error;

	memset(&w, 0, sizeof(w));
	w.fd = -1;
	w.what = dest;
	w.opts = opts;
	w.done = done;
	w.total = total;
	if (!d1 || !d2) {
		error = MVC_ENOMEM;
		goto done;
	}
	dn = dirname(d1);
	bn = basename(d2);
	if ((error = mvc_buf_printf(&tmp, "%s/.%s.mvc-XXXXXX", dn, bn)) < 0)
		goto done;
	sweep_dead_temps(dn, bn);
	if ((w.fd = mkostemp(tmp.ptr, O_CLOEXEC)) < 0) {
		error = mvc__err_sys("cannot create a temporary file for '%s'", dest);
		goto done;
	}
	flock(w.fd, LOCK_EX); /* ours while it is written: see sweep_dead_temps */
	if ((error = write_file(&w, git, ftree, m, path)) < 0 || (error = out_flush(&w)) < 0)
		goto fail;
	if (stat(dest, &st) == 0) {
		fchmod(w.fd, st.st_mode & 07777);
	} else {
		mask = umask(0);
		umask(mask);
		fchmod(w.fd, 0666 & ~mask);
	}
	if (fsync(w.fd) < 0) {
		error = mvc__err_sys("cannot write '%s'", dest);
		goto fail;
	}
	if (close(w.fd) < 0) {
		w.fd = -1;
		error = mvc__err_sys("cannot write '%s'", dest);
		goto fail;
	}
	w.fd = -1;
	if (rename(tmp.ptr, dest) < 0) {
		error = mvc__err_sys("cannot rename into '%s'", dest);
		goto fail;
	}
	free(d1);
	d1 = mvc__strdup(dest);
	if (d1)
		fsync_dir(dirname(d1));
	goto done;
fail:
	if (w.fd >= 0)
		close(w.fd);
	w.fd = -1;
	unlink(tmp.ptr);
done:
	if (w.fd >= 0)
		close(w.fd);
	mvc_buf_free(&w.buf);
	mvc_buf_free(&tmp);
	free(d1);
	free(d2);
	return error;
}

typedef struct target {
	const char *path;
	git_tree *ftree;
	mvc_manifest *m;
	char *fspath;
	int skip;       /* already identical */
} target;

static int open_version(git_commit **c, git_tree **root, git_repository *git, const char *rev)
{
	int error;

	if ((error = mvc__resolve(c, git, rev)) < 0)
		return error;
	if (git_commit_tree(root, *c) < 0)
		return mvc__err_git(MVC_ECORRUPT, "cannot read version '%s'", rev);
	return 0;
}

int mvc_checkout_to(mvc_repo *repo, const char *rev, const char *path, const char *out_path,
                    const mvc_checkout_options *opts)
{
	git_repository *git = mvc__repo_git(repo);
	git_commit *c = NULL;
	git_tree *root = NULL, *ft = NULL;
	mvc_manifest *m = NULL;
	char **files = NULL;
	size_t nfiles = 0;
	int error;

	if (!opts || opts->version != MVC_CHECKOUT_OPTIONS_VERSION)
		return mvc__err(MVC_EINVALID, "bad checkout options version");
	if ((error = open_version(&c, &root, git, rev)) < 0)
		goto done;
	if (!path) {
		if ((error = mvc__tree_files(&files, &nfiles, git, root)) < 0)
			goto done;
		if (nfiles != 1) {
			error = mvc__err(MVC_EINVALID,
			    "version '%s' has %zu files; name the one to write", rev, nfiles);
			goto done;
		}
		path = files[0];
	}
	if ((error = mvc__file_tree(&ft, git, root, path)) < 0 ||
	    (error = mvc__tree_manifest(&m, git, ft, path)) < 0)
		goto done;
	if (opts->ntensors || opts->dtype != MVC_DTYPE_UNKNOWN) {
		error = mvc__export(git, ft, m, path, out_path, opts);
		goto done;
	}
	{
		uint64_t done = 0;

		error = materialise(git, ft, m, path, out_path, opts, &done, m->file_size);
		error = mvc__prune_explain(error, git, mvc_repo_path(repo), git_commit_id(c));
	}
done:
	mvc_manifest_free(m);
	mvc_strings_free(files, nfiles);
	git_tree_free(ft);
	git_tree_free(root);
	git_commit_free(c);
	return error;
}

/*
 * May the working file at t->fspath be replaced?  Yes if it is absent, or
 * holds what some stored version holds: the current version's, the target's,
 * or the one mvc last wrote there.
 */
static int check_clean(target *t, mvc_state *st, git_repository *git, const git_tree *head_root,
                       uint64_t chunk_size)
{
	mvc_state_entry *e = mvc__state_get(st, t->path);
	mvc_manifest *hm = NULL, *cur = NULL;
	git_tree *hft = NULL;
	struct stat s;
	int error = 0;

	if (lstat(t->fspath, &s) < 0)
		return errno == ENOENT ? 0 : mvc__err_sys("cannot stat '%s'", t->path);
	if (!S_ISREG(s.st_mode))
		return mvc__err(MVC_EDIRTY, "'%s' exists and is not a regular file", t->path);
	if (mvc__state_fresh(e, t->fspath)) {
		t->skip = !memcmp(e->digest, t->m->digest, MVC_DIGEST_SIZE);
		return 0;
	}
	if (head_root && mvc__file_tree(&hft, git, head_root, t->path) == 0)
		mvc__tree_manifest(&hm, git, hft, t->path);
	mvc_error_clear();
	if (mvc__scan_file(&cur, t->fspath, t->path, hm ? hm : t->m, chunk_size) < 0 &&
	    /* chunked differently from the target: try the target's plan */
	    (!hm || mvc__scan_file(&cur, t->fspath, t->path, t->m, chunk_size) < 0)) {
		error = mvc__err(MVC_EDIRTY,
		    "'%s' has uncommitted changes (it no longer parses as a model); "
		    "commit them or use --force", t->path);
		goto done;
	}
	if (!memcmp(cur->digest, t->m->digest, MVC_DIGEST_SIZE)) {
		t->skip = 1;
	} else if (!(hm && !memcmp(cur->digest, hm->digest, MVC_DIGEST_SIZE)) &&
	           !(e && !memcmp(cur->digest, e->digest, MVC_DIGEST_SIZE))) {
		/* a different chunk plan would also give a different digest */
		mvc_manifest *alt = NULL;

		if (hm && mvc__scan_file(&alt, t->fspath, t->path, t->m, chunk_size) == 0 &&
		    !memcmp(alt->digest, t->m->digest, MVC_DIGEST_SIZE))
			t->skip = 1;
		else
			error = mvc__err(MVC_EDIRTY,
			    "'%s' has uncommitted changes; commit them or use --force",
			    t->path);
		mvc_manifest_free(alt);
	}
done:
	mvc_manifest_free(cur);
	mvc_manifest_free(hm);
	git_tree_free(hft);
	return error;
}

int mvc_checkout_paths(mvc_repo *repo, const char *rev, const char *const *paths,
                       size_t npaths, const mvc_checkout_options *opts)
{
	git_repository *git = mvc__repo_git(repo);
	git_commit *c = NULL, *head = NULL;
	git_tree *root = NULL, *head_root = NULL;
	char **files = NULL;
	size_t nfiles = 0, n = 0;
	target *ts = NULL;
	mvc_state st;
	mvc_oid vid;
	uint64_t chunk_size, done = 0, total = 0;
	int error;

	memset(&st, 0, sizeof(st));
	if (!opts || opts->version != MVC_CHECKOUT_OPTIONS_VERSION)
		return mvc__err(MVC_EINVALID, "bad checkout options version");
	if ((error = open_version(&c, &root, git, rev)) < 0 ||
	    (error = mvc_repo_chunk_size(&chunk_size, repo)) < 0)
		goto done;
	mvc__oid_from_git(&vid, git_commit_id(c));
	if (mvc__resolve(&head, git, "HEAD") == 0)
		git_commit_tree(&head_root, head);
	mvc_error_clear();
	if (npaths == 0) {
		if ((error = mvc__tree_files(&files, &nfiles, git, root)) < 0)
			goto done;
		paths = (const char *const *)files;
		npaths = nfiles;
	}
	if (!(ts = mvc__calloc(npaths, sizeof(*ts)))) {
		error = MVC_ENOMEM;
		goto done;
	}
	if ((error = mvc__state_load(&st, repo)) < 0)
		goto done;
	/* first every check, then every write: refuse before touching anything */
	for (n = 0; n < npaths; n++) {
		target *t = &ts[n];
		mvc_buf fs = MVC_BUF_INIT;

		t->path = paths[n];
		if ((error = mvc__file_tree(&t->ftree, git, root, t->path)) < 0) {
			n++;
			error = mvc__err(error, "'%s' is not tracked in version '%s'", t->path, rev);
			goto done;
		}
		if ((error = mvc__tree_manifest(&t->m, git, t->ftree, t->path)) < 0 ||
		    (error = mvc_buf_printf(&fs, "%s/%s", mvc_repo_workdir(repo), t->path)) < 0) {
			n++;
			goto done;
		}
		t->fspath = mvc_buf_detach(&fs);
		if (!opts->force &&
		    (error = check_clean(t, &st, git, head_root, chunk_size)) < 0) {
			n++;
			goto done;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (!ts[i].skip)
			total += ts[i].m->file_size;
	for (size_t i = 0; i < n; i++) {
		target *t = &ts[i];
		int64_t started = mvc__now_ns();
		char *dir;

		if (!t->skip) {
			/* parent directories of a nested path may not exist yet */
			for (dir = strchr(t->fspath + strlen(mvc_repo_workdir(repo)) + 1, '/'); dir;
			     dir = strchr(dir + 1, '/')) {
				*dir = '\0';
				if (mkdir(t->fspath, 0777) < 0 && errno != EEXIST)
					error = mvc__err_sys("cannot create '%s'", t->fspath);
				*dir = '/';
				if (error < 0)
					goto done;
			}
			if ((error = materialise(git, t->ftree, t->m, t->path, t->fspath, opts, &done,
			         total)) < 0) {
				error = mvc__prune_explain(error, git, mvc_repo_path(repo), git_commit_id(c));
				goto done;
			}
		}
		mvc__state_set(&st, t->path, t->fspath, t->m->digest, &vid, started);
	}
done:
	if (st.dirty)
		mvc__state_save(&st, repo);
	mvc__state_free(&st);
	for (size_t i = 0; ts && i < n; i++) {
		git_tree_free(ts[i].ftree);
		mvc_manifest_free(ts[i].m);
		free(ts[i].fspath);
	}
	free(ts);
	mvc_strings_free(files, nfiles);
	git_tree_free(head_root);
	git_tree_free(root);
	git_commit_free(head);
	git_commit_free(c);
	return error;
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p) < 0 && errno != ENOENT ? -1 : 0;
}

/* mkdir -p of the directories of `rel` below `base`. */
static int make_parents(const char *base, const char *rel)
{
	mvc_buf p = MVC_BUF_INIT;
	int error = 0;

	for (const char *s = strchr(rel, '/'); s && !error; s = strchr(s + 1, '/')) {
		p.len = 0;
		if ((error = mvc_buf_printf(&p, "%s/%.*s", base, (int)(s - rel), rel)) < 0)
			break;
		if (mkdir(p.ptr, 0777) < 0 && errno != EEXIST)
			error = mvc__err_sys("cannot create '%s'", p.ptr);
	}
	mvc_buf_free(&p);
	return error;
}

int mvc_checkout_dir(mvc_repo *repo, const char *rev, const char *const *paths, size_t npaths,
                     const char *dir, const mvc_checkout_options *opts)
{
	git_repository *git = mvc__repo_git(repo);
	git_commit *c = NULL;
	git_tree *root = NULL;
	git_tree **fts = NULL;
	mvc_manifest **ms = NULL;
	char **files = NULL, *d1 = NULL, *d2 = NULL, *d3 = NULL, *base, *parent;
	char hex[MVC_OID_HEXSZ + 1];
	size_t nfiles = 0, n = 0, dlen;
	mvc_buf tmp = MVC_BUF_INIT, dest = MVC_BUF_INIT, lnk = MVC_BUF_INIT;
	struct stat st;
	int exists = 0, is_link = 0, made = 0, error;
	uint64_t done = 0, total = 0;
	mvc_oid vid;
	mode_t mask;

	if (!opts || opts->version != MVC_CHECKOUT_OPTIONS_VERSION)
		return mvc__err(MVC_EINVALID, "bad checkout options version");
	if ((error = open_version(&c, &root, git, rev)) < 0)
		goto done;
	mvc__oid_from_git(&vid, git_commit_id(c));
	mvc_oid_fmt(hex, &vid);
	if (npaths == 0) {
		if ((error = mvc__tree_files(&files, &nfiles, git, root)) < 0)
			goto done;
		paths = (const char *const *)files;
		npaths = nfiles;
	}
	/* every manifest first: refuse before writing anything */
	if (!(fts = mvc__calloc(npaths + 1, sizeof(*fts))) ||
	    !(ms = mvc__calloc(npaths + 1, sizeof(*ms)))) {
		error = MVC_ENOMEM;
		goto done;
	}
	for (n = 0; n < npaths; n++) {
		if ((error = mvc__file_tree(&fts[n], git, root, paths[n])) < 0) {
			error = mvc__err(error, "'%s' is not tracked in version '%s'", paths[n], rev);
			n++;
			goto done;
		}
		if ((error = mvc__tree_manifest(&ms[n], git, fts[n], paths[n])) < 0) {
			n++;
			goto done;
		}
		total += ms[n]->file_size;
	}
	/* the new directory beside the old one, so that a rename can swap them */
	if (!(d1 = mvc__strdup(dir)) || !(d2 = mvc__strdup(dir)) || !(d3 = mvc__strdup(dir))) {
		error = MVC_ENOMEM;
		goto done;
	}
	for (dlen = strlen(d1); dlen > 1 && d1[dlen - 1] == '/'; dlen--)
		d1[dlen - 1] = d2[dlen - 1] = d3[dlen - 1] = '\0';
	dir = d3;  /* without trailing slashes: a symlink is renamed, not followed */
	if (lstat(d1, &st) == 0) {
		exists = 1;
		is_link = S_ISLNK(st.st_mode);
		if (!is_link && !S_ISDIR(st.st_mode)) {
			error = mvc__err(MVC_EINVALID, "'%s' exists and is not a directory or a symlink",
			    dir);
			goto done;
		}
	} else if (errno != ENOENT) {
		error = mvc__err_sys("cannot stat '%s'", dir);
		goto done;
	}
	base = basename(d2);
	parent = dirname(d1);
	if ((error = mvc_buf_printf(&tmp, is_link ? "%s/%s.%.12s-XXXXXX" : "%s/.%s.mvc-XXXXXX",
	         parent, base, hex)) < 0)
		goto done;
	if (!mkdtemp(tmp.ptr)) {
		error = mvc__err_sys("cannot create a directory beside '%s'", dir);
		goto done;
	}
	made = 1;
	mask = umask(0);
	umask(mask);
	chmod(tmp.ptr, 0777 & ~mask);
	for (size_t i = 0; i < npaths; i++) {
		dest.len = 0;
		if ((error = make_parents(tmp.ptr, paths[i])) < 0 ||
		    (error = mvc_buf_printf(&dest, "%s/%s", tmp.ptr, paths[i])) < 0 ||
		    (error = materialise(git, fts[i], ms[i], paths[i], dest.ptr, opts, &done, total)) < 0)
			goto done;
	}
	fsync_dir(tmp.ptr);
	/* one step: a server sees every file of one version or of the other */
	if (!exists) {
		if (rename(tmp.ptr, dir) < 0) {
			error = mvc__err_sys("cannot rename into '%s'", dir);
			goto done;
		}
		made = 0;
	} else if (is_link) {
		const char *newdir = strrchr(tmp.ptr, '/') + 1;

		if ((error = mvc_buf_printf(&lnk, "%s.link", tmp.ptr)) < 0)
			goto done;
		if (symlink(newdir, lnk.ptr) < 0 || rename(lnk.ptr, dir) < 0) {
			error = mvc__err_sys("cannot point '%s' at the new directory", dir);
			unlink(lnk.ptr);
			goto done;
		}
		made = 0;  /* the old target stays: a server may still read it */
	} else {
		if (renameat2(AT_FDCWD, tmp.ptr, AT_FDCWD, dir, RENAME_EXCHANGE) < 0) {
			error = mvc__err_sys("cannot swap '%s' with the new directory (point a symlink "
			    "at it instead)", dir);
			goto done;
		}
		/* the old files are now at tmp: removed below */
	}
	fsync_dir(parent);
	error = 0;
done:
	if (made && tmp.len)
		nftw(tmp.ptr, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	for (size_t i = 0; i < n; i++) {
		git_tree_free(fts[i]);
		mvc_manifest_free(ms[i]);
	}
	free(fts);
	free(ms);
	free(d1);
	free(d2);
	free(d3);
	mvc_buf_free(&tmp);
	mvc_buf_free(&dest);
	mvc_buf_free(&lnk);
	mvc_strings_free(files, nfiles);
	git_tree_free(root);
	git_commit_free(c);
	return error;
}
