/*
 * Keys, signed commits and their verification.  The signature format is
 * described in include/mvc/sign.h, the key file format in mvc-key(1).
 *
 * Secrets (the seed, the expanded secret key, a passphrase-derived key,
 * the text of a key file) live only in sodium_malloc() memory, which is
 * locked, guarded and wiped when freed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>
#include "internal.h"

#define SEED_SIZE crypto_sign_SEEDBYTES
#define PK_SIZE crypto_sign_PUBLICKEYBYTES
#define SK_SIZE crypto_sign_SECRETKEYBYTES
#define SIG_SIZE crypto_sign_BYTES
#define SALT_SIZE crypto_pwhash_SALTBYTES
#define NONCE_SIZE crypto_secretbox_NONCEBYTES
#define SEALED_SIZE (crypto_secretbox_MACBYTES + SEED_SIZE)
/* A key file is a few hundred bytes; anything larger is not one. */
#define KEYFILE_MAX 4096
#define TRUSTED_MAX ((size_t)1 << 20)
#define B64 sodium_base64_VARIANT_ORIGINAL

struct mvc_key {
	unsigned char *secret;   /* sodium_malloc: seed, then the expanded secret key */
	unsigned char pk[PK_SIZE];
	char id[MVC_KEY_ID_HEXSZ + 1];
	char *name;
};

#define KEY_SEED(k) ((k)->secret)
#define KEY_SK(k) ((k)->secret + SEED_SIZE)

static void key_id(char out[MVC_KEY_ID_HEXSZ + 1], const unsigned char pk[PK_SIZE])
{
	unsigned char d[MVC_DIGEST_SIZE];

	mvc_blake2b(d, pk, PK_SIZE);
	sodium_bin2hex(out, MVC_KEY_ID_HEXSZ + 1, d, MVC_KEY_ID_HEXSZ / 2);
}

static int name_check(const char *name)
{
	char q[MVC_QUOTE_MAX];
	size_t len = name ? strlen(name) : 0;

	if (!len)
		return mvc__err(MVC_EINVALID, "a key needs a name");
	if (len > MVC_KEY_NAME_MAX)
		return mvc__err(MVC_EINVALID, "key name '%s' is longer than %d bytes",
		    mvc_quote(q, sizeof(q), name), MVC_KEY_NAME_MAX);
	for (const char *p = name; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return mvc__err(MVC_EINVALID,
			    "key name '%s' must not hold white space or control characters",
			    mvc_quote(q, sizeof(q), name));
	return 0;
}

void mvc_key_free(mvc_key *key)
{
	if (!key)
		return;
	sodium_free(key->secret); /* wipes it */
	free(key->name);
	free(key);
}

/* A key with room for its secret; the caller fills in the seed. */
static int key_alloc(mvc_key **out, const char *name)
{
	mvc_key *k;
	int error;

	*out = NULL;
	if ((error = mvc__global_init()) < 0 || (error = name_check(name)) < 0)
		return error;
	if (!(k = mvc__calloc(1, sizeof(*k))))
		return MVC_ENOMEM;
	if (!(k->secret = sodium_malloc(SEED_SIZE + SK_SIZE)) || !(k->name = mvc__strdup(name))) {
		mvc_key_free(k);
		return mvc__err(MVC_ENOMEM, "cannot allocate locked memory for a key");
	}
	*out = k;
	return 0;
}

/* Expand the seed into the key pair. */
static int key_expand(mvc_key *k)
{
	if (crypto_sign_seed_keypair(k->pk, KEY_SK(k), KEY_SEED(k)) != 0)
		return mvc__err(MVC_ERROR, "cannot derive the key pair");
	key_id(k->id, k->pk);
	return 0;
}

int mvc_key_generate(mvc_key **out, const char *name)
{
	int error;

	if ((error = key_alloc(out, name)) < 0)
		return error;
	randombytes_buf(KEY_SEED(*out), SEED_SIZE);
	if ((error = key_expand(*out)) < 0) {
		mvc_key_free(*out);
		*out = NULL;
	}
	return error;
}

const char *mvc_key_id(const mvc_key *key)
{
	return key->id;
}

const char *mvc_key_name(const mvc_key *key)
{
	return key->name;
}

int mvc_key_sign(unsigned char sig[64], const mvc_key *key, const void *data, size_t len)
{
	if (crypto_sign_detached(sig, NULL, data, len, KEY_SK(key)) != 0)
		return mvc__err(MVC_ERROR, "cannot sign");
	return 0;
}

/* ---- base64 ---- */

static int b64_put(mvc_buf *b, const unsigned char *bin, size_t len)
{
	size_t n = sodium_base64_ENCODED_LEN(len, B64);
	int error;

	if ((error = mvc_buf_grow(b, n)) < 0)
		return error;
	sodium_bin2base64(b->ptr + b->len, n, bin, len, B64);
	b->len += n - 1;
	return 0;
}

/* Exactly `want` bytes from `len` characters of base64; -1 otherwise. */
static int b64_get(unsigned char *out, size_t want, const char *s, size_t len)
{
	size_t binlen = 0;
	const char *end = NULL;

	if (len != sodium_base64_ENCODED_LEN(want, B64) - 1 ||
	    sodium_base642bin(out, want, s, len, NULL, &binlen, &end, B64) != 0 ||
	    binlen != want || end != s + len)
		return -1;
	return 0;
}

int mvc_key_public_line(char **out, const mvc_key *key)
{
	mvc_buf b = MVC_BUF_INIT;
	int error;

	*out = NULL;
	if ((error = mvc_buf_printf(&b, "%s ", MVC_KEY_ALGORITHM)) < 0 ||
	    (error = b64_put(&b, key->pk, PK_SIZE)) < 0 ||
	    (error = mvc_buf_printf(&b, " %s", key->name)) < 0) {
		mvc_buf_free(&b);
		return error;
	}
	*out = mvc_buf_detach(&b);
	return 0;
}

/* ---- key files ---- */

/*
 *   mvc-secret-key v1 plain                 mvc-secret-key v1 argon2id <ops> <mem>
 *   name <name>                             name <name>
 *   public <base64, 32 bytes>               public <base64, 32 bytes>
 *   secret <base64 seed, 32 bytes>          salt <base64, 16 bytes>
 *                                           nonce <base64, 24 bytes>
 *                                           secret <base64 sealed seed, 48 bytes>
 */
#define KEYFILE_MAGIC "mvc-secret-key v1 "

typedef struct keyfile {
	int sealed;
	unsigned long long ops;
	size_t mem;
	char name[MVC_KEY_NAME_MAX + 1];
	unsigned char pk[PK_SIZE];
	unsigned char salt[SALT_SIZE], nonce[NONCE_SIZE], box[SEALED_SIZE];
} keyfile;

/* The next line of text[*pos..len), without its newline; NULL at the end. */
static const char *next_line(size_t *linelen, const char *text, size_t len, size_t *pos)
{
	const char *s = text + *pos, *nl;

	if (*pos >= len)
		return NULL;
	nl = memchr(s, '\n', len - *pos);
	*linelen = nl ? (size_t)(nl - s) : len - *pos;
	*pos += *linelen + (nl != NULL);
	return s;
}

/* Line `field` <value>: the value, or NULL. */
static const char *field(size_t *vlen, const char *line, size_t linelen, const char *name)
{
	size_t n = strlen(name);

	if (linelen <= n + 1 || memcmp(line, name, n) || line[n] != ' ')
		return NULL;
	*vlen = linelen - n - 1;
	return line + n + 1;
}

/*
 * Parse a key file.  The clear seed of an unprotected key goes to `seed`
 * (locked memory; NULL: not wanted).
 */
static int keyfile_parse(keyfile *kf, unsigned char *seed, const char *text, size_t len,
                         const char *path)
{
	static const char *const plain_fields[] = { "name", "public", "secret" };
	static const char *const sealed_fields[] = { "name", "public", "salt", "nonce", "secret" };
	const char *const *fields;
	size_t pos = 0, ll, vl, nfields;
	const char *line, *v;
	char q[MVC_QUOTE_MAX];

	memset(kf, 0, sizeof(*kf));
	mvc_quote(q, sizeof(q), path);
	if (!(line = next_line(&ll, text, len, &pos)) || ll < strlen(KEYFILE_MAGIC) ||
	    memcmp(line, KEYFILE_MAGIC, strlen(KEYFILE_MAGIC)))
		return mvc__err(MVC_EFORMAT, "'%s' is not an mvc secret key (no 'mvc-secret-key v1' line)",
		    q);
	line += strlen(KEYFILE_MAGIC);
	ll -= strlen(KEYFILE_MAGIC);
	if (ll == 5 && !memcmp(line, "plain", 5)) {
		kf->sealed = 0;
	} else if (ll > 9 && !memcmp(line, "argon2id ", 9)) {
		char buf[64], *end;
		unsigned long long mem;

		if (ll - 9 >= sizeof(buf))
			return mvc__err(MVC_EFORMAT, "'%s': bad argon2id parameters", q);
		memcpy(buf, line + 9, ll - 9);
		buf[ll - 9] = '\0';
		errno = 0;
		kf->ops = strtoull(buf, &end, 10);
		if (errno || *end != ' ' || buf[0] == '-')
			return mvc__err(MVC_EFORMAT, "'%s': bad argon2id parameters", q);
		mem = strtoull(end + 1, &end, 10);
		if (errno || *end || end[-1] == ' ')
			return mvc__err(MVC_EFORMAT, "'%s': bad argon2id parameters", q);
		/* untrusted numbers: a forged file must not make us allocate wildly */
		if (kf->ops < crypto_pwhash_OPSLIMIT_MIN || kf->ops > crypto_pwhash_OPSLIMIT_SENSITIVE ||
		    mem < crypto_pwhash_MEMLIMIT_MIN || mem > crypto_pwhash_MEMLIMIT_SENSITIVE)
			return mvc__err(MVC_EFORMAT, "'%s': argon2id parameters out of range", q);
		kf->mem = (size_t)mem;
		kf->sealed = 1;
	} else {
		return mvc__err(MVC_EUNSUPPORTED, "'%s': unknown key protection '%.*s'", q,
		    (int)(ll > 32 ? 32 : ll), line);
	}
	fields = kf->sealed ? sealed_fields : plain_fields;
	nfields = kf->sealed ? MVC_ARRAY_SIZE(sealed_fields) : MVC_ARRAY_SIZE(plain_fields);
	for (size_t i = 0; i < nfields; i++) {
		int bad;

		if (!(line = next_line(&ll, text, len, &pos)) || !(v = field(&vl, line, ll, fields[i])))
			return mvc__err(MVC_EFORMAT, "'%s': line %zu should be the key's %s", q, i + 2,
			    fields[i]);
		if (!strcmp(fields[i], "name")) {
			if (vl > MVC_KEY_NAME_MAX)
				return mvc__err(MVC_EFORMAT, "'%s': the name is too long", q);
			memcpy(kf->name, v, vl);
			kf->name[vl] = '\0';
			if (name_check(kf->name) < 0)
				return mvc__err(MVC_EFORMAT, "'%s': bad key name", q);
			continue;
		}
		if (!strcmp(fields[i], "public"))
			bad = b64_get(kf->pk, PK_SIZE, v, vl);
		else if (!strcmp(fields[i], "salt"))
			bad = b64_get(kf->salt, SALT_SIZE, v, vl);
		else if (!strcmp(fields[i], "nonce"))
			bad = b64_get(kf->nonce, NONCE_SIZE, v, vl);
		else if (kf->sealed)
			bad = b64_get(kf->box, SEALED_SIZE, v, vl);
		else if (seed)
			bad = b64_get(seed, SEED_SIZE, v, vl);
		else
			bad = vl != sodium_base64_ENCODED_LEN(SEED_SIZE, B64) - 1;
		if (bad)
			return mvc__err(MVC_EFORMAT, "'%s': the %s on line %zu is damaged", q, fields[i],
			    i + 2);
	}
	while ((line = next_line(&ll, text, len, &pos)))
		if (ll)
			return mvc__err(MVC_EFORMAT, "'%s': unexpected text after the key", q);
	return 0;
}

/* Read a key file into locked memory (`*text`, sodium_free() it). */
static int keyfile_read(unsigned char **text, size_t *len, const char *path)
{
	struct stat st;
	char q[MVC_QUOTE_MAX];
	int fd, error = 0;

	*text = NULL;
	if ((error = mvc__global_init()) < 0)
		return error;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return mvc__err_sys("cannot open key '%s'", mvc_quote(q, sizeof(q), path));
	if (fstat(fd, &st) < 0) {
		error = mvc__err_sys("cannot read key '%s'", mvc_quote(q, sizeof(q), path));
	} else if (!S_ISREG(st.st_mode) || st.st_size > KEYFILE_MAX) {
		error = mvc__err(MVC_EFORMAT, "'%s' is not an mvc secret key", mvc_quote(q, sizeof(q), path));
	} else if (!(*text = sodium_malloc((size_t)st.st_size + 1))) {
		error = mvc__err(MVC_ENOMEM, "cannot allocate locked memory for a key");
	} else {
		*len = (size_t)st.st_size;
		error = mvc_read_at(fd, *text, *len, 0, path);
		(*text)[*len] = '\0';
	}
	close(fd);
	if (error < 0) {
		sodium_free(*text);
		*text = NULL;
	}
	return error;
}

int mvc_key_file_public(char **line, int *is_protected, const char *path)
{
	unsigned char *text = NULL;
	mvc_buf b = MVC_BUF_INIT;
	keyfile kf;
	size_t len = 0;
	int error;

	if (line)
		*line = NULL;
	if ((error = keyfile_read(&text, &len, path)) < 0)
		return error;
	error = keyfile_parse(&kf, NULL, (const char *)text, len, path);
	sodium_free(text);
	if (error < 0)
		return error;
	if (is_protected)
		*is_protected = kf.sealed;
	if (line) {
		if ((error = mvc_buf_printf(&b, "%s ", MVC_KEY_ALGORITHM)) < 0 ||
		    (error = b64_put(&b, kf.pk, PK_SIZE)) < 0 ||
		    (error = mvc_buf_printf(&b, " %s", kf.name)) < 0) {
			mvc_buf_free(&b);
			return error;
		}
		*line = mvc_buf_detach(&b);
	}
	return 0;
}

int mvc_key_load(mvc_key **out, const char *path, const char *passphrase, size_t passphrase_len)
{
	unsigned char *text = NULL, *dk = NULL, pk[PK_SIZE];
	mvc_key *k = NULL;
	keyfile kf;
	size_t len = 0;
	char q[MVC_QUOTE_MAX];
	int error;

	*out = NULL;
	mvc_quote(q, sizeof(q), path);
	if ((error = keyfile_read(&text, &len, path)) < 0)
		return error;
	/* the name first, for key_alloc(); then the secret into the key */
	if ((error = keyfile_parse(&kf, NULL, (const char *)text, len, path)) < 0 ||
	    (error = key_alloc(&k, kf.name)) < 0 ||
	    (error = keyfile_parse(&kf, KEY_SEED(k), (const char *)text, len, path)) < 0)
		goto done;
	if (kf.sealed) {
		if (!passphrase) {
			error = mvc__err(MVC_EINVALID,
			    "key '%s' is protected by a passphrase; give it with --passphrase-fd or "
			    "--passphrase-env", q);
			goto done;
		}
		if (!(dk = sodium_malloc(crypto_secretbox_KEYBYTES))) {
			error = mvc__err(MVC_ENOMEM, "cannot allocate locked memory for a key");
			goto done;
		}
		if (crypto_pwhash(dk, crypto_secretbox_KEYBYTES, passphrase, passphrase_len, kf.salt,
		        kf.ops, kf.mem, crypto_pwhash_ALG_ARGON2ID13) != 0) {
			error = mvc__err(MVC_ENOMEM, "cannot derive the key of '%s' (out of memory?)", q);
			goto done;
		}
		if (crypto_secretbox_open_easy(KEY_SEED(k), kf.box, SEALED_SIZE, kf.nonce, dk) != 0) {
			error = mvc__err(MVC_EINVALID, "wrong passphrase for key '%s'", q);
			goto done;
		}
	}
	memcpy(pk, kf.pk, PK_SIZE);
	if ((error = key_expand(k)) < 0)
		goto done;
	if (sodium_memcmp(pk, k->pk, PK_SIZE) != 0) {
		error = mvc__err(MVC_EFORMAT,
		    "the public and secret halves of key '%s' do not match (a damaged file?)", q);
		goto done;
	}
	*out = k;
	k = NULL;
done:
	sodium_free(dk);
	sodium_free(text);
	sodium_memzero(&kf, sizeof(kf));
	mvc_key_free(k);
	return error;
}

/* mkdir -p of the directory part of `path`, new directories 0700. */
static int make_parents(const char *path)
{
	char *p = mvc__strdup(path);
	int error = 0;

	if (!p)
		return MVC_ENOMEM;
	for (char *s = strchr(p + 1, '/'); s && !error; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			error = mvc__err_sys("cannot create '%s'", p);
		*s = '/';
	}
	free(p);
	return error;
}

int mvc_key_save(const mvc_key *key, const char *path, const char *passphrase,
                 size_t passphrase_len)
{
	unsigned char *text = NULL, *dk = NULL, salt[SALT_SIZE], nonce[NONCE_SIZE], box[SEALED_SIZE];
	size_t cap = KEYFILE_MAX, n = 0;
	mvc_buf pub = MVC_BUF_INIT;
	char q[MVC_QUOTE_MAX];
	struct stat st;
	int fd = -1, error;

	mvc_quote(q, sizeof(q), path);
	if (passphrase && !passphrase_len)
		return mvc__err(MVC_EINVALID, "the passphrase is empty");
	if (lstat(path, &st) == 0)
		return mvc__err(MVC_EEXISTS, "'%s' already exists; mvc never overwrites a key", q);
	if ((error = b64_put(&pub, key->pk, PK_SIZE)) < 0)
		return error;
	/* the text holds the secret: locked memory, wiped when freed */
	if (!(text = sodium_malloc(cap))) {
		error = mvc__err(MVC_ENOMEM, "cannot allocate locked memory for a key");
		goto done;
	}
	if (passphrase) {
		if (!(dk = sodium_malloc(crypto_secretbox_KEYBYTES))) {
			error = mvc__err(MVC_ENOMEM, "cannot allocate locked memory for a key");
			goto done;
		}
		randombytes_buf(salt, sizeof(salt));
		randombytes_buf(nonce, sizeof(nonce));
		if (crypto_pwhash(dk, crypto_secretbox_KEYBYTES, passphrase, passphrase_len, salt,
		        crypto_pwhash_OPSLIMIT_MODERATE, crypto_pwhash_MEMLIMIT_MODERATE,
		        crypto_pwhash_ALG_ARGON2ID13) != 0) {
			error = mvc__err(MVC_ENOMEM, "cannot derive a key from the passphrase (out of memory?)");
			goto done;
		}
		crypto_secretbox_easy(box, KEY_SEED(key), SEED_SIZE, nonce, dk);
		n = (size_t)snprintf((char *)text, cap, KEYFILE_MAGIC "argon2id %llu %zu\nname %s\npublic %s\nsalt ",
		    (unsigned long long)crypto_pwhash_OPSLIMIT_MODERATE,
		    (size_t)crypto_pwhash_MEMLIMIT_MODERATE, key->name, pub.ptr);
		sodium_bin2base64((char *)text + n, cap - n, salt, sizeof(salt), B64);
		n += strlen((char *)text + n);
		n += (size_t)snprintf((char *)text + n, cap - n, "\nnonce ");
		sodium_bin2base64((char *)text + n, cap - n, nonce, sizeof(nonce), B64);
		n += strlen((char *)text + n);
		n += (size_t)snprintf((char *)text + n, cap - n, "\nsecret ");
		sodium_bin2base64((char *)text + n, cap - n, box, sizeof(box), B64);
	} else {
		n = (size_t)snprintf((char *)text, cap, KEYFILE_MAGIC "plain\nname %s\npublic %s\nsecret ",
		    key->name, pub.ptr);
		sodium_bin2base64((char *)text + n, cap - n, KEY_SEED(key), SEED_SIZE, B64);
	}
	n += strlen((char *)text + n);
	n += (size_t)snprintf((char *)text + n, cap - n, "\n");
	if ((error = make_parents(path)) < 0)
		goto done;
	/* O_EXCL: never replace a key, even one created a moment ago */
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0) {
		error = errno == EEXIST
		    ? mvc__err(MVC_EEXISTS, "'%s' already exists; mvc never overwrites a key", q)
		    : mvc__err_sys("cannot create '%s'", q);
		goto done;
	}
	if (fchmod(fd, 0600) < 0 || (error = mvc_write_all(fd, text, n, path)) < 0 || fsync(fd) < 0 ||
	    close(fd) < 0) {
		if (!error)
			error = mvc__err_sys("cannot write '%s'", q);
		if (fd >= 0)
			close(fd);
		fd = -1;
		unlink(path);
		goto done;
	}
	fd = -1;
	error = 0;
done:
	if (fd >= 0)
		close(fd);
	sodium_free(dk);
	sodium_free(text);
	sodium_memzero(box, sizeof(box));
	mvc_buf_free(&pub);
	return error;
}

int mvc_key_default_path(char **out)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	mvc_buf b = MVC_BUF_INIT;
	int error;

	*out = NULL;
	if (xdg && xdg[0] == '/')
		error = mvc_buf_printf(&b, "%s/mvc/key", xdg);
	else if (home && *home)
		error = mvc_buf_printf(&b, "%s/.config/mvc/key", home);
	else
		return mvc__err(MVC_ENOTFOUND, "neither XDG_CONFIG_HOME nor HOME is set: name the key file");
	if (error < 0)
		return error;
	*out = mvc_buf_detach(&b);
	return 0;
}

/* A path from git config; MVC_ENOTFOUND (no message) when unset. */
static int config_path(char **out, mvc_repo *repo, const char *name)
{
	git_config *cfg = NULL;
	git_buf path = GIT_BUF_INIT;
	int rc;

	*out = NULL;
	if (git_repository_config_snapshot(&cfg, mvc__repo_git(repo)) < 0)
		return mvc__err_git(MVC_ERROR, "cannot read the config");
	rc = git_config_get_path(&path, cfg, name);
	git_config_free(cfg);
	if (rc == GIT_ENOTFOUND) {
		git_error_clear();
		return MVC_ENOTFOUND;
	}
	if (rc < 0)
		return mvc__err_git(MVC_EINVALID, "bad %s", name);
	*out = mvc__strdup(path.ptr);
	git_buf_dispose(&path);
	return *out ? 0 : MVC_ENOMEM;
}

int mvc_key_config_path(char **out, mvc_repo *repo)
{
	int error;

	*out = NULL;
	if (!repo || (error = config_path(out, repo, "mvc.signingKey")) == MVC_ENOTFOUND)
		return mvc_key_default_path(out);
	return error;
}

int mvc_trusted_config_path(char **out, mvc_repo *repo)
{
	int error = config_path(out, repo, "mvc.trustedKeys");

	if (error == MVC_ENOTFOUND)
		return mvc__err(MVC_ENOTFOUND, "no trusted keys: give --trusted <file> or set "
		    "mvc.trustedKeys");
	return error;
}

/* ---- trusted keys ---- */

typedef struct tkey {
	char *name;
	unsigned char pk[PK_SIZE];
	char id[MVC_KEY_ID_HEXSZ + 1];
} tkey;

struct mvc_trusted {
	size_t count, cap;
	tkey *keys;
};

void mvc_trusted_free(mvc_trusted *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->count; i++)
		free(t->keys[i].name);
	free(t->keys);
	free(t);
}

size_t mvc_trusted_count(const mvc_trusted *t)
{
	return t ? t->count : 0;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* The next white-space separated word of [*p, end). */
static const char *word(size_t *n, const char **p, const char *end)
{
	const char *s = *p;

	while (s < end && is_space(*s))
		s++;
	*p = s;
	while (*p < end && !is_space(**p))
		(*p)++;
	*n = (size_t)(*p - s);
	return *n ? s : NULL;
}

int mvc_trusted_parse(mvc_trusted **out, const char *text, size_t len, const char *what)
{
	mvc_trusted *t;
	size_t pos = 0, ll, lineno = 0;
	const char *line;
	char q[MVC_QUOTE_MAX];
	int error = 0;

	*out = NULL;
	if ((error = mvc__global_init()) < 0)
		return error;
	mvc_quote(q, sizeof(q), what);
	if (!(t = mvc__calloc(1, sizeof(*t))))
		return MVC_ENOMEM;
	while (!error && (line = next_line(&ll, text, len, &pos))) {
		const char *p = line, *end = line + ll, *name, *algo, *key;
		size_t nl, al, kl;
		tkey *k;

		lineno++;
		if (memchr(line, '\0', ll)) {
			error = mvc__err(MVC_EFORMAT, "'%s' line %zu: a NUL byte", q, lineno);
			break;
		}
		if (!(name = word(&nl, &p, end)) || name[0] == '#')
			continue;
		algo = word(&al, &p, end);
		key = word(&kl, &p, end);
		if (nl == strlen(MVC_KEY_ALGORITHM) && !memcmp(name, MVC_KEY_ALGORITHM, nl)) {
			error = mvc__err(MVC_EFORMAT,
			    "'%s' line %zu: the signer's name comes first: <name> %s <key>", q, lineno,
			    MVC_KEY_ALGORITHM);
			break;
		}
		if (!algo || al != strlen(MVC_KEY_ALGORITHM) || memcmp(algo, MVC_KEY_ALGORITHM, al)) {
			error = mvc__err(MVC_EFORMAT, "'%s' line %zu: expected '<name> %s <key>'", q,
			    lineno, MVC_KEY_ALGORITHM);
			break;
		}
		if (nl > MVC_KEY_NAME_MAX) {
			error = mvc__err(MVC_EFORMAT, "'%s' line %zu: the name is too long", q, lineno);
			break;
		}
		if (t->count == t->cap) {
			size_t nc = t->cap ? t->cap * 2 : 8;
			tkey *nk = realloc(t->keys, nc * sizeof(*nk));

			if (!nk) {
				error = mvc__err(MVC_ENOMEM, "out of memory");
				break;
			}
			t->keys = nk;
			t->cap = nc;
		}
		k = &t->keys[t->count];
		memset(k, 0, sizeof(*k));
		if (!key || b64_get(k->pk, PK_SIZE, key, kl) < 0) {
			error = mvc__err(MVC_EFORMAT, "'%s' line %zu: the key is not a base64 Ed25519 "
			    "public key", q, lineno);
			break;
		}
		if (!(k->name = mvc__strndup(name, nl))) {
			error = MVC_ENOMEM;
			break;
		}
		key_id(k->id, k->pk);
		t->count++;
	}
	if (error < 0) {
		mvc_trusted_free(t);
		return error;
	}
	*out = t;
	return 0;
}

int mvc_trusted_load(mvc_trusted **out, const char *path)
{
	char *text = NULL, q[MVC_QUOTE_MAX];
	struct stat st;
	int fd, error;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return mvc__err_sys("cannot open the trusted keys '%s'", mvc_quote(q, sizeof(q), path));
	if (fstat(fd, &st) < 0) {
		error = mvc__err_sys("cannot read '%s'", mvc_quote(q, sizeof(q), path));
	} else if (!S_ISREG(st.st_mode) || (size_t)st.st_size > TRUSTED_MAX) {
		error = mvc__err(MVC_EFORMAT, "the trusted keys '%s' are not a file of at most 1 MiB",
		    mvc_quote(q, sizeof(q), path));
	} else if (!(text = mvc__malloc((size_t)st.st_size + 1))) {
		error = MVC_ENOMEM;
	} else if ((error = mvc_read_at(fd, text, (size_t)st.st_size, 0, path)) == 0) {
		error = mvc_trusted_parse(out, text, (size_t)st.st_size, path);
	}
	close(fd);
	free(text);
	return error;
}

/* ---- signing commits ---- */

int mvc__sign_payload(char **out, const mvc_key *key, const void *data, size_t len)
{
	unsigned char sig[SIG_SIZE];
	mvc_buf b = MVC_BUF_INIT;
	int error;

	*out = NULL;
	if ((error = mvc_key_sign(sig, key, data, len)) < 0 ||
	    (error = mvc_buf_printf(&b, "%s %s ", MVC_KEY_ALGORITHM, key->id)) < 0 ||
	    (error = b64_put(&b, sig, SIG_SIZE)) < 0) {
		mvc_buf_free(&b);
		return error;
	}
	*out = mvc_buf_detach(&b);
	return 0;
}

/* A path as a trailer value: bytes up to the space, DEL and '%' as %XX. */
static int put_path(mvc_buf *b, const char *path)
{
	int error = 0;

	for (const unsigned char *p = (const unsigned char *)path; *p && !error; p++)
		error = *p <= 0x20 || *p == 0x7f || *p == '%' ? mvc_buf_printf(b, "%%%02X", *p)
		                                              : mvc_buf_put(b, p, 1);
	return error;
}

static int unhex(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 :
	    c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The inverse of put_path(); NULL for a malformed escape or a NUL. */
static char *get_path(const char *s, size_t len)
{
	mvc_buf b = MVC_BUF_INIT;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= len || (hi = unhex(s[i + 1])) < 0 || (lo = unhex(s[i + 2])) < 0 ||
			    (hi == 0 && lo == 0))
				goto bad;
			c = (unsigned char)(hi * 16 + lo);
			i += 2;
		} else if (c <= 0x20 || c == 0x7f) {
			goto bad;
		}
		if (mvc_buf_put(&b, &c, 1) < 0)
			goto bad;
	}
	if (!b.len)
		goto bad;
	return mvc_buf_detach(&b);
bad:
	mvc_buf_free(&b);
	return NULL;
}

static bool starts_with_ci(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && !strncasecmp(s, prefix, n);
}

int mvc__sign_message_check(const char *message)
{
	size_t pos = 0, ll, mlen = strlen(message);
	const char *line;

	while ((line = next_line(&ll, message, mlen, &pos)))
		if (starts_with_ci(line, ll, MVC_DIGEST_TRAILER ":"))
			return mvc__err(MVC_EINVALID,
			    "a signed version's message must not hold '%s:' lines (mvc adds them)",
			    MVC_DIGEST_TRAILER);
	return 0;
}

/* The message with an Mvc-File-Digest trailer for every file of `tree`. */
static int digest_message(mvc_buf *msg, git_repository *git, const char *message,
                          const git_tree *tree)
{
	git_message_trailer_array tr;
	char **paths = NULL, hex[MVC_DIGEST_HEXSZ + 1];
	size_t npaths = 0;
	int error;

	if ((error = mvc__sign_message_check(message)) < 0 ||
	    (error = mvc_buf_puts(msg, message)) < 0 ||
	    (msg->len && msg->ptr[msg->len - 1] != '\n' && (error = mvc_buf_puts(msg, "\n")) < 0))
		return error;
	/* join the message's trailer block, or start one */
	memset(&tr, 0, sizeof(tr));
	if (git_message_trailers(&tr, msg->ptr) < 0 || tr.count == 0)
		error = mvc_buf_puts(msg, "\n");
	git_message_trailer_array_free(&tr);
	if (error < 0 || (error = mvc__tree_files(&paths, &npaths, git, tree)) < 0)
		return error;
	for (size_t i = 0; i < npaths && !error; i++) {
		git_tree *ft = NULL;
		mvc_manifest *m = NULL;

		if ((error = mvc__file_tree(&ft, git, tree, paths[i])) == 0 &&
		    (error = mvc__tree_manifest(&m, git, ft, paths[i])) == 0) {
			mvc_digest_hex(hex, m->digest);
			if ((error = mvc_buf_printf(msg, "%s: ", MVC_DIGEST_TRAILER)) == 0 &&
			    (error = put_path(msg, paths[i])) == 0)
				error = mvc_buf_printf(msg, " %s\n", hex);
		}
		mvc_manifest_free(m);
		git_tree_free(ft);
	}
	mvc_strings_free(paths, npaths);
	return error;
}

int mvc__commit_write(git_oid *out, git_repository *git, const mvc_key *key,
                      const git_signature *author, const git_signature *committer,
                      const char *message, const git_tree *tree, size_t nparents,
                      const git_commit **parents, const char *what)
{
	git_buf content = GIT_BUF_INIT;
	mvc_buf msg = MVC_BUF_INIT;
	char *payload = NULL;
	int error;

	if (!key) {
		if (git_commit_create(out, git, NULL, author, committer, NULL, message, tree, nparents,
		        parents) < 0)
			return mvc__err_git(MVC_EIO, "cannot write %s", what);
		return 0;
	}
	if ((error = digest_message(&msg, git, message, tree)) < 0)
		goto done;
	if (git_commit_create_buffer(&content, git, author, committer, NULL, msg.ptr, tree,
	        nparents, parents) < 0) {
		error = mvc__err_git(MVC_EIO, "cannot write %s", what);
		goto done;
	}
	if ((error = mvc__sign_payload(&payload, key, content.ptr, content.size)) < 0)
		goto done;
	if (git_commit_create_with_signature(out, git, content.ptr, payload, MVC_SIGNATURE_FIELD) < 0)
		error = mvc__err_git(MVC_EIO, "cannot write %s", what);
done:
	free(payload);
	git_buf_dispose(&content);
	mvc_buf_free(&msg);
	return error;
}

/* ---- verification ---- */

const char *mvc_verify_status_name(mvc_verify_status s)
{
	switch (s) {
	case MVC_VERIFY_GOOD: return "good";
	case MVC_VERIFY_UNSIGNED: return "unsigned";
	case MVC_VERIFY_MALFORMED: return "malformed";
	case MVC_VERIFY_UNTRUSTED: return "untrusted";
	case MVC_VERIFY_BAD_SIGNATURE: return "bad-signature";
	case MVC_VERIFY_DIGEST_MISMATCH: return "digest-mismatch";
	}
	return "?";
}

void mvc_verify_result_clear(mvc_verify_result *r)
{
	if (!r)
		return;
	free(r->signer);
	free(r->reason);
	memset(r, 0, sizeof(*r));
}

static int verdict(mvc_verify_result *r, mvc_verify_status s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int verdict(mvc_verify_result *r, mvc_verify_status s, const char *fmt, ...)
{
	va_list ap;
	char buf[1024];

	r->status = s;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	free(r->reason);
	return (r->reason = mvc__strdup(buf)) ? 0 : MVC_ENOMEM;
}

/*
 * Split a raw commit into the signed content (everything but the mvcsig
 * header) and the signature.  Only the header is searched, so a message
 * line that looks like the field is content.  *sig is NULL when unsigned;
 * 1 is returned for a header that holds the field twice or a signature
 * that spans lines.
 */
static int split_signed(mvc_buf *content, char **sig, const char *raw, size_t len)
{
	size_t pos = 0, ll, flen = strlen(MVC_SIGNATURE_FIELD);
	const char *line;
	int error = 0, odd = 0;

	*sig = NULL;
	while ((line = next_line(&ll, raw, len, &pos))) {
		if (ll == 0) {
			/* the end of the header: the message follows, as it is */
			if ((error = mvc_buf_puts(content, "\n")) < 0 ||
			    (error = mvc_buf_put(content, raw + pos, len - pos)) < 0)
				goto fail;
			return odd;
		}
		if (ll > flen && !memcmp(line, MVC_SIGNATURE_FIELD, flen) && line[flen] == ' ') {
			if (*sig)
				odd = 1;
			else if (!(*sig = mvc__strndup(line + flen + 1, ll - flen - 1)))
				return MVC_ENOMEM;
			/* a continuation line belongs to the field: not content */
			while (pos < len && raw[pos] == ' ') {
				odd = 1;
				next_line(&ll, raw, len, &pos);
			}
			continue;
		}
		/* the line, and its newline unless it ended the object */
		if ((error = mvc_buf_put(content, line, ll)) < 0 ||
		    (line + ll < raw + len && (error = mvc_buf_puts(content, "\n")) < 0))
			goto fail;
	}
	return odd;
fail:
	free(*sig);
	*sig = NULL;
	return error;
}

static bool is_b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '+' || c == '/' || c == '=';
}

/* Check the signature payload: algorithm, key id, 64 bytes of base64. */
static int parse_payload(mvc_verify_result *r, unsigned char sig[SIG_SIZE], const char *payload)
{
	const char *p = payload, *end = payload + strlen(payload), *algo, *id, *b64, *extra;
	size_t al, il, bl, xl, want = sodium_base64_ENCODED_LEN(SIG_SIZE, B64) - 1;
	bool alphabet = true;

	algo = word(&al, &p, end);
	id = word(&il, &p, end);
	b64 = word(&bl, &p, end);
	extra = word(&xl, &p, end);
	if (!algo || al != strlen(MVC_KEY_ALGORITHM) || memcmp(algo, MVC_KEY_ALGORITHM, al))
		return verdict(r, MVC_VERIFY_MALFORMED,
		    "malformed signature: garbage, not an %s signature", MVC_KEY_ALGORITHM);
	if (!id || il != MVC_KEY_ID_HEXSZ)
		return verdict(r, MVC_VERIFY_MALFORMED, "malformed signature: garbage key id");
	for (size_t i = 0; i < il; i++)
		if (unhex(id[i]) < 0 || (id[i] >= 'A' && id[i] <= 'F'))
			return verdict(r, MVC_VERIFY_MALFORMED, "malformed signature: garbage key id");
	memcpy(r->key_id, id, il);
	r->key_id[il] = '\0';
	if (!b64)
		return verdict(r, MVC_VERIFY_MALFORMED, "malformed signature: truncated (no signature "
		    "after the key id)");
	for (size_t i = 0; i < bl; i++)
		alphabet &= is_b64_char(b64[i]);
	if (alphabet && bl < want && !extra)
		return verdict(r, MVC_VERIFY_MALFORMED,
		    "malformed signature: truncated (%zu of %zu base64 characters)", bl, want);
	if (!alphabet || extra || b64_get(sig, SIG_SIZE, b64, bl) < 0)
		return verdict(r, MVC_VERIFY_MALFORMED,
		    "malformed signature: garbage where a base64 Ed25519 signature belongs");
	return 1;
}

/* The signed digests: path -> digest, in message order. */
typedef struct signed_file {
	char *path;
	unsigned char digest[MVC_DIGEST_SIZE];
	int seen;
} signed_file;

static void free_signed(signed_file *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].path);
	free(v);
}

/* Read the Mvc-File-Digest lines of a signed message; 1 (and a verdict)
 * when one is malformed or repeated. */
static int signed_digests(signed_file **out, size_t *count, mvc_verify_result *r,
                          const char *msg, size_t len)
{
	size_t pos = 0, ll, n = 0, cap = 0, plen = strlen(MVC_DIGEST_TRAILER ": ");
	signed_file *v = NULL;
	const char *line;
	char q[MVC_QUOTE_MAX];
	int error = 0;

	*out = NULL;
	*count = 0;
	while ((line = next_line(&ll, msg, len, &pos))) {
		const char *sp;
		char hex[MVC_DIGEST_HEXSZ + 1], *path;

		if (!starts_with_ci(line, ll, MVC_DIGEST_TRAILER ":"))
			continue;
		sp = ll > plen + MVC_DIGEST_HEXSZ + 1 ? line + ll - MVC_DIGEST_HEXSZ - 1 : NULL;
		if (!sp || memcmp(line, MVC_DIGEST_TRAILER ": ", plen) || *sp != ' ' ||
		    !(path = get_path(line + plen, (size_t)(sp - line) - plen))) {
			error = verdict(r, MVC_VERIFY_DIGEST_MISMATCH, "a signed %s line is malformed",
			    MVC_DIGEST_TRAILER);
			goto fail;
		}
		memcpy(hex, sp + 1, MVC_DIGEST_HEXSZ);
		hex[MVC_DIGEST_HEXSZ] = '\0';
		for (size_t i = 0; i < n; i++)
			if (!strcmp(v[i].path, path)) {
				error = verdict(r, MVC_VERIFY_DIGEST_MISMATCH,
				    "the signature names file '%s' twice", mvc_quote(q, sizeof(q), path));
				free(path);
				goto fail;
			}
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 8;
			signed_file *nv = realloc(v, nc * sizeof(*nv));

			if (!nv) {
				free(path);
				error = mvc__err(MVC_ENOMEM, "out of memory");
				goto fail;
			}
			v = nv;
			cap = nc;
		}
		v[n].path = path;
		v[n].seen = 0;
		if (mvc_hex_to_digest(v[n++].digest, hex) < 0) {
			error = verdict(r, MVC_VERIFY_DIGEST_MISMATCH,
			    "the signed digest of '%s' is malformed", mvc_quote(q, sizeof(q), path));
			goto fail;
		}
	}
	*out = v;
	*count = n;
	return 0;
fail:
	free_signed(v, n);
	return error < 0 ? error : 1;
}

/* Compare every file of the version with the signed digests. */
static int check_files(mvc_verify_result *r, git_repository *git, const git_commit *c,
                       const char *msg, size_t msglen)
{
	signed_file *sf = NULL;
	git_tree *root = NULL;
	char **paths = NULL, q[MVC_QUOTE_MAX], a[MVC_DIGEST_HEXSZ + 1], b[MVC_DIGEST_HEXSZ + 1];
	size_t nsf = 0, npaths = 0;
	int error;

	if ((error = signed_digests(&sf, &nsf, r, msg, msglen)) != 0)
		return error < 0 ? error : 0;
	if (git_commit_tree(&root, c) < 0) {
		error = mvc__err_git(MVC_ECORRUPT, "cannot read the version's tree");
		goto done;
	}
	if ((error = mvc__tree_files(&paths, &npaths, git, root)) < 0)
		goto done;
	if (npaths && !nsf) {
		error = verdict(r, MVC_VERIFY_DIGEST_MISMATCH,
		    "the signature covers no file digests (not made by mvc?)");
		goto done;
	}
	for (size_t i = 0; i < npaths; i++) {
		signed_file *s = NULL;
		git_tree *ft = NULL;
		mvc_manifest *m = NULL;

		mvc_quote(q, sizeof(q), paths[i]);
		for (size_t k = 0; k < nsf && !s; k++)
			if (!strcmp(sf[k].path, paths[i]))
				s = &sf[k];
		if (!s) {
			error = verdict(r, MVC_VERIFY_DIGEST_MISMATCH,
			    "file '%s' is not covered by the signature", q);
			goto done;
		}
		s->seen = 1;
		if ((error = mvc__file_tree(&ft, git, root, paths[i])) == 0)
			error = mvc__tree_manifest(&m, git, ft, paths[i]);
		git_tree_free(ft);
		if (error < 0) {
			/* a manifest that does not parse cannot match a signed digest */
			char why[512];

			snprintf(why, sizeof(why), "%s", mvc_error_last());
			mvc_error_clear();
			error = verdict(r, MVC_VERIFY_DIGEST_MISMATCH, "file %s", why);
			goto done;
		}
		if (sodium_memcmp(m->digest, s->digest, MVC_DIGEST_SIZE) != 0) {
			mvc_digest_hex(a, m->digest);
			mvc_digest_hex(b, s->digest);
			error = verdict(r, MVC_VERIFY_DIGEST_MISMATCH,
			    "file '%s' has digest %.16s..., not the signed %.16s...", q, a, b);
			mvc_manifest_free(m);
			goto done;
		}
		mvc_manifest_free(m);
	}
	for (size_t k = 0; k < nsf; k++)
		if (!sf[k].seen) {
			error = verdict(r, MVC_VERIFY_DIGEST_MISMATCH,
			    "the signature covers file '%s', which the version does not have",
			    mvc_quote(q, sizeof(q), sf[k].path));
			goto done;
		}
	r->files = npaths;
	r->status = MVC_VERIFY_GOOD;
done:
	free_signed(sf, nsf);
	mvc_strings_free(paths, npaths);
	git_tree_free(root);
	return error;
}

int mvc_verify(mvc_verify_result *out, mvc_repo *repo, const char *rev, const mvc_trusted *trusted)
{
	git_repository *git = mvc__repo_git(repo);
	git_commit *c = NULL;
	git_odb *odb = NULL;
	git_odb_object *obj = NULL;
	mvc_buf content = MVC_BUF_INIT;
	unsigned char sig[SIG_SIZE];
	const tkey *signer = NULL;
	const char *raw, *msg;
	char *payload = NULL;
	size_t rawlen;
	int error, rc;

	memset(out, 0, sizeof(*out));
	if ((error = mvc__resolve(&c, git, rev)) < 0)
		return error;
	mvc__oid_from_git(&out->id, git_commit_id(c));
	if (git_repository_odb(&odb, git) < 0 || git_odb_read(&obj, odb, git_commit_id(c)) < 0) {
		error = mvc__err_git(MVC_ECORRUPT, "cannot read version '%s'", rev);
		goto done;
	}
	raw = git_odb_object_data(obj);
	rawlen = git_odb_object_size(obj);
	if ((rc = split_signed(&content, &payload, raw, rawlen)) < 0) {
		error = rc;
		goto done;
	}
	if (rc == 1) {
		error = verdict(out, MVC_VERIFY_MALFORMED,
		    "malformed signature: the %s header is repeated or spans lines", MVC_SIGNATURE_FIELD);
		goto done;
	}
	if (!payload) {
		error = verdict(out, MVC_VERIFY_UNSIGNED, "not signed");
		goto done;
	}
	if ((rc = parse_payload(out, sig, payload)) <= 0) {
		error = rc;
		goto done;
	}
	for (size_t i = 0; trusted && i < trusted->count; i++) {
		const tkey *k = &trusted->keys[i];

		if (strcmp(k->id, out->key_id))
			continue;
		if (!signer)
			signer = k;
		if (crypto_sign_verify_detached(sig, (const unsigned char *)content.ptr, content.len,
		        k->pk) == 0) {
			signer = k;
			out->status = MVC_VERIFY_GOOD;
			break;
		}
		out->status = MVC_VERIFY_BAD_SIGNATURE;
	}
	if (!signer) {
		error = verdict(out, MVC_VERIFY_UNTRUSTED,
		    "signed by key %s, which is not a trusted key", out->key_id);
		goto done;
	}
	if (!(out->signer = mvc__strdup(signer->name))) {
		error = MVC_ENOMEM;
		goto done;
	}
	if (out->status == MVC_VERIFY_BAD_SIGNATURE) {
		error = verdict(out, MVC_VERIFY_BAD_SIGNATURE,
		    "bad signature by key %s (%s): the version was changed after it was signed, or the "
		    "signature was made for other content", out->key_id, signer->name);
		goto done;
	}
	/* the message as signed: after the header's blank line */
	msg = memmem(content.ptr, content.len, "\n\n", 2);
	msg = msg ? msg + 2 : content.ptr + content.len;
	error = check_files(out, git, c, msg, content.len - (size_t)(msg - content.ptr));
done:
	if (error < 0) {
		free(out->signer);
		free(out->reason);
		out->signer = out->reason = NULL;
	}
	free(payload);
	mvc_buf_free(&content);
	git_odb_object_free(obj);
	git_odb_free(odb);
	git_commit_free(c);
	return error;
}
