/*
 * mvc commit: store each file as a tree of MANIFEST, header and one
 * subtree of chunk blobs per tensor.  A chunk whose digest equals the
 * parent's chunk at the same place (same tensor name, same index) reuses
 * the parent's blob without being encoded again; so an unchanged tensor
 * ends up with the parent's very subtree, and an unchanged file with the
 * parent's file tree.
 */
#include <ctype.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "scan.h"

/* Digest -> blob id, for chunks already stored by this commit. */
typedef struct seen_map {
	size_t cap, count;
	struct seen { unsigned char digest[MVC_DIGEST_SIZE]; git_oid oid; int used; } *slots;
} seen_map;

static uint64_t dhash(const unsigned char *d)
{
	uint64_t h;

	memcpy(&h, d, sizeof(h));
	return h;
}

static int seen_put(seen_map *m, const unsigned char *d, const git_oid *oid);

static int seen_grow(seen_map *m)
{
	seen_map n = { m->cap ? m->cap * 2 : 1024, 0, NULL };

	if (!(n.slots = calloc(n.cap, sizeof(*n.slots))))
		return mvc__err(MVC_ENOMEM, "out of memory");
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].used)
			seen_put(&n, m->slots[i].digest, &m->slots[i].oid);
	free(m->slots);
	*m = n;
	return 0;
}

static int seen_put(seen_map *m, const unsigned char *d, const git_oid *oid)
{
	size_t i;
	int error;

	if ((m->count + 1) * 2 > m->cap && (error = seen_grow(m)) < 0)
		return error;
	for (i = dhash(d) & (m->cap - 1); m->slots[i].used; i = (i + 1) & (m->cap - 1))
		if (!memcmp(m->slots[i].digest, d, MVC_DIGEST_SIZE))
			return 0;
	memcpy(m->slots[i].digest, d, MVC_DIGEST_SIZE);
	m->slots[i].oid = *oid;
	m->slots[i].used = 1;
	m->count++;
	return 0;
}

static const git_oid *seen_get(const seen_map *m, const unsigned char *d)
{
	if (!m->cap)
		return NULL;
	for (size_t i = dhash(d) & (m->cap - 1); m->slots[i].used; i = (i + 1) & (m->cap - 1))
		if (!memcmp(m->slots[i].digest, d, MVC_DIGEST_SIZE))
			return &m->slots[i].oid;
	return NULL;
}

typedef struct commit_ctx {
	git_repository *git;
	mvc_objw *w;
	mvc_codec *codec;
	seen_map seen;
	mvc_commit_stats *stats;
	/* the file being stored */
	const char *path;
	const mvc_manifest *parent;   /* its manifest in the parent, or NULL */
	git_tree *parent_ftree;
	git_tree *parent_t;           /* parent's "t" subtree */
	git_treebuilder *tensors;     /* the new "t" tree */
	git_treebuilder *chunks;      /* the tensor being stored */
	git_tree *parent_tensor;      /* parent's subtree of the same tensor */
	const mvc_manifest_tensor *parent_mt;
} commit_ctx;

static int finish_tensor(commit_ctx *c, size_t ti)
{
	git_oid tree;
	char name[24];

	if (!c->chunks)
		return 0;
	if (git_treebuilder_write(&tree, c->chunks) < 0)
		return mvc__err_git(MVC_EIO, "cannot write a tensor tree");
	mvc__index_name(name, ti);
	if (git_treebuilder_insert(NULL, c->tensors, name, &tree, GIT_FILEMODE_TREE) < 0)
		return mvc__err_git(MVC_ERROR, "cannot build the tensor table");
	git_treebuilder_free(c->chunks);
	c->chunks = NULL;
	git_tree_free(c->parent_tensor);
	c->parent_tensor = NULL;
	return 0;
}

static int start_tensor(commit_ctx *c, mvc_manifest *m, size_t ti)
{
	long pi;

	if (git_treebuilder_new(&c->chunks, c->git, NULL) < 0)
		return mvc__err_git(MVC_ERROR, "cannot build a tensor tree");
	c->parent_mt = NULL;
	pi = c->parent ? mvc_manifest_find(c->parent, m->tensors[ti].t.name) : -1;
	if (pi >= 0 && c->parent_t &&
	    c->parent->tensors[pi].chunk_size == m->tensors[ti].chunk_size) {
		const git_tree_entry *e;
		char name[24];

		mvc__index_name(name, (uint64_t)pi);
		e = git_tree_entry_byname(c->parent_t, name);
		/* a parent we cannot read is no reason to fail: store afresh */
		if (e && git_tree_lookup(&c->parent_tensor, c->git, git_tree_entry_id(e)) == 0)
			c->parent_mt = &c->parent->tensors[pi];
	}
	return 0;
}

static int on_chunk(void *payload, mvc_manifest *m, size_t ti, uint64_t ci,
                    const unsigned char *data, size_t len)
{
	commit_ctx *c = payload;
	const unsigned char *d = m->tensors[ti].chunk_digests + ci * MVC_DIGEST_SIZE;
	const git_oid *known = NULL;
	git_oid oid;
	char name[24];
	int error;

	if (ci == 0 && (error = start_tensor(c, m, ti)) < 0)
		return error;
	mvc__index_name(name, ci);
	c->stats->chunks++;
	if (c->parent_mt && ci < c->parent_mt->nchunks &&
	    !memcmp(c->parent_mt->chunk_digests + ci * MVC_DIGEST_SIZE, d, MVC_DIGEST_SIZE) &&
	    (ci + 1 < c->parent_mt->nchunks) == (ci + 1 < m->tensors[ti].nchunks)) {
		const git_tree_entry *e = git_tree_entry_byname(c->parent_tensor, name);

		if (e)
			known = git_tree_entry_id(e);
	}
	if (!known)
		known = seen_get(&c->seen, d);
	if (known) {
		oid = *known;
	} else {
		const unsigned char *enc;
		size_t enclen;

		if ((error = mvc_codec_encode(c->codec, &enc, &enclen, data, len,
		         mvc_dtype_plane_width(m->tensors[ti].t.dtype))) < 0 ||
		    (error = mvc__objw_blob(c->w, &oid, enc, enclen)) < 0)
			return error;
		c->stats->chunks_written++;
		c->stats->bytes_stored += enclen;
	}
	if ((error = seen_put(&c->seen, d, &oid)) < 0)
		return error;
	if (git_treebuilder_insert(NULL, c->chunks, name, &oid, GIT_FILEMODE_BLOB) < 0)
		return mvc__err_git(MVC_ERROR, "cannot add a chunk");
	if (ci + 1 == m->tensors[ti].nchunks)
		return finish_tensor(c, ti);
	return 0;
}

/* Store one file; *out is its tree, *manifest its manifest. */
static int store_file(git_oid *out, mvc_manifest **manifest, commit_ctx *c,
                      const char *fspath, uint64_t chunk_size)
{
	mvc_layout *l = NULL;
	mvc_manifest *m = NULL;
	mvc_buf header = MVC_BUF_INIT;
	git_treebuilder *ft = NULL;
	git_oid oid;
	char *text = NULL;
	size_t textlen;
	struct stat st;
	int fd, error;

	*manifest = NULL;
	if ((fd = open(fspath, O_RDONLY | O_CLOEXEC)) < 0)
		return mvc__err_sys("cannot open '%s'", c->path);
	if (fstat(fd, &st) < 0) {
		error = mvc__err_sys("cannot stat '%s'", c->path);
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		error = mvc__err(MVC_EINVALID, "'%s' is not a regular file", c->path);
		goto done;
	}
	if ((error = mvc_layout_read(&l, fd, (uint64_t)st.st_size, c->path)) < 0 ||
	    (error = mvc__scan_plan(&m, l, c->parent, chunk_size)) < 0)
		goto done;
	if (git_treebuilder_new(&c->tensors, c->git, NULL) < 0) {
		error = mvc__err_git(MVC_ERROR, "cannot build a tree");
		goto done;
	}
	if ((error = mvc__scan_read(m, fd, c->path, &header, on_chunk, c)) < 0)
		goto done;
	if (git_treebuilder_new(&ft, c->git, NULL) < 0) {
		error = mvc__err_git(MVC_ERROR, "cannot build a tree");
		goto done;
	}
	if (git_treebuilder_entrycount(c->tensors) > 0) {
		if (git_treebuilder_write(&oid, c->tensors) < 0 ||
		    git_treebuilder_insert(NULL, ft, "t", &oid, GIT_FILEMODE_TREE) < 0) {
			error = mvc__err_git(MVC_EIO, "cannot write the tensor table");
			goto done;
		}
	}
	if ((error = mvc__objw_blob(c->w, &oid, header.ptr ? header.ptr : "", header.len)) < 0)
		goto done;
	if (git_treebuilder_insert(NULL, ft, "header", &oid, GIT_FILEMODE_BLOB) < 0) {
		error = mvc__err_git(MVC_ERROR, "cannot build a tree");
		goto done;
	}
	if ((error = mvc_manifest_write(&text, &textlen, m)) < 0 ||
	    (error = mvc__objw_blob(c->w, &oid, text, textlen)) < 0)
		goto done;
	if (git_treebuilder_insert(NULL, ft, "MANIFEST", &oid, GIT_FILEMODE_BLOB) < 0 ||
	    git_treebuilder_write(out, ft) < 0) {
		error = mvc__err_git(MVC_EIO, "cannot write the tree of '%s'", c->path);
		goto done;
	}
	c->stats->files++;
	c->stats->tensors += m->ntensors;
	c->stats->bytes_raw += m->file_size;
	*manifest = m;
	m = NULL;
done:
	close(fd);
	free(text);
	git_treebuilder_free(ft);
	git_treebuilder_free(c->tensors);
	c->tensors = NULL;
	git_treebuilder_free(c->chunks);
	c->chunks = NULL;
	git_tree_free(c->parent_tensor);
	c->parent_tensor = NULL;
	mvc_buf_free(&header);
	mvc_layout_free(l);
	mvc_manifest_free(m);
	return error;
}

static int validate(mvc_repo *repo, const char *path)
{
	mvc_buf fs = MVC_BUF_INIT;
	mvc_layout *l = NULL;
	struct stat st;
	int fd = -1, error;

	if ((error = mvc_buf_printf(&fs, "%s/%s", mvc_repo_workdir(repo), path)) < 0)
		return error;
	if ((fd = open(fs.ptr, O_RDONLY | O_CLOEXEC)) < 0)
		error = mvc__err_sys("cannot open '%s'", path);
	else if (fstat(fd, &st) < 0)
		error = mvc__err_sys("cannot stat '%s'", path);
	else if (!S_ISREG(st.st_mode))
		error = mvc__err(MVC_EINVALID, "'%s' is not a regular file", path);
	else
		error = mvc_layout_read(&l, fd, (uint64_t)st.st_size, path);
	if (fd >= 0)
		close(fd);
	mvc_layout_free(l);
	mvc_buf_free(&fs);
	return error;
}

static int check_meta(const char *kv)
{
	const char *eq = strchr(kv, '=');

	if (!eq || eq == kv)
		return mvc__err(MVC_EINVALID, "metadata '%s' is not key=value", kv);
	for (const char *p = kv; p < eq; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
			return mvc__err(MVC_EINVALID,
			    "metadata key in '%s' may hold only letters, digits, '-', '_' and '.'", kv);
	if (!isalnum((unsigned char)kv[0]))
		return mvc__err(MVC_EINVALID, "metadata key in '%s' must start with a letter or digit",
		    kv);
	for (const char *p = eq + 1; *p; p++)
		if (*p == '\n' || *p == '\r')
			return mvc__err(MVC_EINVALID, "metadata value in '%s' has a line break", kv);
	return 0;
}

static int build_message(mvc_buf *msg, const mvc_commit_options *o)
{
	const char *m = o->message;
	size_t len;
	int error;

	if (!m)
		return mvc__err(MVC_EINVALID, "a version needs a message (-m)");
	while (*m == '\n' || *m == ' ' || *m == '\t')
		m++;
	len = strlen(m);
	while (len && (m[len - 1] == '\n' || m[len - 1] == ' ' || m[len - 1] == '\t'))
		len--;
	if (!len)
		return mvc__err(MVC_EINVALID, "a version needs a non-empty message (-m)");
	if ((error = mvc_buf_put(msg, m, len)) < 0 || (error = mvc_buf_puts(msg, "\n")) < 0)
		return error;
	for (size_t i = 0; i < o->nmeta; i++) {
		const char *eq = strchr(o->meta[i], '=');

		if ((error = mvc_buf_printf(msg, "%s%.*s: %s\n", i ? "" : "\n",
		         (int)(eq - o->meta[i]), o->meta[i], eq + 1)) < 0)
			return error;
	}
	return 0;
}

static int signature(git_signature **out, git_repository *git)
{
	const char *name = getenv("GIT_AUTHOR_NAME"), *email = getenv("GIT_AUTHOR_EMAIL");
	char host[256] = "localhost", fallback[512];
	struct passwd *pw;

	if (name && email && *name && *email)
		return git_signature_now(out, name, email);
	if (git_signature_default(out, git) == 0)
		return 0;
	/* cron jobs rarely have user.name: fall back as git does */
	pw = getpwuid(getuid());
	gethostname(host, sizeof(host) - 1);
	snprintf(fallback, sizeof(fallback), "%s@%s", pw ? pw->pw_name : "mvc", host);
	return git_signature_now(out, pw ? pw->pw_name : "mvc", fallback);
}

int mvc_commit(mvc_oid *out, mvc_commit_stats *stats, mvc_repo *repo,
               const char *const *paths, size_t npaths, const mvc_commit_options *opts)
{
	git_repository *git = mvc__repo_git(repo);
	mvc_commit_stats local_stats;
	commit_ctx c;
	git_commit *parent = NULL;
	git_tree *root = NULL, *newroot = NULL;
	git_tree_update *updates = NULL;
	git_reference *head = NULL;
	git_signature *sig = NULL;
	git_oid *trees = NULL, treeid, commitid;
	mvc_manifest **manifests = NULL;
	char **tracked = NULL, *refname = NULL;
	const char *const *todo = paths;
	size_t ntracked = 0, ntodo = npaths;
	mvc_buf msg = MVC_BUF_INIT;
	mvc_state state;
	uint64_t chunk_size;
	int64_t started = mvc__now_ns();
	int error, unborn;

	memset(&c, 0, sizeof(c));
	memset(&state, 0, sizeof(state));
	if (!stats)
		stats = &local_stats;
	memset(stats, 0, sizeof(*stats));
	if (!opts || opts->version != MVC_COMMIT_OPTIONS_VERSION)
		return mvc__err(MVC_EINVALID, "bad commit options version");
	for (size_t i = 0; i < opts->nmeta; i++)
		if ((error = check_meta(opts->meta[i])) < 0)
			return error;
	if ((error = build_message(&msg, opts)) < 0)
		goto done;
	if ((error = mvc_repo_chunk_size(&chunk_size, repo)) < 0)
		goto done;

	/* HEAD: the branch to move and the parent version */
	unborn = git_repository_head_unborn(git) == 1;
	if (git_reference_lookup(&head, git, "HEAD") < 0) {
		error = mvc__err_git(MVC_ERROR, "cannot read HEAD");
		goto done;
	}
	if (git_reference_type(head) == GIT_REFERENCE_SYMBOLIC)
		refname = mvc__strdup(git_reference_symbolic_target(head));
	else
		refname = mvc__strdup("HEAD");
	if (!refname) {
		error = MVC_ENOMEM;
		goto done;
	}
	if (!unborn) {
		if ((error = mvc__resolve(&parent, git, "HEAD")) < 0)
			goto done;
		if (git_commit_tree(&root, parent) < 0) {
			error = mvc__err_git(MVC_ECORRUPT, "cannot read the current version");
			goto done;
		}
		if ((error = mvc__tree_files(&tracked, &ntracked, git, root)) < 0)
			goto done;
	}
	if (ntodo == 0) {
		if (ntracked == 0) {
			error = mvc__err(MVC_EINVALID,
			    "nothing tracked yet: name the model files to commit");
			goto done;
		}
		todo = (const char *const *)tracked;
		ntodo = ntracked;
	}
	for (size_t i = 0; i < ntodo; i++)
		for (size_t j = 0; j < i; j++)
			if (!strcmp(todo[i], todo[j])) {
				error = mvc__err(MVC_EINVALID, "'%s' is named twice", todo[i]);
				goto done;
			}

	/* every file must parse before the first object is written */
	for (size_t i = 0; i < ntodo; i++)
		if ((error = validate(repo, todo[i])) < 0)
			goto done;
	if ((error = mvc__state_load(&state, repo)) < 0 ||
	    (error = mvc_codec_new(&c.codec)) < 0 ||
	    (error = mvc__objw_new(&c.w, git)) < 0)
		goto done;
	c.git = git;
	c.stats = stats;
	if (!(trees = mvc__calloc(ntodo, sizeof(*trees))) ||
	    !(manifests = mvc__calloc(ntodo, sizeof(*manifests))) ||
	    !(updates = mvc__calloc(ntodo, sizeof(*updates)))) {
		error = MVC_ENOMEM;
		goto done;
	}
	for (size_t i = 0; i < ntodo; i++) {
		mvc_manifest *pm = NULL;
		mvc_buf fs = MVC_BUF_INIT;

		c.path = todo[i];
		c.parent = NULL;
		if (root && mvc__file_tree(&c.parent_ftree, git, root, todo[i]) == 0 &&
		    mvc__tree_manifest(&pm, git, c.parent_ftree, todo[i]) == 0) {
			const git_tree_entry *e = git_tree_entry_byname(c.parent_ftree, "t");

			c.parent = pm;
			if (e)
				git_tree_lookup(&c.parent_t, git, git_tree_entry_id(e));
		}
		mvc_error_clear();
		error = mvc_buf_printf(&fs, "%s/%s", mvc_repo_workdir(repo), todo[i]);
		if (!error)
			error = store_file(&trees[i], &manifests[i], &c, fs.ptr, chunk_size);
		mvc_buf_free(&fs);
		mvc_manifest_free(pm);
		git_tree_free(c.parent_t);
		git_tree_free(c.parent_ftree);
		c.parent_t = NULL;
		c.parent_ftree = NULL;
		if (error < 0)
			goto done;
		updates[i].action = GIT_TREE_UPDATE_UPSERT;
		updates[i].id = trees[i];
		updates[i].filemode = GIT_FILEMODE_TREE;
		updates[i].path = todo[i];
	}
	if ((error = mvc__objw_finish(c.w)) < 0)
		goto done;
	if (git_tree_create_updated(&treeid, git, root, ntodo, updates) < 0) {
		error = mvc__err_git(MVC_EINVALID, "cannot build the version's tree");
		goto done;
	}
	if (root && git_oid_equal(&treeid, git_tree_id(root)) && !opts->allow_empty) {
		error = mvc__err(MVC_EUNCHANGED, "nothing to commit: the files equal the current version");
		/* the files were hashed: remember that they are clean */
		goto remember;
	}
	if (git_tree_lookup(&newroot, git, &treeid) < 0 || signature(&sig, git) < 0) {
		error = mvc__err_git(MVC_ERROR, "cannot prepare the version");
		goto done;
	}
	if (git_commit_create(&commitid, git, NULL, sig, sig, NULL, msg.ptr, newroot,
	        parent ? 1 : 0, (const git_commit **)&parent) < 0) {
		error = mvc__err_git(MVC_EIO, "cannot write the version");
		goto done;
	}
	{
		git_reference *ref = NULL;
		mvc_buf log = MVC_BUF_INIT;
		int rc;

		mvc_buf_printf(&log, "mvc commit%s", unborn ? " (initial)" : "");
		if (unborn)
			rc = git_reference_create(&ref, git, refname, &commitid, 0, log.ptr);
		else
			rc = git_reference_create_matching(&ref, git, refname, &commitid, 1,
			    git_commit_id(parent), log.ptr);
		mvc_buf_free(&log);
		git_reference_free(ref);
		if (rc == GIT_EEXISTS || rc == GIT_EMODIFIED || rc == GIT_ELOCKED) {
			error = mvc__err(MVC_ECONFLICT,
			    "'%s' moved while committing (another commit?); nothing was changed",
			    refname);
			goto done;
		}
		if (rc < 0) {
			error = mvc__err_git(MVC_EIO, "cannot update '%s'", refname);
			goto done;
		}
	}
	if (out)
		mvc__oid_from_git(out, &commitid);
remember:
	for (size_t i = 0; i < ntodo; i++) {
		mvc_buf fs = MVC_BUF_INIT;
		mvc_oid v;

		mvc__oid_from_git(&v, error == MVC_EUNCHANGED ? git_commit_id(parent) : &commitid);
		if (mvc_buf_printf(&fs, "%s/%s", mvc_repo_workdir(repo), todo[i]) == 0)
			mvc__state_set(&state, todo[i], fs.ptr, manifests[i]->digest, &v, started);
		mvc_buf_free(&fs);
	}
	mvc__state_save(&state, repo);
done:
	if (manifests)
		for (size_t i = 0; i < ntodo; i++)
			mvc_manifest_free(manifests[i]);
	free(manifests);
	free(trees);
	free(updates);
	free(c.seen.slots);
	mvc_codec_free(c.codec);
	mvc__objw_free(c.w);
	mvc__state_free(&state);
	mvc_strings_free(tracked, ntracked);
	git_signature_free(sig);
	git_reference_free(head);
	git_tree_free(newroot);
	git_tree_free(root);
	git_commit_free(parent);
	free(refname);
	mvc_buf_free(&msg);
	return error;
}
