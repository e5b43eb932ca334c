/*
 * Remotes: their config, the refspecs that say what travels, the merge of
 * fetched score notes and the fast-forward of a pull.  The bytes travel
 * through git's own client (cmd/util_transport.c); this file decides what they
 * are and what becomes of them once they are here.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "move.h"
#include "xfer.h"

#define CHANNELS MVC_CHANNEL_REF_PREFIX
#define NOTES "refs/notes/mvc/"

/* ---- small things ---- */

typedef struct strv {
	char **v;
	size_t n, cap;
} strv;

static int strv_add(strv *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int strv_add(strv *s, const char *fmt, ...)
{
	mvc_buf b = MVC_BUF_INIT;
	va_list ap;
	char *str;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || mvc_buf_grow(&b, (size_t)n + 1) < 0)
		return mvc__err(MVC_ENOMEM, "out of memory");
	va_start(ap, fmt);
	vsnprintf(b.ptr, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b.len = (size_t)n;
	str = mvc_buf_detach(&b);
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 8;
		char **nv = realloc(s->v, nc * sizeof(char *));

		if (!nv) {
			free(str);
			return mvc__err(MVC_ENOMEM, "out of memory");
		}
		s->v = nv;
		s->cap = nc;
	}
	s->v[s->n++] = str;
	return 0;
}

static void strv_free(strv *s)
{
	mvc_strings_free(s->v, s->n);
	s->v = NULL;
	s->n = s->cap = 0;
}

static bool ref_target(git_oid *out, git_repository *git, const char *name);

static bool has_prefix(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static bool is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* ---- names and URLs ---- */

int mvc_remote_name_check(const char *name)
{
	char q[MVC_QUOTE_MAX];
	size_t len;

	if (!name || !*name)
		return mvc__err(MVC_EINVALID, "a remote needs a name");
	mvc_quote(q, sizeof(q), name);
	if ((len = strlen(name)) > MVC_REMOTE_NAME_MAX)
		return mvc__err(MVC_EINVALID, "remote name '%s' is longer than %d bytes", q,
		    MVC_REMOTE_NAME_MAX);
	if (name[0] == '-' || name[0] == '.')
		return mvc__err(MVC_EINVALID, "remote name '%s' must not start with '%c'", q, name[0]);
	for (const char *p = name; *p; p++)
		if (!is_alnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-')
			return mvc__err(MVC_EINVALID,
			    "remote name '%s' may hold only letters, digits, '.', '_' and '-'", q);
	if (strstr(name, "..") || (len >= 5 && !strcmp(name + len - 5, ".lock")))
		return mvc__err(MVC_EINVALID, "'%s' is not a valid remote name (no '..' or '.lock' end)", q);
	return 0;
}

static bool scheme_char(unsigned char c)
{
	return is_alnum(c) || c == '+' || c == '.' || c == '-';
}

int mvc_remote_url_check(const char *url)
{
	static const char *const schemes[] = { "file", "git", "ssh", "git+ssh", "ssh+git", "http",
		"https" };
	char q[MVC_QUOTE_MAX];
	const char *slash, *colon, *sep, *helper;
	size_t len;

	if (!url || !*url)
		return mvc__err(MVC_EINVALID, "an empty URL");
	mvc_quote(q, sizeof(q), url);
	if ((len = strlen(url)) > MVC_REMOTE_URL_MAX)
		return mvc__err(MVC_EINVALID, "URL '%s' is longer than %d bytes", q, MVC_REMOTE_URL_MAX);
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return mvc__err(MVC_EINVALID, "URL '%s' holds a control character", q);
	/* git would take it for an option somewhere down the line (ssh) */
	if (url[0] == '-')
		return mvc__err(MVC_EINVALID, "URL '%s' must not start with '-'", q);
	slash = strchr(url, '/');
	colon = strchr(url, ':');
	sep = strstr(url, "://");
	if (sep && slash == sep + 1) {
		size_t sl = (size_t)(sep - url);
		const char *host = sep + 3, *end = host + strcspn(host, "/"), *at;
		bool known = false, file;

		for (size_t i = 0; i < sl; i++)
			if (!scheme_char((unsigned char)url[i]))
				return mvc__err(MVC_EINVALID, "'%s' is not a URL git can use (bad scheme)", q);
		for (size_t i = 0; i < MVC_ARRAY_SIZE(schemes) && !known; i++)
			known = strlen(schemes[i]) == sl && !strncasecmp(url, schemes[i], sl);
		if (!known)
			return mvc__err(MVC_EINVALID,
			    "unsupported URL scheme '%.*s' in '%s' (mvc takes file, git, ssh, http and https)",
			    (int)(sl > 32 ? 32 : sl), url, q);
		file = sl == 4 && !strncasecmp(url, "file", 4);
		if (file)
			return *host ? 0 : mvc__err(MVC_EINVALID, "URL '%s' names no path", q);
		at = host;
		for (const char *p = host; p < end; p++)
			if (*p == '@')
				at = p + 1;
		if (at == end || *at == ':')
			return mvc__err(MVC_EINVALID, "URL '%s' names no host", q);
		for (const char *p = at; p < end; p++)
			if (*p == ' ')
				return mvc__err(MVC_EINVALID, "URL '%s' has a space in its host", q);
		return 0;
	}
	/* <transport>::<address> runs a remote helper (ext:: runs any command) */
	if ((helper = strstr(url, "::")) && (!slash || helper < slash))
		return mvc__err(MVC_EINVALID, "URL '%s': transport helpers ('%.*s::') are not supported",
		    q, (int)((helper - url) > 32 ? 32 : (helper - url)), url);
	if (colon && (!slash || colon < slash)) {
		/* scp-like [user@]host:path */
		const char *host = url;

		for (const char *p = url; p < colon; p++)
			if (*p == '@')
				host = p + 1;
		if (host == colon)
			return mvc__err(MVC_EINVALID, "URL '%s' names no host", q);
		return 0;
	}
	return 0; /* a local path */
}

int mvc_remote_redact(char **out, const char *text)
{
	mvc_buf b = MVC_BUF_INIT;
	const char *p = text ? text : "";
	int error = 0;

	*out = NULL;
	while (*p && !error) {
		const char *sep = strstr(p, "://"), *s, *auth, *end, *at = NULL, *colon;
		bool http;

		if (!sep) {
			error = mvc_buf_puts(&b, p);
			break;
		}
		for (s = sep; s > p && scheme_char((unsigned char)s[-1]); s--)
			;
		http = (sep - s == 4 && !strncasecmp(s, "http", 4)) ||
		       (sep - s == 5 && !strncasecmp(s, "https", 5));
		auth = sep + 3;
		for (end = auth; *end && !strchr("/?#'\" \t\r\n", *end); end++)
			if (*end == '@')
				at = end;
		if ((error = mvc_buf_put(&b, p, (size_t)(auth - p))) < 0)
			break;
		if (at) {
			colon = memchr(auth, ':', (size_t)(at - auth));
			if (colon)
				error = mvc_buf_put(&b, auth, (size_t)(colon + 1 - auth)) ||
				        mvc_buf_puts(&b, "***");
			else if (http)
				error = mvc_buf_puts(&b, "***");
			else
				error = mvc_buf_put(&b, auth, (size_t)(at - auth));
			if (!error)
				error = mvc_buf_put(&b, at, (size_t)(end - at));
		} else {
			error = mvc_buf_put(&b, auth, (size_t)(end - auth));
		}
		p = end;
	}
	if (error) {
		mvc_buf_free(&b);
		return mvc__err(MVC_ENOMEM, "out of memory");
	}
	if (!(*out = mvc_buf_detach(&b)))
		return mvc__err(MVC_ENOMEM, "out of memory");
	return 0;
}

/* ---- the config ---- */

/* The refspecs: with_tags adds the one for tags (fetched, never configured:
 * git would auto-follow them anyway, and libgit2's remote deletion would
 * take every tag for the remote's). */
static int fetch_specs(strv *s, const char *name, bool with_tags)
{
	int error;

	if ((error = mvc_remote_name_check(name)) < 0)
		return error;
	if ((error = strv_add(s, "+refs/heads/*:refs/remotes/%s/*", name)) < 0 ||
	    (with_tags && (error = strv_add(s, "refs/tags/*:refs/tags/*")) < 0) ||
	    (error = strv_add(s, "+" CHANNELS "*:refs/mvc/remotes/%s/channels/*", name)) < 0 ||
	    (error = strv_add(s, "+" NOTES "*:refs/mvc/remotes/%s/notes/*", name)) < 0)
		strv_free(s);
	return error;
}

int mvc_remote_fetch_refspecs(char ***out, size_t *count, const char *name)
{
	strv s = { NULL, 0, 0 };
	int error = fetch_specs(&s, name, true);

	*out = s.v;
	*count = s.n;
	return error;
}

int mvc_remote_clone_refspecs(char ***out, size_t *count, const char *name)
{
	strv s = { NULL, 0, 0 };
	int error;

	*out = NULL;
	*count = 0;
	if ((error = fetch_specs(&s, name, false)) < 0 ||
	    (error = strv_add(&s, "+" CHANNELS "*:" CHANNELS "*")) < 0 ||
	    (error = strv_add(&s, "+" NOTES "*:" NOTES "*")) < 0) {
		strv_free(&s);
		return error;
	}
	*out = s.v;
	*count = s.n;
	return 0;
}

void mvc_remote_free(mvc_remote *r)
{
	if (!r)
		return;
	free(r->name);
	free(r->url);
	free(r->push_url);
	free(r);
}

static void remote_clear(mvc_remote *r)
{
	free(r->name);
	free(r->url);
	free(r->push_url);
	memset(r, 0, sizeof(*r));
}

/*
 * Append `text` (whole lines) to the store's config file as git writes
 * it: the new file under config.lock, synced, renamed into place.
 * libgit2 1.5.1 can only add a value to a multi-valued key by matching a
 * regular expression against the values already there, and leaks a PCRE2
 * match block for each one that does not match.
 */
static int config_append(mvc_repo *repo, const char *text)
{
	mvc_buf path = MVC_BUF_INIT, lock = MVC_BUF_INIT, body = MVC_BUF_INIT;
	struct stat st;
	int fd = -1, in = -1, error;

	if ((error = mvc_buf_printf(&path, "%s/config", mvc_repo_path(repo))) < 0 ||
	    (error = mvc_buf_printf(&lock, "%s.lock", path.ptr)) < 0)
		goto done;
	if ((in = open(path.ptr, O_RDONLY | O_CLOEXEC)) < 0 || fstat(in, &st) < 0) {
		error = mvc__err_sys("cannot read '%s'", path.ptr);
		goto done;
	}
	if (st.st_size > (off_t)MVC_NOTE_MAX) {
		error = mvc__err(MVC_EINVALID, "'%s' is larger than %zu bytes", path.ptr, MVC_NOTE_MAX);
		goto done;
	}
	if ((error = mvc_buf_grow(&body, (size_t)st.st_size + strlen(text) + 2)) < 0 ||
	    (error = mvc_read_at(in, body.ptr, (size_t)st.st_size, 0, "the config")) < 0)
		goto done;
	body.len = (size_t)st.st_size;
	body.ptr[body.len] = '\0';
	if ((body.len && body.ptr[body.len - 1] != '\n' && (error = mvc_buf_puts(&body, "\n")) < 0) ||
	    (error = mvc_buf_puts(&body, text)) < 0)
		goto done;
	if ((fd = open(lock.ptr, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 07777)) < 0) {
		error = errno == EEXIST
		    ? mvc__err(MVC_ECONFLICT, "'%s' exists: another process is writing the config", lock.ptr)
		    : mvc__err_sys("cannot create '%s'", lock.ptr);
		goto done;
	}
	if ((error = mvc_write_all(fd, body.ptr, body.len, "the config")) < 0)
		goto unlock;
	if (fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		error = mvc__err_sys("cannot write '%s'", lock.ptr);
		goto unlock;
	}
	fd = -1;
	if (rename(lock.ptr, path.ptr) < 0) {
		error = mvc__err_sys("cannot replace '%s'", path.ptr);
		goto unlock;
	}
	error = 0;
	goto done;
unlock:
	unlink(lock.ptr);
done:
	if (fd >= 0)
		close(fd);
	if (in >= 0)
		close(in);
	mvc_buf_free(&path);
	mvc_buf_free(&lock);
	mvc_buf_free(&body);
	return error;
}

/* remote.<name>.<key> as a string; *out NULL when it is not set. */
static int config_str(char **out, git_config *cfg, const char *name, const char *key)
{
	git_buf v = GIT_BUF_INIT;
	mvc_buf k = MVC_BUF_INIT;
	int rc, error;

	*out = NULL;
	if ((error = mvc_buf_printf(&k, "remote.%s.%s", name, key)) < 0)
		return error;
	rc = git_config_get_string_buf(&v, cfg, k.ptr);
	if (rc == 0)
		error = (*out = mvc__strdup(v.ptr)) ? 0 : MVC_ENOMEM;
	else if (rc != GIT_ENOTFOUND)
		error = mvc__err_git(MVC_ERROR, "cannot read %s", k.ptr);
	git_buf_dispose(&v);
	mvc_buf_free(&k);
	return error;
}

static int read_remote(mvc_remote *r, git_config *cfg, const char *name)
{
	mvc_buf k = MVC_BUF_INIT;
	int mirror = 0, error;

	memset(r, 0, sizeof(*r));
	if (!(r->name = mvc__strdup(name)))
		return MVC_ENOMEM;
	if ((error = config_str(&r->url, cfg, name, "url")) < 0 ||
	    (error = config_str(&r->push_url, cfg, name, "pushurl")) < 0 ||
	    (error = mvc_buf_printf(&k, "remote.%s.mirror", name)) < 0)
		goto done;
	if (git_config_get_bool(&mirror, cfg, k.ptr) == 0)
		r->mirror = mirror;
	git_error_clear();
	if (!r->url) {
		char q[MVC_QUOTE_MAX];

		error = mvc__err(MVC_ENOTFOUND,
		    "no remote '%s' (add one with 'mvc remote add %s <url>')", mvc_quote(q, sizeof(q), name),
		    mvc_quote(q, sizeof(q), name));
	}
done:
	mvc_buf_free(&k);
	if (error < 0)
		remote_clear(r);
	return error;
}

static int config_snapshot(git_config **cfg, mvc_repo *repo)
{
	if (git_repository_config_snapshot(cfg, mvc__repo_git(repo)) < 0)
		return mvc__err_git(MVC_ERROR, "cannot read the config");
	return 0;
}

int mvc_remote_lookup(mvc_remote **out, mvc_repo *repo, const char *name)
{
	git_config *cfg = NULL;
	mvc_remote *r;
	int error;

	*out = NULL;
	if ((error = mvc_remote_name_check(name)) < 0)
		return error;
	if (!(r = mvc__calloc(1, sizeof(*r))))
		return MVC_ENOMEM;
	if ((error = config_snapshot(&cfg, repo)) == 0)
		error = read_remote(r, cfg, name);
	git_config_free(cfg);
	if (error < 0) {
		free(r);
		return error;
	}
	*out = r;
	return 0;
}

void mvc_remote_list_free(mvc_remote_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->count; i++)
		remote_clear(&l->remotes[i]);
	free(l->remotes);
	free(l);
}

static int cmp_remote(const void *a, const void *b)
{
	return strcmp(((const mvc_remote *)a)->name, ((const mvc_remote *)b)->name);
}

/*
 * The distinct config keys that start with `prefix` and end with `suffix`.
 * Not git_config_iterator_glob_new() or git_remote_list(): libgit2 1.5.1
 * leaks a PCRE2 match block for every entry its regular expression does
 * not match.
 */
static int config_keys(strv *out, git_config *cfg, const char *prefix, const char *suffix)
{
	git_config_iterator *it = NULL;
	git_config_entry *e;
	size_t pl = strlen(prefix), sl = strlen(suffix);
	int rc, error = 0;

	if (git_config_iterator_new(&it, cfg) < 0)
		return mvc__err_git(MVC_ERROR, "cannot read the config");
	while ((rc = git_config_next(&e, it)) == 0) {
		size_t nl = strlen(e->name);
		bool seen = false;

		if (nl < pl + sl || strncmp(e->name, prefix, pl) || strcmp(e->name + nl - sl, suffix))
			continue;
		for (size_t i = 0; i < out->n && !seen; i++)
			seen = !strcmp(out->v[i], e->name);
		if (!seen && (error = strv_add(out, "%s", e->name)) < 0)
			break;
	}
	if (!error && rc != GIT_ITEROVER)
		error = mvc__err_git(MVC_ERROR, "cannot read the config");
	git_config_iterator_free(it);
	return error;
}

int mvc_remote_list_read(mvc_remote_list **out, mvc_repo *repo)
{
	git_config *cfg = NULL;
	strv keys = { NULL, 0, 0 };
	mvc_remote_list *l;
	int error = 0;

	*out = NULL;
	if (!(l = mvc__calloc(1, sizeof(*l))))
		return MVC_ENOMEM;
	if ((error = config_snapshot(&cfg, repo)) < 0 ||
	    (error = config_keys(&keys, cfg, "remote.", ".url")) < 0)
		goto done;
	if (keys.n && !(l->remotes = mvc__calloc(keys.n, sizeof(*l->remotes)))) {
		error = MVC_ENOMEM;
		goto done;
	}
	for (size_t i = 0; i < keys.n; i++) {
		char *name = keys.v[i] + strlen("remote.");

		name[strlen(name) - strlen(".url")] = '\0';
		if ((error = read_remote(&l->remotes[l->count], cfg, name)) < 0)
			goto done;
		l->count++;
	}
	if (l->count)
		qsort(l->remotes, l->count, sizeof(*l->remotes), cmp_remote);
done:
	git_config_free(cfg);
	strv_free(&keys);
	if (error < 0) {
		mvc_remote_list_free(l);
		return error;
	}
	*out = l;
	return 0;
}

static bool is_local_path(const char *url)
{
	const char *slash = strchr(url, '/'), *colon = strchr(url, ':');

	return !(colon && (!slash || colon < slash)) && !strstr(url, "://");
}

/* "/a/./b/../c//d/" -> "/a/c/d", in place ("/.." stays "/"). */
static void normalise_path(char *p)
{
	char *out = p + 1, *seg = p + 1;

	while (*seg) {
		char *end = strchr(seg, '/');
		size_t n = end ? (size_t)(end - seg) : strlen(seg);

		if (n == 0 || (n == 1 && seg[0] == '.')) {
			/* skip */
		} else if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			if (out > p + 1) {
				out--;                     /* the '/' after the last segment */
				while (out > p + 1 && out[-1] != '/')
					out--;
			}
		} else {
			memmove(out, seg, n);
			out += n;
			*out++ = '/';
		}
		seg += n + (end != NULL);
	}
	if (out > p + 1)
		out--;
	*out = '\0';
}

/* A relative local path, made absolute against the current directory. */
static int absolute_url(char **out, const char *url)
{
	char cwd[PATH_MAX], *real;
	mvc_buf b = MVC_BUF_INIT;
	int error;

	if (!is_local_path(url) || url[0] == '/')
		return (*out = mvc__strdup(url)) ? 0 : MVC_ENOMEM;
	if ((real = realpath(url, NULL))) {
		*out = real;
		return 0;
	}
	if (!getcwd(cwd, sizeof(cwd)))
		return mvc__err_sys("cannot get the current directory");
	if ((error = mvc_buf_printf(&b, "%s/%s", cwd, url)) < 0)
		return error;
	normalise_path(b.ptr);
	*out = mvc_buf_detach(&b);
	return *out ? 0 : MVC_ENOMEM;
}

int mvc_remote_add(mvc_repo *repo, const char *name, const char *url)
{
	git_config *cfg = NULL;
	strv specs = { NULL, 0, 0 };
	mvc_buf text = MVC_BUF_INIT;
	char *abs = NULL, *have = NULL, q[MVC_QUOTE_MAX];
	int error;

	if ((error = mvc_remote_name_check(name)) < 0 || (error = mvc_remote_url_check(url)) < 0)
		return error;
	mvc_quote(q, sizeof(q), name);
	if ((error = config_snapshot(&cfg, repo)) < 0 ||
	    (error = config_str(&have, cfg, name, "url")) < 0)
		goto done;
	if (have) {
		error = mvc__err(MVC_EEXISTS, "a remote '%s' already exists", q);
		goto done;
	}
	if ((error = absolute_url(&abs, url)) < 0 || (error = fetch_specs(&specs, name, false)) < 0 ||
	    (error = mvc_buf_printf(&text, "[remote \"%s\"]\n\turl = \"", name)) < 0)
		goto done;
	for (const char *p = abs; *p && !error; p++)
		error = *p == '"' || *p == '\\' ? mvc_buf_printf(&text, "\\%c", *p) : mvc_buf_put(&text, p, 1);
	if (error || (error = mvc_buf_puts(&text, "\"\n")) < 0)
		goto done;
	for (size_t i = 0; i < specs.n; i++)
		if ((error = mvc_buf_printf(&text, "\tfetch = %s\n", specs.v[i])) < 0)
			goto done;
	error = config_append(repo, text.ptr);
done:
	mvc_buf_free(&text);
	git_config_free(cfg);
	strv_free(&specs);
	free(abs);
	free(have);
	return error;
}

/* Delete every remote.<name>.* key ('.*' matches every value: libgit2
 * leaks nothing on a match). */
static int config_drop_remote(git_config *cfg, const char *name)
{
	strv keys = { NULL, 0, 0 };
	mvc_buf prefix = MVC_BUF_INIT;
	int rc, error = 0;

	if ((error = mvc_buf_printf(&prefix, "remote.%s.", name)) < 0 ||
	    (error = config_keys(&keys, cfg, prefix.ptr, "")) < 0)
		goto done;
	for (size_t i = 0; i < keys.n; i++)
		if ((rc = git_config_delete_multivar(cfg, keys.v[i], ".*")) < 0 && rc != GIT_ENOTFOUND) {
			error = mvc__err_git(MVC_ERROR, "cannot remove %s from the config", keys.v[i]);
			goto done;
		}
done:
	strv_free(&keys);
	mvc_buf_free(&prefix);
	return error;
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const mvc_ref_entry *)a)->name, ((const mvc_ref_entry *)b)->name);
}

/* Every ref whose name starts with one of `prefixes`, with its target
 * (symbolic refs resolved), sorted by name. */
static int refs_under(mvc_ref_list **out, git_repository *git, const char *const *prefixes,
                      size_t np)
{
	git_reference_iterator *it = NULL;
	git_reference *ref = NULL, *res = NULL;
	mvc_ref_list *l;
	size_t cap = 0;
	int rc, error = 0;

	*out = NULL;
	if (!(l = mvc__calloc(1, sizeof(*l))))
		return MVC_ENOMEM;
	if (git_reference_iterator_new(&it, git) < 0) {
		error = mvc__err_git(MVC_ERROR, "cannot list refs");
		goto done;
	}
	while ((rc = git_reference_next(&ref, it)) == 0) {
		const char *name = git_reference_name(ref);
		bool want = false;

		for (size_t i = 0; i < np && !want; i++)
			want = has_prefix(name, prefixes[i]);
		/* a dangling symbolic ref (refs/remotes/x/HEAD) names nothing */
		if (want && git_reference_resolve(&res, ref) == 0) {
			mvc_ref_entry *e;

			if (l->count == cap) {
				size_t nc = cap ? cap * 2 : 16;
				mvc_ref_entry *ne = realloc(l->entries, nc * sizeof(*ne));

				if (!ne) {
					error = mvc__err(MVC_ENOMEM, "out of memory");
					goto done;
				}
				l->entries = ne;
				cap = nc;
			}
			e = &l->entries[l->count];
			memset(e, 0, sizeof(*e));
			if (!(e->name = mvc__strdup(name))) {
				error = MVC_ENOMEM;
				goto done;
			}
			mvc__oid_from_git(&e->target, git_reference_target(res));
			l->count++;
		}
		git_error_clear();
		git_reference_free(res);
		git_reference_free(ref);
		res = ref = NULL;
	}
	if (rc != GIT_ITEROVER) {
		error = mvc__err_git(MVC_ERROR, "cannot list refs");
		goto done;
	}
	if (l->count)
		qsort(l->entries, l->count, sizeof(*l->entries), cmp_entry);
done:
	git_reference_free(res);
	git_reference_free(ref);
	git_reference_iterator_free(it);
	if (error < 0) {
		mvc_ref_list_free(l);
		return error;
	}
	*out = l;
	return 0;
}

int mvc_remote_remove(mvc_repo *repo, const char *name)
{
	git_repository *git = mvc__repo_git(repo);
	git_config *cfg = NULL;
	mvc_remote *r = NULL;
	mvc_ref_list *refs = NULL;
	mvc_buf p1 = MVC_BUF_INIT, p2 = MVC_BUF_INIT;
	int error;

	if ((error = mvc_remote_lookup(&r, repo, name)) < 0)
		return error;
	if ((error = mvc_buf_printf(&p1, "refs/remotes/%s/", name)) < 0 ||
	    (error = mvc_buf_printf(&p2, "refs/mvc/remotes/%s/", name)) < 0)
		goto done;
	if (git_repository_config(&cfg, git) < 0) {
		error = mvc__err_git(MVC_ERROR, "cannot open the config");
		goto done;
	}
	if ((error = config_drop_remote(cfg, name)) < 0)
		goto done;
	/*
	 * Only the remote's own namespaces: whatever its refspecs say (a
	 * mirror names every ref in its refspec), local branches, tags,
	 * channels and notes are not the remote's to take away.
	 */
	if ((error = refs_under(&refs, git, (const char *const[]){ p1.ptr, p2.ptr }, 2)) < 0)
		goto done;
	for (size_t i = 0; i < refs->count; i++) {
		git_reference *ref = NULL;

		if (git_reference_lookup(&ref, git, refs->entries[i].name) == 0 &&
		    git_reference_delete(ref) < 0) {
			git_reference_free(ref);
			error = mvc__err_git(MVC_EIO, "cannot delete '%s'", refs->entries[i].name);
			goto done;
		}
		git_reference_free(ref);
		git_error_clear();
	}
	/* the symbolic refs/remotes/<name>/HEAD, which refs_under() resolves away */
	{
		git_reference *head = NULL;

		p1.len = 0;
		if ((error = mvc_buf_printf(&p1, "refs/remotes/%s/HEAD", name)) < 0)
			goto done;
		if (git_reference_lookup(&head, git, p1.ptr) == 0)
			git_reference_delete(head);
		git_reference_free(head);
		git_error_clear();
	}
done:
	mvc_ref_list_free(refs);
	git_config_free(cfg);
	mvc_remote_free(r);
	mvc_buf_free(&p1);
	mvc_buf_free(&p2);
	return error;
}

/*
 * A server made with a plain `git init --bare` has a HEAD naming "master"
 * while mvc's versions live on "main": when HEAD names a branch the clone
 * did not get, take "main" if there is one, else the only branch.
 */
static int head_fallback(git_repository *git)
{
	git_reference_iterator *it = NULL;
	git_reference *ref = NULL;
	char *only = NULL;
	size_t branches = 0;
	git_oid id;
	int error = 0;

	if (git_repository_head_unborn(git) != 1)
		return 0;
	if (ref_target(&id, git, "refs/heads/main")) {
		only = mvc__strdup("refs/heads/main");
		branches = 1;
	} else if (git_reference_iterator_glob_new(&it, git, "refs/heads/*") == 0) {
		while (git_reference_next(&ref, it) == 0) {
			if (!branches++)
				only = mvc__strdup(git_reference_name(ref));
			git_reference_free(ref);
		}
		git_reference_iterator_free(it);
	}
	if (branches == 1 && only && git_repository_set_head(git, only) < 0)
		error = mvc__err_git(MVC_EIO, "cannot point HEAD at '%s'", only);
	git_error_clear();
	free(only);
	return error;
}

int mvc_remote_clone_setup(mvc_repo *repo, const char *name)
{
	git_config *cfg = NULL;
	mvc_remote *r = NULL;
	strv specs = { NULL, 0, 0 };
	mvc_buf key = MVC_BUF_INIT;
	int32_t v;
	int rc, error;

	if ((error = mvc_remote_lookup(&r, repo, name)) < 0 ||
	    (error = fetch_specs(&specs, name, false)) < 0)
		goto done;
	if (git_repository_config(&cfg, mvc__repo_git(repo)) < 0) {
		error = mvc__err_git(MVC_ERROR, "cannot open the config");
		goto done;
	}
	/* what mvc_repo_init() sets; a format version already there is kept */
	if (git_config_get_int32(&v, cfg, "mvc.formatVersion") < 0 &&
	    git_config_set_int32(cfg, "mvc.formatVersion", MVC_FORMAT_VERSION) < 0)
		goto cfg_error;
	if (git_config_set_bool(cfg, "core.logAllRefUpdates", 1) < 0 ||
	    git_config_set_int32(cfg, "pack.window", 0) < 0 ||
	    git_config_set_int32(cfg, "pack.compression", 1) < 0)
		goto cfg_error;
	if ((error = mvc_buf_printf(&key, "remote.%s.fetch", name)) < 0)
		goto done;
	if ((rc = git_config_delete_multivar(cfg, key.ptr, ".*")) < 0 && rc != GIT_ENOTFOUND)
		goto cfg_error;
	key.len = 0;
	if ((error = mvc_buf_printf(&key, "remote.%s.mirror", name)) < 0)
		goto done;
	if ((rc = git_config_delete_entry(cfg, key.ptr)) < 0 && rc != GIT_ENOTFOUND)
		goto cfg_error;
	git_error_clear();
	key.len = 0;
	if ((error = mvc_buf_printf(&key, "[remote \"%s\"]\n", name)) < 0)
		goto done;
	for (size_t i = 0; i < specs.n; i++)
		if ((error = mvc_buf_printf(&key, "\tfetch = %s\n", specs.v[i])) < 0)
			goto done;
	if ((error = config_append(repo, key.ptr)) < 0)
		goto done;
	error = head_fallback(mvc__repo_git(repo));
	goto done;
cfg_error:
	error = mvc__err_git(MVC_ERROR, "cannot configure the clone");
done:
	git_config_free(cfg);
	mvc_remote_free(r);
	strv_free(&specs);
	mvc_buf_free(&key);
	return error;
}

int mvc_remote_refs(mvc_ref_list **out, mvc_repo *repo, const char *remote)
{
	mvc_buf p1 = MVC_BUF_INIT, p2 = MVC_BUF_INIT;
	int error;

	*out = NULL;
	if ((error = mvc_remote_name_check(remote)) < 0 ||
	    (error = mvc_buf_printf(&p1, "refs/remotes/%s/", remote)) < 0 ||
	    (error = mvc_buf_printf(&p2, "refs/mvc/remotes/%s/", remote)) < 0)
		goto done;
	error = refs_under(out, mvc__repo_git(repo),
	    (const char *const[]){ p1.ptr, p2.ptr, "refs/tags/", NOTES }, 4);
done:
	mvc_buf_free(&p1);
	mvc_buf_free(&p2);
	return error;
}

/* ---- what a push sends ---- */

/* The direct target of ref `name`; false when there is no such ref. */
static bool ref_target(git_oid *out, git_repository *git, const char *name)
{
	git_reference *ref = NULL, *res = NULL;
	bool found = false;

	if (git_reference_lookup(&ref, git, name) == 0 && git_reference_resolve(&res, ref) == 0) {
		git_oid_cpy(out, git_reference_target(res));
		found = true;
	}
	git_reference_free(res);
	git_reference_free(ref);
	git_error_clear();
	return found;
}

/*
 * Does local ref `name` (under `prefix`) hold anything that its
 * remote-tracking ref refs/mvc/remotes/<remote>/<kind>/<rest> lacks?
 */
static int ahead_of_tracking(git_repository *git, const mvc_ref_entry *e, const char *prefix,
                             const char *remote, const char *kind)
{
	mvc_buf t = MVC_BUF_INIT;
	git_oid local, theirs;
	int rc;

	mvc__oid_to_git(&local, &e->target);
	if (mvc_buf_printf(&t, "refs/mvc/remotes/%s/%s/%s", remote, kind,
	        e->name + strlen(prefix)) < 0)
		return MVC_ENOMEM;
	rc = ref_target(&theirs, git, t.ptr);
	mvc_buf_free(&t);
	if (!rc)
		return 1;
	if (git_oid_equal(&local, &theirs))
		return 0;
	/* the local ref is an ancestor of what the remote had: stale */
	rc = git_graph_descendant_of(git, &theirs, &local);
	git_error_clear();
	return rc == 1 ? 0 : 1;
}

static int default_specs(strv *s, git_repository *git, mvc_repo *repo, const char *remote)
{
	mvc_ref_list *chans = NULL, *notes = NULL, *tags = NULL;
	git_oid *tips = NULL;
	size_t ntips = 0;
	char *branch = NULL;
	int unborn, error;

	if ((error = mvc_repo_head(&branch, &unborn, repo)) < 0)
		return error;
	if (!branch) {
		error = mvc__err(MVC_EINVALID,
		    "HEAD is detached: name what to push (mvc push %s HEAD:<branch>)", remote);
		goto done;
	}
	if ((error = refs_under(&chans, git, (const char *const[]){ CHANNELS }, 1)) < 0 ||
	    (error = refs_under(&notes, git, (const char *const[]){ NOTES }, 1)) < 0 ||
	    (error = refs_under(&tags, git, (const char *const[]){ "refs/tags/" }, 1)) < 0)
		goto done;
	if (!(tips = mvc__calloc(chans->count + 1, sizeof(*tips)))) {
		error = MVC_ENOMEM;
		goto done;
	}
	if (!unborn) {
		mvc_buf h = MVC_BUF_INIT;

		if ((error = mvc_buf_printf(&h, "refs/heads/%s", branch)) < 0)
			goto done;
		if (ref_target(&tips[ntips], git, h.ptr))
			ntips++;
		mvc_buf_free(&h);
		if ((error = strv_add(s, "refs/heads/%s:refs/heads/%s", branch, branch)) < 0)
			goto done;
	}
	for (size_t i = 0; i < chans->count; i++) {
		const mvc_ref_entry *e = &chans->entries[i];

		if ((error = ahead_of_tracking(git, e, CHANNELS, remote, "channels")) < 0)
			goto done;
		if (!error)
			continue;
		mvc__oid_to_git(&tips[ntips++], &e->target);
		if ((error = strv_add(s, "%s:%s", e->name, e->name)) < 0)
			goto done;
	}
	for (size_t i = 0; i < notes->count; i++) {
		const mvc_ref_entry *e = &notes->entries[i];

		if ((error = ahead_of_tracking(git, e, NOTES, remote, "notes")) < 0)
			goto done;
		if (error && (error = strv_add(s, "%s:%s", e->name, e->name)) < 0)
			goto done;
	}
	/* the tags of versions in the history that is being pushed */
	for (size_t i = 0; i < tags->count && ntips; i++) {
		git_reference *ref = NULL;
		git_object *c = NULL;
		int reach = 0;

		if (git_reference_lookup(&ref, git, tags->entries[i].name) == 0 &&
		    git_reference_peel(&c, ref, GIT_OBJECT_COMMIT) == 0)
			reach = git_graph_reachable_from_any(git, git_object_id(c), tips, ntips);
		git_object_free(c);
		git_reference_free(ref);
		git_error_clear();
		if (reach == 1 &&
		    (error = strv_add(s, "%s:%s", tags->entries[i].name, tags->entries[i].name)) < 0)
			goto done;
	}
	error = 0;
done:
	mvc_ref_list_free(chans);
	mvc_ref_list_free(notes);
	mvc_ref_list_free(tags);
	free(tips);
	free(branch);
	return error;
}

enum { SRC_HEADS, SRC_TAGS, SRC_CHANNELS, SRC_OTHER, SRC_ID };

static const char *kind_prefix(int kind)
{
	switch (kind) {
	case SRC_TAGS: return "refs/tags/";
	case SRC_CHANNELS: return CHANNELS;
	case SRC_OTHER: return NULL;
	default: return "refs/heads/";
	}
}

static int ref_kind(const char *ref)
{
	return has_prefix(ref, "refs/heads/") ? SRC_HEADS : has_prefix(ref, "refs/tags/") ? SRC_TAGS
	    : has_prefix(ref, CHANNELS) ? SRC_CHANNELS : SRC_OTHER;
}

static bool ref_exists(git_repository *git, const char *name)
{
	git_oid id;

	return ref_target(&id, git, name);
}

/* The source of a push spec as a full ref or an id, and its kind. */
static int qualify_src(mvc_buf *out, int *kind, git_repository *git, mvc_repo *repo,
                       const char *src, const char *spec)
{
	static const char *const prefixes[] = { "refs/heads/", "refs/tags/", CHANNELS };
	char q[MVC_QUOTE_MAX], hex[MVC_OID_HEXSZ + 1];
	git_commit *c = NULL;
	int error;

	mvc_quote(q, sizeof(q), spec);
	if (!strcmp(src, "HEAD") || !strcmp(src, "@")) {
		char *branch = NULL;
		int unborn;

		if ((error = mvc_repo_head(&branch, &unborn, repo)) < 0)
			return error;
		if (branch && unborn) {
			free(branch);
			return mvc__err(MVC_ENOTFOUND, "'%s': no version committed yet", q);
		}
		if (branch) {
			*kind = SRC_HEADS;
			error = mvc_buf_printf(out, "refs/heads/%s", branch);
			free(branch);
			return error;
		}
		/* detached: the version itself */
	} else if (has_prefix(src, "refs/")) {
		*kind = ref_kind(src);
		if (!strchr(src, '*') && !ref_exists(git, src))
			return mvc__err(MVC_ENOTFOUND, "'%s': there is no ref '%s' to push", q, src);
		return mvc_buf_puts(out, src);
	} else if (strchr(src, '*')) {
		return mvc__err(MVC_EINVALID,
		    "'%s': a pattern must name full refs (refs/heads/sites/*:refs/heads/sites/*)", q);
	} else {
		for (size_t i = 0; i < MVC_ARRAY_SIZE(prefixes); i++) {
			out->len = 0;
			if ((error = mvc_buf_printf(out, "%s%s", prefixes[i], src)) < 0)
				return error;
			if (ref_exists(git, out->ptr)) {
				*kind = (int)i;   /* SRC_HEADS, SRC_TAGS, SRC_CHANNELS in order */
				return 0;
			}
		}
		out->len = 0;
	}
	/* any other revision travels by id */
	if ((error = mvc__resolve(&c, git, src)) < 0)
		return error;
	git_oid_tostr(hex, sizeof(hex), git_commit_id(c));
	git_commit_free(c);
	*kind = SRC_ID;
	out->len = 0;
	return mvc_buf_puts(out, hex);
}

static int qualify_spec(strv *s, git_repository *git, mvc_repo *repo, const char *spec)
{
	const char *p = spec, *colon;
	mvc_buf src = MVC_BUF_INIT, dst = MVC_BUF_INIT, raw = MVC_BUF_INIT;
	char q[MVC_QUOTE_MAX];
	bool force = false;
	int kind = SRC_HEADS, valid = 0, error;

	mvc_quote(q, sizeof(q), spec);
	if (*p == '+') {
		force = true;
		p++;
	}
	if (!*p || *p == '-')
		return mvc__err(MVC_EINVALID, "'%s' is not a refspec", q);
	colon = strchr(p, ':');
	if ((error = mvc_buf_put(&raw, p, colon ? (size_t)(colon - p) : strlen(p))) < 0)
		goto done;
	if (colon && !colon[1]) {
		error = mvc__err(MVC_EINVALID, "'%s' names no destination", q);
		goto done;
	}
	if (colon == p) {
		/* ":dst" deletes dst on the remote */
		const char *d = colon + 1;

		if ((error = has_prefix(d, "refs/") ? mvc_buf_puts(&dst, d)
		                                    : mvc_buf_printf(&dst, "refs/heads/%s", d)) < 0)
			goto done;
	} else {
		if ((error = qualify_src(&src, &kind, git, repo, raw.ptr, spec)) < 0)
			goto done;
		if (!colon) {
			if (kind == SRC_ID) {
				error = mvc__err(MVC_EINVALID,
				    "'%s' is not a branch, tag or channel: say where it goes (%s:<branch>)", q, q);
				goto done;
			}
			error = mvc_buf_puts(&dst, src.ptr);
		} else if (has_prefix(colon + 1, "refs/")) {
			error = mvc_buf_puts(&dst, colon + 1);
		} else if (!kind_prefix(kind)) {
			error = mvc__err(MVC_EINVALID, "'%s': say the full ref to push to (refs/...)", q);
		} else {
			error = mvc_buf_printf(&dst, "%s%s", kind_prefix(kind), colon + 1);
		}
		if (error < 0)
			goto done;
		if ((strchr(src.ptr, '*') != NULL) != (strchr(dst.ptr, '*') != NULL)) {
			error = mvc__err(MVC_EINVALID, "'%s': both sides or neither must be patterns", q);
			goto done;
		}
	}
	if (!strchr(dst.ptr, '*') && (git_reference_name_is_valid(&valid, dst.ptr) < 0 || !valid)) {
		git_error_clear();
		error = mvc__err(MVC_EINVALID, "'%s': '%s' is not a valid ref name", q, dst.ptr);
		goto done;
	}
	error = strv_add(s, "%s%s:%s", force ? "+" : "", src.ptr ? src.ptr : "", dst.ptr);
done:
	mvc_buf_free(&src);
	mvc_buf_free(&dst);
	mvc_buf_free(&raw);
	return error;
}

int mvc_remote_push_refspecs(char ***out, size_t *count, mvc_repo *repo, const char *remote,
                             const char *const *specs, size_t nspecs)
{
	git_repository *git = mvc__repo_git(repo);
	strv s = { NULL, 0, 0 };
	int error = 0;

	*out = NULL;
	*count = 0;
	if ((error = mvc_remote_name_check(remote)) < 0)
		return error;
	if (!nspecs)
		error = default_specs(&s, git, repo, remote);
	for (size_t i = 0; i < nspecs && !error; i++)
		error = qualify_spec(&s, git, repo, specs[i]);
	if (error < 0) {
		strv_free(&s);
		return error;
	}
	*out = s.v;
	*count = s.n;
	return 0;
}

/* ---- notes ---- */

typedef struct line {
	const char *p;
	size_t n;
} line;

static int cmp_line(const void *a, const void *b)
{
	const line *x = a, *y = b;
	int c = memcmp(x->p, y->p, x->n < y->n ? x->n : y->n);

	return c ? c : (x->n > y->n) - (x->n < y->n);
}

/* By position in the note (all lines of one note share its buffer). */
static int cmp_pos(const void *a, const void *b)
{
	const line *x = a, *y = b;

	return (x->p > y->p) - (x->p < y->p);
}

/* By content, then by position. */
static int cmp_line_pos(const void *a, const void *b)
{
	int c = cmp_line(a, b);

	return c ? c : cmp_pos(a, b);
}

static size_t split_lines(line *v, const char *s, size_t len)
{
	size_t n = 0, i = 0;

	while (i < len) {
		const char *nl = memchr(s + i, '\n', len - i);
		size_t e = nl ? (size_t)(nl - s) : len;

		v[n].p = s + i;
		v[n].n = e - i;
		n++;
		i = e + 1;
	}
	return n;
}

static size_t count_lines(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += s[i] == '\n';
	return n + (len && s[len - 1] != '\n');
}

int mvc__notes_union(mvc_buf *out, const char *a, size_t alen, const char *b, size_t blen)
{
	size_t na = count_lines(a, alen), nb = count_lines(b, blen), nadd = 0;
	line *la = NULL, *lb = NULL, *add = NULL;
	int error = 0;

	if ((na && !(la = mvc__calloc(na, sizeof(*la)))) ||
	    (nb && !(lb = mvc__calloc(nb, sizeof(*lb)))) ||
	    (nb && !(add = mvc__calloc(nb, sizeof(*add))))) {
		error = MVC_ENOMEM;
		goto done;
	}
	na = split_lines(la, a, alen);
	nb = split_lines(lb, b, blen);
	if ((error = mvc_buf_put(out, a, alen)) < 0 ||
	    (alen && a[alen - 1] != '\n' && (error = mvc_buf_puts(out, "\n")) < 0))
		goto done;
	if (na)
		qsort(la, na, sizeof(*la), cmp_line);
	/* b's lines that a lacks */
	for (size_t i = 0; i < nb; i++)
		if (lb[i].n && !(na && bsearch(&lb[i], la, na, sizeof(*la), cmp_line)))
			add[nadd++] = lb[i];
	/* each once, where it first appears in b: sort by content then
	 * position, blank out every later copy, then restore b's order */
	if (nadd) {
		size_t j = 0;

		qsort(add, nadd, sizeof(*add), cmp_line_pos);
		for (size_t i = 0; i < nadd; i++)
			if (j == 0 || cmp_line(&add[i], &add[j - 1]))
				add[j++] = add[i];
		nadd = j;
		qsort(add, nadd, sizeof(*add), cmp_pos);
	}
	for (size_t i = 0; i < nadd && !error; i++)
		if (!(error = mvc_buf_put(out, add[i].p, add[i].n)))
			error = mvc_buf_puts(out, "\n");
done:
	free(la);
	free(lb);
	free(add);
	return error;
}

typedef struct note_pair {
	git_oid obj, blob;
} note_pair;

static int cmp_note(const void *a, const void *b)
{
	return git_oid_cmp(&((const note_pair *)a)->obj, &((const note_pair *)b)->obj);
}

/* The notes of notes commit `id`, sorted by the object they annotate. */
static int read_notes(note_pair **out, size_t *n, git_repository *git, const git_oid *id)
{
	git_commit *c = NULL;
	git_note_iterator *it = NULL;
	note_pair *v = NULL;
	size_t cap = 0;
	git_oid blob, obj;
	int rc, error = 0;

	*out = NULL;
	*n = 0;
	if (git_commit_lookup(&c, git, id) < 0)
		return mvc__err_git(MVC_ECORRUPT, "cannot read notes commit %.12s", git_oid_tostr_s(id));
	if ((rc = git_note_commit_iterator_new(&it, c)) < 0) {
		git_commit_free(c);
		if (rc == GIT_ENOTFOUND) {   /* an empty notes tree */
			git_error_clear();
			return 0;
		}
		return mvc__err_git(MVC_ECORRUPT, "cannot read notes commit %.12s", git_oid_tostr_s(id));
	}
	while ((rc = git_note_next(&blob, &obj, it)) == 0) {
		if (*n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			note_pair *nv = realloc(v, nc * sizeof(*nv));

			if (!nv) {
				error = mvc__err(MVC_ENOMEM, "out of memory");
				goto done;
			}
			v = nv;
			cap = nc;
		}
		git_oid_cpy(&v[*n].obj, &obj);
		git_oid_cpy(&v[*n].blob, &blob);
		(*n)++;
	}
	if (rc != GIT_ITEROVER) {
		error = mvc__err_git(MVC_ECORRUPT, "cannot read notes commit %.12s", git_oid_tostr_s(id));
		goto done;
	}
	if (*n)
		qsort(v, *n, sizeof(*v), cmp_note);
done:
	git_note_iterator_free(it);
	git_commit_free(c);
	if (error < 0) {
		free(v);
		*n = 0;
		return error;
	}
	*out = v;
	return 0;
}

/* A note's text, refused beyond MVC_NOTE_MAX before it is read. */
static int read_note(git_blob **out, git_repository *git, const git_oid *blob, const git_oid *obj)
{
	git_odb *odb = NULL;
	git_object_t type;
	size_t len = 0;
	int rc;

	*out = NULL;
	if (git_repository_odb(&odb, git) < 0)
		return mvc__err_git(MVC_ERROR, "cannot open the object database");
	rc = git_odb_read_header(&len, &type, odb, blob);
	git_odb_free(odb);
	if (rc < 0 || type != GIT_OBJECT_BLOB)
		return mvc__err_git(MVC_ECORRUPT, "cannot read the note on %s", git_oid_tostr_s(obj));
	if (len > MVC_NOTE_MAX)
		return mvc__err(MVC_ECORRUPT, "the note on %s is %zu bytes (at most %zu are read)",
		    git_oid_tostr_s(obj), len, MVC_NOTE_MAX);
	if (git_blob_lookup(out, git, blob) < 0)
		return mvc__err_git(MVC_ECORRUPT, "cannot read the note on %s", git_oid_tostr_s(obj));
	return 0;
}

/* Both notes united, as a new blob in `out`. */
static int union_blob(git_oid *out, git_repository *git, const note_pair *a, const note_pair *b)
{
	git_blob *ba = NULL, *bb = NULL;
	mvc_buf u = MVC_BUF_INIT;
	int error;

	if ((error = read_note(&ba, git, &a->blob, &a->obj)) < 0 ||
	    (error = read_note(&bb, git, &b->blob, &b->obj)) < 0 ||
	    (error = mvc__notes_union(&u, git_blob_rawcontent(ba), (size_t)git_blob_rawsize(ba),
	         git_blob_rawcontent(bb), (size_t)git_blob_rawsize(bb))) < 0)
		goto done;
	if (git_blob_create_from_buffer(out, git, u.ptr ? u.ptr : "", u.len) < 0)
		error = mvc__err_git(MVC_EIO, "cannot write a merged note");
done:
	git_blob_free(ba);
	git_blob_free(bb);
	mvc_buf_free(&u);
	return error;
}

/*
 * The merge commit of notes commits `local` and `theirs`: every note of
 * either, united where both have one.  The tree is flat (one entry per
 * annotated object), which git and libgit2 read as they read fan-outs.
 */
static int merge_commit(git_oid *out, size_t *added, size_t *combined, git_repository *git,
                        const git_oid *local, const git_oid *theirs, const char *localref,
                        const char *remote)
{
	note_pair *a = NULL, *b = NULL;
	size_t na = 0, nb = 0, i = 0, j = 0;
	git_treebuilder *tb = NULL;
	git_tree *tree = NULL;
	git_commit *pa = NULL, *pb = NULL;
	git_signature *sig = NULL;
	mvc_buf msg = MVC_BUF_INIT;
	git_oid tree_id;
	int error;

	*added = *combined = 0;
	if ((error = read_notes(&a, &na, git, local)) < 0 ||
	    (error = read_notes(&b, &nb, git, theirs)) < 0)
		goto done;
	if (git_treebuilder_new(&tb, git, NULL) < 0) {
		error = mvc__err_git(MVC_ERROR, "cannot merge notes");
		goto done;
	}
	while (i < na || j < nb) {
		int c = i == na ? 1 : j == nb ? -1 : git_oid_cmp(&a[i].obj, &b[j].obj);
		const git_oid *obj = c <= 0 ? &a[i].obj : &b[j].obj;
		git_oid blob;

		if (c < 0) {
			git_oid_cpy(&blob, &a[i++].blob);
		} else if (c > 0) {
			git_oid_cpy(&blob, &b[j++].blob);
			(*added)++;
		} else {
			if (git_oid_equal(&a[i].blob, &b[j].blob)) {
				git_oid_cpy(&blob, &a[i].blob);
			} else {
				if ((error = union_blob(&blob, git, &a[i], &b[j])) < 0)
					goto done;
				if (!git_oid_equal(&blob, &a[i].blob))
					(*combined)++;
			}
			i++;
			j++;
		}
		if (git_treebuilder_insert(NULL, tb, git_oid_tostr_s(obj), &blob, GIT_FILEMODE_BLOB) < 0) {
			error = mvc__err_git(MVC_ERROR, "cannot merge notes");
			goto done;
		}
	}
	if (git_treebuilder_write(&tree_id, tb) < 0 || git_tree_lookup(&tree, git, &tree_id) < 0 ||
	    git_commit_lookup(&pa, git, local) < 0 || git_commit_lookup(&pb, git, theirs) < 0 ||
	    mvc__signature(&sig, git) < 0) {
		error = mvc__err_git(MVC_EIO, "cannot write the merged notes");
		goto done;
	}
	if ((error = mvc_buf_printf(&msg,
	         "Merge the notes of %s into %s\n\nA union: every note of both sides, the lines of "
	         "notes both sides wrote differently put together.\n", remote, localref)) < 0)
		goto done;
	if (git_commit_create(out, git, NULL, sig, sig, NULL, msg.ptr, tree, 2,
	        (const git_commit *[]){ pa, pb }) < 0)
		error = mvc__err_git(MVC_EIO, "cannot write the merged notes");
done:
	free(a);
	free(b);
	git_treebuilder_free(tb);
	git_tree_free(tree);
	git_commit_free(pa);
	git_commit_free(pb);
	git_signature_free(sig);
	mvc_buf_free(&msg);
	return error;
}

/* Merge notes ref `theirs_ref` (a remote-tracking one) into `localref`. */
static int merge_notes_ref(mvc_notes_merge_entry *e, git_repository *git, const char *localref,
                           const char *theirs_ref, const char *remote)
{
	git_reference *ref = NULL;
	mvc_buf why = MVC_BUF_INIT;
	git_oid theirs, local, merged;
	int rc, error = 0;

	if ((error = mvc_buf_printf(&why, "mvc fetch: notes of %s", remote)) < 0)
		return error;
	for (unsigned attempt = 0;; attempt++) {
		if (attempt >= MVC_CAS_ATTEMPTS) {
			error = mvc__err(MVC_ECONFLICT, "'%s' kept moving while its notes were merged", localref);
			break;
		}
		if (attempt)
			mvc__backoff(attempt);
		if (!ref_target(&theirs, git, theirs_ref))
			break;   /* gone meanwhile: nothing to merge */
		if (!ref_target(&local, git, localref)) {
			rc = git_reference_create(&ref, git, localref, &theirs, 0, why.ptr);
			git_reference_free(ref);
			ref = NULL;
			if (rc == GIT_EEXISTS || rc == GIT_ELOCKED)
				continue;
			if (rc < 0) {
				error = mvc__err_git(MVC_EIO, "cannot create '%s'", localref);
				break;
			}
			e->kind = MVC_NOTES_CREATED;
			git_oid_cpy(&merged, &theirs);
		} else if (git_oid_equal(&local, &theirs) ||
		           git_graph_descendant_of(git, &local, &theirs) == 1) {
			e->kind = MVC_NOTES_UP_TO_DATE;
			git_oid_cpy(&merged, &local);
		} else {
			bool ff = git_graph_descendant_of(git, &theirs, &local) == 1;

			git_error_clear();
			if (ff) {
				git_oid_cpy(&merged, &theirs);
			} else if ((error = merge_commit(&merged, &e->added, &e->combined, git, &local,
			                &theirs, localref, remote)) < 0) {
				break;
			}
			rc = git_reference_create_matching(&ref, git, localref, &merged, 1, &local, why.ptr);
			git_reference_free(ref);
			ref = NULL;
			if (rc == GIT_EMODIFIED || rc == GIT_ELOCKED || rc == GIT_EEXISTS)
				continue;
			if (rc < 0) {
				error = mvc__err_git(MVC_EIO, "cannot update '%s'", localref);
				break;
			}
			e->kind = ff ? MVC_NOTES_FAST_FORWARD : MVC_NOTES_MERGED;
		}
		mvc__oid_from_git(&e->id, &merged);
		break;
	}
	git_error_clear();
	mvc_buf_free(&why);
	return error;
}

void mvc_notes_merge_result_free(mvc_notes_merge_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->count; i++)
		free(r->entries[i].ref);
	free(r->entries);
	free(r);
}

int mvc_remote_notes_merge(mvc_notes_merge_result **out, mvc_repo *repo, const char *remote)
{
	git_repository *git = mvc__repo_git(repo);
	mvc_notes_merge_result *r = NULL;
	mvc_ref_list *theirs = NULL;
	mvc_buf prefix = MVC_BUF_INIT;
	int error;

	if (out)
		*out = NULL;
	if ((error = mvc_remote_name_check(remote)) < 0 ||
	    (error = mvc_buf_printf(&prefix, "refs/mvc/remotes/%s/notes/", remote)) < 0 ||
	    (error = refs_under(&theirs, git, (const char *const[]){ prefix.ptr }, 1)) < 0)
		goto done;
	if (!(r = mvc__calloc(1, sizeof(*r))) ||
	    (theirs->count && !(r->entries = mvc__calloc(theirs->count, sizeof(*r->entries))))) {
		error = MVC_ENOMEM;
		goto done;
	}
	for (size_t i = 0; i < theirs->count; i++) {
		mvc_notes_merge_entry *e = &r->entries[r->count];
		mvc_buf local = MVC_BUF_INIT;
		int valid = 0;

		if ((error = mvc_buf_printf(&local, NOTES "%s", theirs->entries[i].name + prefix.len)) < 0)
			goto done;
		if (git_reference_name_is_valid(&valid, local.ptr) < 0 || !valid) {
			git_error_clear();
			mvc_buf_free(&local);
			continue;
		}
		e->ref = mvc_buf_detach(&local);
		r->count++;
		if (!e->ref) {
			error = mvc__err(MVC_ENOMEM, "out of memory");
			goto done;
		}
		if ((error = merge_notes_ref(e, git, e->ref, theirs->entries[i].name, remote)) < 0)
			goto done;
	}
done:
	mvc_ref_list_free(theirs);
	mvc_buf_free(&prefix);
	if (error < 0 || !out) {
		mvc_notes_merge_result_free(r);
		return error;
	}
	*out = r;
	return 0;
}

/* ---- pull ---- */

void mvc_pull_result_clear(mvc_pull_result *r)
{
	if (!r)
		return;
	free(r->branch);
	free(r->upstream);
	memset(r, 0, sizeof(*r));
}

int mvc_remote_pull(mvc_pull_result *out, mvc_repo *repo, const char *remote, const char *branch,
                    const mvc_pull_options *opts)
{
	git_repository *git = mvc__repo_git(repo);
	mvc_checkout_options co = MVC_CHECKOUT_OPTIONS_INIT;
	git_reference *ref = NULL;
	mvc_buf up = MVC_BUF_INIT, head = MVC_BUF_INIT;
	char *cur = NULL, hex[MVC_OID_HEXSZ + 1], q[MVC_QUOTE_MAX], q2[MVC_QUOTE_MAX];
	git_oid theirs, mine;
	int unborn, valid = 0, rc, error;

	memset(out, 0, sizeof(*out));
	if (!opts || opts->version != MVC_PULL_OPTIONS_VERSION)
		return mvc__err(MVC_EINVALID, "bad pull options version");
	if ((error = mvc_remote_name_check(remote)) < 0 || (error = mvc_repo_head(&cur, &unborn, repo)) < 0)
		return error;
	if (!cur) {
		error = mvc__err(MVC_EINVALID, "HEAD is detached: switch to the branch to pull into");
		goto done;
	}
	if (!branch)
		branch = cur;
	mvc_quote(q, sizeof(q), branch);
	if ((error = mvc_buf_printf(&up, "refs/remotes/%s/%s", remote, branch)) < 0 ||
	    (error = mvc_buf_printf(&head, "refs/heads/%s", cur)) < 0)
		goto done;
	if (git_reference_name_is_valid(&valid, up.ptr) < 0 || !valid) {
		git_error_clear();
		error = mvc__err(MVC_EINVALID, "'%s' is not a valid branch name", q);
		goto done;
	}
	if (!(out->branch = mvc__strdup(cur)) || !(out->upstream = mvc__strdup(up.ptr))) {
		error = MVC_ENOMEM;
		goto done;
	}
	if (!ref_target(&theirs, git, up.ptr)) {
		error = mvc__err(MVC_ENOTFOUND, "remote '%s' has no branch '%s' (as of the last fetch)",
		    mvc_quote(q2, sizeof(q2), remote), q);
		goto done;
	}
	mvc__oid_from_git(&out->to, &theirs);
	if (!unborn) {
		if (!ref_target(&mine, git, head.ptr)) {
			error = mvc__err(MVC_ERROR, "cannot read branch '%s'", mvc_quote(q2, sizeof(q2), cur));
			goto done;
		}
		out->has_from = 1;
		mvc__oid_from_git(&out->from, &mine);
		if (git_oid_equal(&mine, &theirs) || git_graph_descendant_of(git, &mine, &theirs) == 1) {
			out->to = out->from;   /* up to date: nothing moves */
			goto done;
		}
		if (git_graph_descendant_of(git, &theirs, &mine) != 1) {
			git_error_clear();
			error = mvc__err(MVC_EREFUSED,
			    "not a fast-forward: '%s' has versions that %s/%s lacks, and the other way "
			    "round; mvc never merges on its own (combine them with 'mvc aggregate "
			    "%s %s/%s', or start a branch there: 'mvc switch -c <name> %s/%s'); "
			    "nothing was changed",
			    mvc_quote(q2, sizeof(q2), cur), remote, q, cur, remote, q, remote, q);
			goto done;
		}
	}
	/* the files first: a refusal leaves the branch where it was */
	git_oid_tostr(hex, sizeof(hex), &theirs);
	co.force = opts->force;
	co.progress = opts->progress;
	co.progress_payload = opts->progress_payload;
	if ((error = mvc_checkout_paths(repo, hex, NULL, 0, &co)) < 0)
		goto done;
	if (unborn)
		rc = git_reference_create(&ref, git, head.ptr, &theirs, 0, "mvc pull: created");
	else
		rc = git_reference_create_matching(&ref, git, head.ptr, &theirs, 1, &mine,
		    "mvc pull: fast-forward");
	if (rc == GIT_EMODIFIED || rc == GIT_ELOCKED || rc == GIT_EEXISTS) {
		error = mvc__err(MVC_ECONFLICT,
		    "branch '%s' moved while pulling (another process?); its files were written but "
		    "the branch was left where the other writer put it", mvc_quote(q2, sizeof(q2), cur));
		goto done;
	}
	if (rc < 0) {
		error = mvc__err_git(MVC_EIO, "cannot move branch '%s'", mvc_quote(q2, sizeof(q2), cur));
		goto done;
	}
	out->moved = 1;
done:
	git_reference_free(ref);
	mvc_buf_free(&up);
	mvc_buf_free(&head);
	free(cur);
	return error;
}
