/*
 * The working-file records (.mvc/mvc-state), git's index in miniature:
 * for each tracked file, the digest mvc last wrote or hashed, with the
 * stat data that lets status and commit skip hashing an unchanged file.
 * A cache only: losing it costs a re-hash, never data.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include "scan.h"

#define STATE_FILE "mvc-state"
/* A file modified this close to its hashing may change again unseen
 * within one timestamp tick ("racily clean", as git calls it). */
#define RACY_NS 1000000000LL

int64_t mvc__now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t ts_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

void mvc__state_free(mvc_state *st)
{
	for (size_t i = 0; i < st->count; i++)
		free(st->entries[i].path);
	free(st->entries);
	memset(st, 0, sizeof(*st));
}

mvc_state_entry *mvc__state_get(mvc_state *st, const char *path)
{
	for (size_t i = 0; i < st->count; i++)
		if (!strcmp(st->entries[i].path, path))
			return &st->entries[i];
	return NULL;
}

static mvc_state_entry *add(mvc_state *st, const char *path)
{
	mvc_state_entry *e;

	if (st->count == st->cap) {
		size_t nc = st->cap ? st->cap * 2 : 8;
		mvc_state_entry *ne = realloc(st->entries, nc * sizeof(*ne));

		if (!ne)
			return NULL;
		st->entries = ne;
		st->cap = nc;
	}
	e = &st->entries[st->count];
	memset(e, 0, sizeof(*e));
	if (!(e->path = strdup(path)))
		return NULL;
	st->count++;
	return e;
}

int mvc__state_load(mvc_state *st, mvc_repo *repo)
{
	mvc_buf p = MVC_BUF_INIT;
	json_t *root = NULL, *files, *v;
	const char *key;
	int error = 0;

	memset(st, 0, sizeof(*st));
	if ((error = mvc_buf_printf(&p, "%s/%s", mvc_repo_path(repo), STATE_FILE)) < 0)
		return error;
	root = json_load_file(p.ptr, JSON_REJECT_DUPLICATES, NULL);
	mvc_buf_free(&p);
	/* missing or unreadable: start empty, files will be hashed */
	if (!root || json_integer_value(json_object_get(root, "version")) != 1)
		goto done;
	files = json_object_get(root, "files");
	json_object_foreach(files, key, v) {
		mvc_state_entry *e;
		const char *dg = json_string_value(json_object_get(v, "digest"));
		const char *ver = json_string_value(json_object_get(v, "version"));
		git_oid oid;

		if (!dg || !ver || git_oid_fromstr(&oid, ver) < 0)
			continue;
		if (!(e = add(st, key))) {
			error = mvc__err(MVC_ENOMEM, "out of memory");
			goto done;
		}
		if (mvc_hex_to_digest(e->digest, dg) < 0) {
			free(e->path);
			st->count--;
			continue;
		}
		mvc__oid_from_git(&e->version, &oid);
		e->size = (uint64_t)json_integer_value(json_object_get(v, "size"));
		e->ino = (uint64_t)json_integer_value(json_object_get(v, "ino"));
		e->mtime_ns = json_integer_value(json_object_get(v, "mtime_ns"));
		e->ctime_ns = json_integer_value(json_object_get(v, "ctime_ns"));
		e->has_stat = json_is_true(json_object_get(v, "stat"));
	}
done:
	json_decref(root);
	return error;
}

int mvc__state_save(mvc_state *st, mvc_repo *repo)
{
	json_t *root = json_object(), *files = json_object();
	mvc_buf p = MVC_BUF_INIT, tmp = MVC_BUF_INIT;
	int error = 0;

	if (!st->dirty)
		goto done;
	if (!root || !files) {
		error = mvc__err(MVC_ENOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < st->count; i++) {
		mvc_state_entry *e = &st->entries[i];
		char dg[MVC_DIGEST_HEXSZ + 1], ver[MVC_OID_HEXSZ + 1];

		mvc_digest_hex(dg, e->digest);
		mvc_oid_fmt(ver, &e->version);
		json_object_set_new(files, e->path, json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:b}",
		    "digest", dg, "version", ver, "size", (json_int_t)e->size,
		    "ino", (json_int_t)e->ino, "mtime_ns", (json_int_t)e->mtime_ns,
		    "ctime_ns", (json_int_t)e->ctime_ns, "stat", e->has_stat));
	}
	json_object_set_new(root, "version", json_integer(1));
	json_object_set(root, "files", files);
	if ((error = mvc_buf_printf(&p, "%s/%s", mvc_repo_path(repo), STATE_FILE)) < 0 ||
	    (error = mvc_buf_printf(&tmp, "%s.tmp.%ld", p.ptr, (long)getpid())) < 0)
		goto done;
	if (json_dump_file(root, tmp.ptr, JSON_COMPACT) < 0 || rename(tmp.ptr, p.ptr) < 0) {
		/* only a cache: failing to save it must not fail the command */
		unlink(tmp.ptr);
		goto done;
	}
	st->dirty = 0;
done:
	json_decref(files);
	json_decref(root);
	mvc_buf_free(&p);
	mvc_buf_free(&tmp);
	return error;
}

int mvc__state_set(mvc_state *st, const char *path, const char *fspath,
                   const unsigned char digest[MVC_DIGEST_SIZE], const mvc_oid *version,
                   int64_t started_ns)
{
	mvc_state_entry *e = mvc__state_get(st, path);
	struct stat s;

	if (!e && !(e = add(st, path)))
		return mvc__err(MVC_ENOMEM, "out of memory");
	memcpy(e->digest, digest, MVC_DIGEST_SIZE);
	e->version = *version;
	e->has_stat = 0;
	if (stat(fspath, &s) == 0) {
		e->size = (uint64_t)s.st_size;
		e->ino = (uint64_t)s.st_ino;
		e->mtime_ns = ts_ns(&s.st_mtim);
		e->ctime_ns = ts_ns(&s.st_ctim);
		/* trust the stat data only if the file was not being changed
		 * around the time it was read */
		e->has_stat = e->mtime_ns < started_ns - RACY_NS &&
		              e->ctime_ns < started_ns - RACY_NS;
	}
	st->dirty = 1;
	return 0;
}

bool mvc__state_fresh(const mvc_state_entry *e, const char *fspath)
{
	struct stat s;

	if (!e || !e->has_stat || stat(fspath, &s) < 0)
		return false;
	return (uint64_t)s.st_size == e->size && (uint64_t)s.st_ino == e->ino &&
	       ts_ns(&s.st_mtim) == e->mtime_ns && ts_ns(&s.st_ctim) == e->ctime_ns;
}
