/*
 * Keys, signed versions and verification (lib/sign.c): key files with and
 * without a passphrase, trusted-keys files, and every way a signature can
 * fail -- unsigned, untrusted key, signature over other content, a changed
 * commit, truncated or garbage signatures, files that are not the signed
 * ones -- each with its own status and reason.  Also the commit hook point
 * (mvc_commit_options.before_ref_update) and signed moves and rollbacks.
 */
#include <math.h>
#include "unit.h"
#include "internal.h"

#define MODEL "model.safetensors"

typedef struct {
	char *tmp, *work, *model;
	mvc_repo *repo;
	mvc_key *alice, *bob;
	mvc_trusted *trusted;    /* alice only */
} fx;

static unsigned char *model_bytes(size_t *len, uint64_t seed)
{
	static const char hdr[] =
	    "{\"w\":{\"dtype\":\"F32\",\"shape\":[32,8],\"data_offsets\":[0,1024]}}      ";
	float w[256];

	weights_fill(w, 256, seed);
	return st_build(len, hdr, sizeof(hdr) - 1, w, sizeof(w));
}

static void put_model(fx *f, uint64_t seed)
{
	size_t len;
	unsigned char *p = model_bytes(&len, seed);

	write_bytes(f->model, p, len);
	free(p);
}

static char *trusted_line(const char *name, const mvc_key *k)
{
	char *pub = NULL, *line;

	assert_ok(mvc_key_public_line(&pub, k));
	/* "mvc-ed25519 <key> <name>" -> "<name> mvc-ed25519 <key>" */
	*strrchr(pub, ' ') = '\0';
	if (asprintf(&line, "%s %s\n", name, pub) < 0)
		fail_msg("out of memory");
	free(pub);
	return line;
}

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	char *line;

	if (!f)
		return -1;
	f->tmp = tmpdir_new("sign");
	f->work = path_join(f->tmp, "w");
	f->model = path_join(f->work, MODEL);
	if (mvc_repo_init(&f->repo, f->work) < 0 || mvc_key_generate(&f->alice, "alice") < 0 ||
	    mvc_key_generate(&f->bob, "bob@example.com") < 0)
		return -1;
	line = trusted_line("alice", f->alice);
	if (mvc_trusted_parse(&f->trusted, line, strlen(line), "test") < 0)
		return -1;
	free(line);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;

	mvc_trusted_free(f->trusted);
	mvc_key_free(f->alice);
	mvc_key_free(f->bob);
	mvc_repo_free(f->repo);
	rm_rf(f->tmp);
	free(f->tmp);
	free(f->work);
	free(f->model);
	free(f);
	return 0;
}

static void commit_signed(fx *f, mvc_oid *out, uint64_t seed, const mvc_key *key, const char *msg)
{
	mvc_commit_options o = MVC_COMMIT_OPTIONS_INIT;
	const char *paths[] = { MODEL };

	put_model(f, seed);
	o.message = msg;
	o.signing_key = key;
	if (mvc_commit(out, NULL, f->repo, paths, 1, &o) < 0)
		fail_msg("commit: %s", mvc_error_last());
}

static void hex_of(char out[MVC_OID_HEXSZ + 1], const git_oid *id)
{
	git_oid_tostr(out, MVC_OID_HEXSZ + 1, id);
}

/* Verify `rev`: the status, and a fragment of the reason. */
static void expect(fx *f, const char *rev, const mvc_trusted *t, mvc_verify_status want,
                   const char *frag)
{
	mvc_verify_result r;

	assert_ok(mvc_verify(&r, f->repo, rev, t));
	if (r.status != want)
		fail_msg("%s: status %s, wanted %s (%s)", rev, mvc_verify_status_name(r.status),
		    mvc_verify_status_name(want), r.reason ? r.reason : "");
	if (want == MVC_VERIFY_GOOD) {
		assert_null(r.reason);
	} else {
		assert_non_null(r.reason);
		if (frag && !strstr(r.reason, frag))
			fail_msg("%s: reason '%s' lacks '%s'", rev, r.reason, frag);
	}
	mvc_verify_result_clear(&r);
}

/* The raw bytes of commit `rev`. */
static char *raw_commit(fx *f, const char *rev, size_t *len)
{
	git_repository *git = mvc__repo_git(f->repo);
	git_object *obj = NULL;
	git_odb *odb = NULL;
	git_odb_object *o = NULL;
	char *p;

	assert_int_equal(git_revparse_single(&obj, git, rev), 0);
	assert_int_equal(git_repository_odb(&odb, git), 0);
	assert_int_equal(git_odb_read(&o, odb, git_object_id(obj)), 0);
	*len = git_odb_object_size(o);
	p = malloc(*len + 1);
	memcpy(p, git_odb_object_data(o), *len);
	p[*len] = '\0';
	git_odb_object_free(o);
	git_odb_free(odb);
	git_object_free(obj);
	return p;
}

/* Write raw commit bytes as an object; its id in hex. */
static void write_raw(fx *f, char hex[MVC_OID_HEXSZ + 1], const char *raw, size_t len)
{
	git_odb *odb = NULL;
	git_oid id;

	assert_int_equal(git_repository_odb(&odb, mvc__repo_git(f->repo)), 0);
	assert_int_equal(git_odb_write(&id, odb, raw, len, GIT_OBJECT_COMMIT), 0);
	git_odb_free(odb);
	hex_of(hex, &id);
}

/* The raw commit with its mvcsig line replaced by `sig` (NULL: removed). */
static char *with_signature(const char *raw, const char *sig)
{
	const char *s = strstr(raw, "\nmvcsig "), *e;
	char *out;

	assert_non_null(s);
	e = strchr(s + 1, '\n');
	if (asprintf(&out, "%.*s%s%s%s%s", (int)(s - raw + 1), raw, sig ? "mvcsig " : "",
	        sig ? sig : "", sig ? "\n" : "", e + 1) < 0)
		fail_msg("out of memory");
	return out;
}

static char *signature_of(const char *raw)
{
	const char *s = strstr(raw, "\nmvcsig ") + 8;

	return strndup(s, strcspn(s, "\n"));
}

/* ---- keys ---- */

static void test_key_plain(void **state)
{
	fx *f = *state;
	char *path = path_join(f->tmp, "keys/sub/k"), *a = NULL, *b = NULL, *c = NULL;
	mvc_key *k = NULL;
	struct stat st;
	int prot = -1;

	assert_ok(mvc_key_save(f->alice, path, NULL, 0));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_ok(mvc_key_load(&k, path, NULL, 0));
	assert_string_equal(mvc_key_id(k), mvc_key_id(f->alice));
	assert_string_equal(mvc_key_name(k), "alice");
	assert_ok(mvc_key_public_line(&a, k));
	assert_ok(mvc_key_public_line(&b, f->alice));
	assert_string_equal(a, b);
	assert_ok(mvc_key_file_public(&c, &prot, path));
	assert_string_equal(c, a);
	assert_int_equal(prot, 0);
	assert_int_equal(strncmp(a, "mvc-ed25519 ", 12), 0);
	assert_int_equal(strlen(mvc_key_id(k)), 16);
	/* never overwritten */
	assert_err(mvc_key_save(f->bob, path, NULL, 0), MVC_EEXISTS, "never overwrites");
	mvc_key_free(k);
	k = NULL;
	assert_ok(mvc_key_load(&k, path, NULL, 0));
	assert_string_equal(mvc_key_id(k), mvc_key_id(f->alice));
	/* a passphrase given for a key in the clear is ignored */
	mvc_key_free(k);
	k = NULL;
	assert_ok(mvc_key_load(&k, path, "x", 1));
	mvc_key_free(k);
	k = NULL;
	assert_err(mvc_key_load(&k, "/nonexistent/key", NULL, 0), MVC_ENOTFOUND, "cannot open key");
	assert_null(k);
	free(a);
	free(b);
	free(c);
	free(path);
}

static void test_key_passphrase(void **state)
{
	fx *f = *state;
	char *path = path_join(f->tmp, "pkey"), *plain = path_join(f->tmp, "plain"), *text, *seed;
	const char pass[] = "correct horse battery staple";
	mvc_key *k = NULL;
	unsigned char sig[64];
	size_t len;
	int prot = 0;

	assert_err(mvc_key_save(f->alice, path, "", 0), MVC_EINVALID, "empty");
	assert_ok(mvc_key_save(f->alice, path, pass, strlen(pass)));
	/* the seed is not in the file in the clear */
	assert_ok(mvc_key_save(f->alice, plain, NULL, 0));
	text = (char *)read_bytes(plain, &len);
	seed = strdup(strstr(text, "\nsecret ") + 8);
	free(text);
	text = (char *)read_bytes(path, &len);
	assert_non_null(strstr(text, "mvc-secret-key v1 argon2id "));
	assert_null(strstr(text, seed));
	free(text);
	free(seed);
	free(plain);
	assert_ok(mvc_key_file_public(NULL, &prot, path));
	assert_int_equal(prot, 1);
	assert_err(mvc_key_load(&k, path, NULL, 0), MVC_EINVALID, "protected by a passphrase");
	assert_null(k);
	assert_err(mvc_key_load(&k, path, "correct horse", 13), MVC_EINVALID, "wrong passphrase");
	assert_null(k);
	assert_ok(mvc_key_load(&k, path, pass, strlen(pass)));
	assert_string_equal(mvc_key_id(k), mvc_key_id(f->alice));
	/* it signs as alice */
	assert_ok(mvc_key_sign(sig, k, "abc", 3));
	{
		unsigned char sig2[64];

		assert_ok(mvc_key_sign(sig2, f->alice, "abc", 3));
		assert_memory_equal(sig, sig2, 64); /* Ed25519 is deterministic */
	}
	mvc_key_free(k);
	free(path);
}

static void test_key_damaged(void **state)
{
	fx *f = *state;
	char *path = path_join(f->tmp, "bad"), *good = path_join(f->tmp, "good"), *text, *s;
	char *bobline = NULL, *bobpub;
	mvc_key *k = NULL;
	size_t len;

	assert_ok(mvc_key_save(f->alice, good, NULL, 0));
	text = (char *)read_bytes(good, &len);
#define TRY(content, code, frag) do {                                  \
		unlink(path);                                          \
		write_bytes(path, content, strlen(content));           \
		assert_err(mvc_key_load(&k, path, NULL, 0), code, frag); \
		assert_null(k);                                        \
	} while (0)
	TRY("", MVC_EFORMAT, "not an mvc secret key");
	TRY("ssh-ed25519 AAAA\n", MVC_EFORMAT, "not an mvc secret key");
	TRY("mvc-secret-key v1 rot13\n", MVC_EUNSUPPORTED, "unknown key protection");
	TRY("mvc-secret-key v1 plain\nname alice\n", MVC_EFORMAT, "should be the key's public");
	TRY("mvc-secret-key v1 argon2id 3 999999999999999\nname a\n", MVC_EFORMAT, "out of range");
	TRY("mvc-secret-key v1 argon2id x y\n", MVC_EFORMAT, "bad argon2id parameters");
	/* truncated secret */
	s = strdup(text);
	s[len - 10] = '\n';
	s[len - 9] = '\0';
	TRY(s, MVC_EFORMAT, "damaged");
	free(s);
	/* bob's public key beside alice's secret */
	assert_ok(mvc_key_public_line(&bobline, f->bob));
	bobpub = strchr(bobline, ' ') + 1;
	*strchr(bobpub, ' ') = '\0';
	s = malloc(len + 100);
	{
		const char *p = strstr(text, "public ") + 7, *e = strchr(p, '\n');

		sprintf(s, "%.*s%s%s", (int)(p - text), text, bobpub, e);
	}
	TRY(s, MVC_EFORMAT, "do not match");
	free(s);
	/* text after the key */
	if (asprintf(&s, "%sextra\n", text) < 0)
		fail_msg("oom");
	TRY(s, MVC_EFORMAT, "unexpected text");
	free(s);
#undef TRY
	free(bobline);
	free(text);
	free(path);
	free(good);
}

static void test_key_names(void **state)
{
	mvc_key *k = NULL;
	char longname[MVC_KEY_NAME_MAX + 2];

	(void)state;
	assert_err(mvc_key_generate(&k, ""), MVC_EINVALID, "needs a name");
	assert_err(mvc_key_generate(&k, "a b"), MVC_EINVALID, "white space");
	assert_err(mvc_key_generate(&k, "a\nb"), MVC_EINVALID, "white space");
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_err(mvc_key_generate(&k, longname), MVC_EINVALID, "longer than");
	assert_null(k);
}

static void test_default_path(void **state)
{
	char *p = NULL;

	(void)state;
	setenv("XDG_CONFIG_HOME", "/xdg", 1);
	assert_ok(mvc_key_default_path(&p));
	assert_string_equal(p, "/xdg/mvc/key");
	free(p);
	unsetenv("XDG_CONFIG_HOME");
	setenv("HOME", "/home/u", 1);
	assert_ok(mvc_key_default_path(&p));
	assert_string_equal(p, "/home/u/.config/mvc/key");
	free(p);
	setenv("HOME", "/nonexistent-mvc-test-home", 1);
	setenv("XDG_CONFIG_HOME", "/nonexistent-mvc-test-home", 1);
}

/* ---- trusted keys ---- */

static void test_trusted_parse(void **state)
{
	fx *f = *state;
	mvc_trusted *t = NULL;
	char *a = trusted_line("alice", f->alice), *b = trusted_line("bob", f->bob), *text;

	/* words after the key are a comment */
	b[strlen(b) - 1] = '\0';
	if (asprintf(&text, "# production signers\n\n  %s\t%s   bob's laptop\n", a, b) < 0)
		fail_msg("oom");
	assert_ok(mvc_trusted_parse(&t, text, strlen(text), "t"));
	assert_int_equal(mvc_trusted_count(t), 2);
	mvc_trusted_free(t);
	t = NULL;
	assert_ok(mvc_trusted_parse(&t, "", 0, "t"));
	assert_int_equal(mvc_trusted_count(t), 0);
	mvc_trusted_free(t);
	t = NULL;
	assert_err(mvc_trusted_parse(&t, "mvc-ed25519 AAAA alice\n", 23, "keys"), MVC_EFORMAT,
	    "'keys' line 1: the signer's name comes first");
	assert_err(mvc_trusted_parse(&t, "\nalice ssh-ed25519 AAAA\n", 24, "keys"), MVC_EFORMAT,
	    "line 2: expected");
	assert_err(mvc_trusted_parse(&t, "alice mvc-ed25519 AAAA\n", 23, "keys"), MVC_EFORMAT,
	    "not a base64 Ed25519 public key");
	assert_err(mvc_trusted_parse(&t, "alice mvc-ed25519\n", 18, "keys"), MVC_EFORMAT,
	    "not a base64");
	assert_null(t);
	free(a);
	free(b);
	free(text);
}

/* ---- verification ---- */

static void test_verify_good(void **state)
{
	fx *f = *state;
	mvc_verify_result r;
	mvc_oid id;
	mvc_version *v = NULL;
	const char *key, *val;
	size_t n = 0;

	commit_signed(f, &id, 1, f->alice, "signed by alice");
	assert_ok(mvc_verify(&r, f->repo, "HEAD", f->trusted));
	assert_int_equal(r.status, MVC_VERIFY_GOOD);
	assert_string_equal(r.signer, "alice");
	assert_string_equal(r.key_id, mvc_key_id(f->alice));
	assert_int_equal(r.files, 1);
	assert_memory_equal(r.id.id, id.id, 20);
	mvc_verify_result_clear(&r);
	/* the digest trailer is a trailer of the message, with the file's digest */
	assert_ok(mvc_version_lookup(&v, f->repo, "HEAD"));
	for (size_t i = 0; i < mvc_version_meta_count(v); i++) {
		assert_ok(mvc_version_meta(&key, &val, v, i));
		if (!strcmp(key, "Mvc-File-Digest")) {
			mvc_manifest *m = NULL;
			char hex[MVC_DIGEST_HEXSZ + 1], want[200];

			assert_ok(mvc_version_manifest(&m, v, MODEL));
			mvc_digest_hex(hex, m->digest);
			snprintf(want, sizeof(want), "%s %s", MODEL, hex);
			assert_string_equal(val, want);
			mvc_manifest_free(m);
			n++;
		}
	}
	assert_int_equal(n, 1);
	mvc_version_free(v);
	/* an unknown revision is an error, not a verdict */
	assert_err(mvc_verify(&r, f->repo, "nosuch", f->trusted), MVC_ENOTFOUND, "nosuch");
}

static void test_verify_unsigned_untrusted(void **state)
{
	fx *f = *state;
	mvc_trusted *none = NULL;
	mvc_oid id;
	mvc_verify_result r;

	commit_signed(f, &id, 1, NULL, "unsigned");
	expect(f, "HEAD", f->trusted, MVC_VERIFY_UNSIGNED, "not signed");
	commit_signed(f, &id, 2, f->bob, "signed by bob");
	expect(f, "HEAD", f->trusted, MVC_VERIFY_UNTRUSTED, "not a trusted key");
	assert_ok(mvc_verify(&r, f->repo, "HEAD", f->trusted));
	assert_string_equal(r.key_id, mvc_key_id(f->bob));
	assert_null(r.signer);
	mvc_verify_result_clear(&r);
	assert_ok(mvc_trusted_parse(&none, "", 0, "empty"));
	expect(f, "HEAD", none, MVC_VERIFY_UNTRUSTED, mvc_key_id(f->bob));
	expect(f, "HEAD", NULL, MVC_VERIFY_UNTRUSTED, "not a trusted key");
	mvc_trusted_free(none);
}

static void test_verify_tampered(void **state)
{
	fx *f = *state;
	mvc_oid a, b;
	char ha[MVC_OID_HEXSZ + 1], hb[MVC_OID_HEXSZ + 1], hx[MVC_OID_HEXSZ + 1], *raw_a, *raw_b;
	char *sig_a, *t, *edited, *payload = NULL, *content;
	size_t la, lb;

	commit_signed(f, &a, 1, f->alice, "version a");
	commit_signed(f, &b, 2, f->alice, "version b");
	mvc_oid_fmt(ha, &a);
	mvc_oid_fmt(hb, &b);
	expect(f, ha, f->trusted, MVC_VERIFY_GOOD, NULL);
	expect(f, hb, f->trusted, MVC_VERIFY_GOOD, NULL);
	raw_a = raw_commit(f, ha, &la);
	raw_b = raw_commit(f, hb, &lb);
	sig_a = signature_of(raw_a);

	/* a's signature on b: a signature over other content */
	t = with_signature(raw_b, sig_a);
	write_raw(f, hx, t, strlen(t));
	expect(f, hx, f->trusted, MVC_VERIFY_BAD_SIGNATURE, "changed after it was signed");
	free(t);

	/* a with its message edited, the old signature kept */
	edited = strdup(raw_a);
	memcpy(strstr(edited, "version a"), "version X", 9);
	write_raw(f, hx, edited, strlen(edited));
	expect(f, hx, f->trusted, MVC_VERIFY_BAD_SIGNATURE, "bad signature by key");
	/* ... and re-signed by bob: signed, but not by a trusted key */
	content = with_signature(edited, NULL);
	assert_ok(mvc__sign_payload(&payload, f->bob, content, strlen(content)));
	t = with_signature(edited, payload);
	write_raw(f, hx, t, strlen(t));
	expect(f, hx, f->trusted, MVC_VERIFY_UNTRUSTED, "not a trusted key");
	free(t);
	free(payload);
	payload = NULL;
	/* ... or re-signed by alice herself: good (she signed what is there) */
	assert_ok(mvc__sign_payload(&payload, f->alice, content, strlen(content)));
	t = with_signature(edited, payload);
	write_raw(f, hx, t, strlen(t));
	expect(f, hx, f->trusted, MVC_VERIFY_GOOD, NULL);
	free(t);
	free(payload);
	free(content);
	free(edited);

	/* the tree swapped for b's, the signature of a kept */
	edited = strdup(raw_a);
	memcpy(edited + 5, raw_b + 5, 40);
	write_raw(f, hx, edited, strlen(edited));
	expect(f, hx, f->trusted, MVC_VERIFY_BAD_SIGNATURE, "bad signature");
	free(edited);

	free(sig_a);
	free(raw_a);
	free(raw_b);
}

static void test_verify_malformed(void **state)
{
	fx *f = *state;
	mvc_oid a;
	char ha[MVC_OID_HEXSZ + 1], hx[MVC_OID_HEXSZ + 1], *raw, *sig, *t, *bad, *dup;
	size_t len;
	static const struct { const char *sig; const char *frag; } cases[] = {
		{ "gpg -----BEGIN PGP SIGNATURE-----", "garbage, not an mvc-ed25519 signature" },
		{ "mvc-ed25519", "garbage key id" },
		{ "mvc-ed25519 xyz AAAA", "garbage key id" },
		{ "mvc-ed25519 0123456789abcdef !!!notbase64!!!", "garbage where a base64" },
		{ "mvc-ed25519 0123456789abcdef AAAA extra", "garbage where a base64" },
	};

	commit_signed(f, &a, 1, f->alice, "version a");
	mvc_oid_fmt(ha, &a);
	raw = raw_commit(f, ha, &len);
	sig = signature_of(raw);

	/* truncated: the key id and part of the signature */
	for (size_t cut = strlen(sig) - 1; cut > strlen(sig) - 40; cut -= 13) {
		char *s = strndup(sig, cut);

		t = with_signature(raw, s);
		write_raw(f, hx, t, strlen(t));
		expect(f, hx, f->trusted, MVC_VERIFY_MALFORMED, "truncated");
		free(t);
		free(s);
	}
	{
		char *s = strndup(sig, 12 + 16);

		t = with_signature(raw, s);
		write_raw(f, hx, t, strlen(t));
		expect(f, hx, f->trusted, MVC_VERIFY_MALFORMED, "truncated (no signature");
		free(t);
		free(s);
	}
	for (size_t i = 0; i < MVC_ARRAY_SIZE(cases); i++) {
		t = with_signature(raw, cases[i].sig);
		write_raw(f, hx, t, strlen(t));
		expect(f, hx, f->trusted, MVC_VERIFY_MALFORMED, cases[i].frag);
		free(t);
	}
	/* a signature of the right size that is not alice's: bad, not malformed */
	bad = strdup(sig);
	bad[strlen(bad) - 5] = bad[strlen(bad) - 5] == 'A' ? 'B' : 'A';
	t = with_signature(raw, bad);
	write_raw(f, hx, t, strlen(t));
	expect(f, hx, f->trusted, MVC_VERIFY_BAD_SIGNATURE, "bad signature");
	free(t);
	free(bad);
	/* the field twice */
	if (asprintf(&dup, "%s\nmvcsig %s", sig, sig) < 0)
		fail_msg("oom");
	t = with_signature(raw, dup);
	write_raw(f, hx, t, strlen(t));
	expect(f, hx, f->trusted, MVC_VERIFY_MALFORMED, "repeated");
	free(t);
	free(dup);
	free(sig);
	free(raw);
}

/* A message line that looks like the header is content, not a signature. */
static void test_verify_header_only(void **state)
{
	fx *f = *state;
	mvc_oid a, u;
	char ha[MVC_OID_HEXSZ + 1], *raw, *sig, msg[512];
	size_t len;

	commit_signed(f, &a, 1, f->alice, "version a");
	mvc_oid_fmt(ha, &a);
	raw = raw_commit(f, ha, &len);
	sig = signature_of(raw);
	snprintf(msg, sizeof(msg), "looks signed\n\nmvcsig %s\n", sig);
	commit_signed(f, &u, 2, NULL, msg);
	expect(f, "HEAD", f->trusted, MVC_VERIFY_UNSIGNED, "not signed");
	free(sig);
	free(raw);
}

/* Signed by alice, but the files are not the signed ones. */
static void test_verify_digests(void **state)
{
	fx *f = *state;
	git_repository *git = mvc__repo_git(f->repo);
	mvc_oid a, b;
	char ha[MVC_OID_HEXSZ + 1], hb[MVC_OID_HEXSZ + 1], hx[MVC_OID_HEXSZ + 1];
	char *raw, *content, *payload = NULL, *t, *p;
	size_t len;

	commit_signed(f, &a, 1, f->alice, "version a");
	commit_signed(f, &b, 2, NULL, "version b");
	mvc_oid_fmt(ha, &a);
	mvc_oid_fmt(hb, &b);
	raw = raw_commit(f, ha, &len);
	content = with_signature(raw, NULL);

#define RESIGN(c, want, frag) do {                                              \
		assert_ok(mvc__sign_payload(&payload, f->alice, (c), strlen(c)));      \
		{                                                                      \
			const char *nl = strstr((c), "\n\n");                          \
			if (asprintf(&t, "%.*s\nmvcsig %s%s", (int)(nl - (c)), (c),    \
			        payload, nl) < 0)                                      \
				fail_msg("oom");                                       \
		}                                                                      \
		write_raw(f, hx, t, strlen(t));                                        \
		expect(f, hx, f->trusted, (want), (frag));                             \
		free(t);                                                               \
		free(payload);                                                         \
		payload = NULL;                                                        \
	} while (0)

	/* re-signed as it is: good */
	RESIGN(content, MVC_VERIFY_GOOD, NULL);
	/* b's tree under a's digests, signed: the file is not the signed one */
	{
		char *c2 = strdup(content), *rb = raw_commit(f, hb, &len);

		memcpy(c2 + 5, rb + 5, 40);
		RESIGN(c2, MVC_VERIFY_DIGEST_MISMATCH, "not the signed");
		free(rb);
		free(c2);
	}
	/* no digest trailer at all */
	{
		char *c2 = strdup(content);

		p = strstr(c2, "\nMvc-File-Digest:");
		p[1] = '\0';
		RESIGN(c2, MVC_VERIFY_DIGEST_MISMATCH, "covers no file digests");
		free(c2);
	}
	/* a digest for a file the version does not have */
	{
		char *c2;

		if (asprintf(&c2, "%sMvc-File-Digest: other.safetensors %064d\n", content, 0) < 0)
			fail_msg("oom");
		RESIGN(c2, MVC_VERIFY_DIGEST_MISMATCH, "which the version does not have");
		free(c2);
	}
	/* the same file twice */
	{
		char *c2, *line = strdup(strstr(content, "Mvc-File-Digest:"));

		if (asprintf(&c2, "%s%s", content, line) < 0)
			fail_msg("oom");
		RESIGN(c2, MVC_VERIFY_DIGEST_MISMATCH, "twice");
		free(c2);
		free(line);
	}
	/* a malformed digest line */
	{
		char *c2 = strdup(content);

		p = strstr(c2, "Mvc-File-Digest: ") + strlen("Mvc-File-Digest: ");
		p[strlen(MODEL)] = '_';
		RESIGN(c2, MVC_VERIFY_DIGEST_MISMATCH, "malformed");
		free(c2);
	}
#undef RESIGN
	(void)git;
	free(content);
	free(raw);
}

/* Paths with spaces, percent signs and non-ASCII bytes survive the trailer. */
static void test_verify_odd_paths(void **state)
{
	fx *f = *state;
	mvc_commit_options o = MVC_COMMIT_OPTIONS_INIT;
	const char *paths[] = { "a b%20c.safetensors", "d\xc3\xa9j\xc3\xa0/x y.st" };
	mvc_oid id;
	mvc_verify_result r;
	size_t len;
	unsigned char *p = model_bytes(&len, 5);
	char *dir = path_join(f->work, "d\xc3\xa9j\xc3\xa0");

	mkdirs(dir);
	for (size_t i = 0; i < 2; i++) {
		char *fp = path_join(f->work, paths[i]);

		write_bytes(fp, p, len);
		free(fp);
	}
	o.message = "odd names";
	o.signing_key = f->alice;
	assert_ok(mvc_commit(&id, NULL, f->repo, paths, 2, &o));
	assert_ok(mvc_verify(&r, f->repo, "HEAD", f->trusted));
	assert_int_equal(r.status, MVC_VERIFY_GOOD);
	assert_int_equal(r.files, 2);
	mvc_verify_result_clear(&r);
	free(dir);
	free(p);
}

static void test_sign_refuses_digest_lines(void **state)
{
	fx *f = *state;
	mvc_commit_options o = MVC_COMMIT_OPTIONS_INIT;
	const char *paths[] = { MODEL };
	const char *meta[] = { "Mvc-File-Digest=model.safetensors 00" };
	mvc_oid id;

	put_model(f, 1);
	o.message = "fake\n\nmvc-file-digest: model.safetensors 00";
	o.signing_key = f->alice;
	assert_err(mvc_commit(&id, NULL, f->repo, paths, 1, &o), MVC_EINVALID, "mvc adds them");
	o.message = "fake";
	o.meta = meta;
	o.nmeta = 1;
	assert_err(mvc_commit(&id, NULL, f->repo, paths, 1, &o), MVC_EINVALID, "mvc adds them");
	{
		char *branch = NULL;
		int unborn = 0;

		assert_ok(mvc_repo_head(&branch, &unborn, f->repo));
		assert_int_equal(unborn, 1);
		free(branch);
	}
	/* unsigned, such a message is the user's business */
	o.signing_key = NULL;
	o.meta = NULL;
	o.nmeta = 0;
	assert_ok(mvc_commit(&id, NULL, f->repo, paths, 1, &o));
}

/* ---- the hook point ---- */

typedef struct {
	int calls, refuse;
	mvc_oid seen;
	mvc_repo *repo;
	int head_moved;         /* HEAD already at the candidate when called? */
} hookrec;

static int before(const mvc_oid *cand, void *payload)
{
	hookrec *h = payload;
	mvc_version *v = NULL;

	h->calls++;
	h->seen = *cand;
	/* the candidate is readable, and HEAD has not moved yet */
	if (mvc_version_lookup(&v, h->repo, "HEAD") == 0) {
		h->head_moved = !memcmp(mvc_version_id(v)->id, cand->id, 20);
		mvc_version_free(v);
	}
	mvc_error_clear();
	return h->refuse ? MVC_EREFUSED : 0;
}

static void test_before_ref_update(void **state)
{
	fx *f = *state;
	mvc_commit_options o = MVC_COMMIT_OPTIONS_INIT;
	const char *paths[] = { MODEL };
	hookrec h;
	mvc_oid first, id;
	mvc_version *v = NULL;
	char hex[MVC_OID_HEXSZ + 1];

	commit_signed(f, &first, 1, NULL, "first");
	memset(&h, 0, sizeof(h));
	h.repo = f->repo;
	h.refuse = 1;
	put_model(f, 2);
	o.message = "refused";
	o.signing_key = f->alice;
	o.before_ref_update = before;
	o.before_ref_update_payload = &h;
	assert_int_equal(mvc_commit(&id, NULL, f->repo, paths, 1, &o), MVC_EREFUSED);
	assert_int_equal(h.calls, 1);
	assert_int_equal(h.head_moved, 0);
	/* the branch stayed; the candidate exists (a hook could check it) */
	assert_ok(mvc_version_lookup(&v, f->repo, "HEAD"));
	assert_memory_equal(mvc_version_id(v)->id, first.id, 20);
	mvc_version_free(v);
	mvc_oid_fmt(hex, &h.seen);
	assert_ok(mvc_version_lookup(&v, f->repo, hex));
	assert_string_equal(mvc_version_summary(v), "refused");
	mvc_version_free(v);
	expect(f, hex, f->trusted, MVC_VERIFY_GOOD, NULL);
	/* accepted: the branch moves to exactly the candidate */
	h.refuse = 0;
	o.message = "accepted";
	assert_ok(mvc_commit(&id, NULL, f->repo, paths, 1, &o));
	assert_int_equal(h.calls, 2);
	assert_memory_equal(id.id, h.seen.id, 20);
	expect(f, "HEAD", f->trusted, MVC_VERIFY_GOOD, NULL);
}

/* ---- moves and rollbacks ---- */

static void test_signed_moves(void **state)
{
	fx *f = *state;
	mvc_channel_options co = MVC_CHANNEL_OPTIONS_INIT;
	mvc_rollback_options ro = MVC_ROLLBACK_OPTIONS_INIT;
	mvc_channel_result cr;
	mvc_rollback_result rr;
	mvc_oid a, b;
	char hex[MVC_OID_HEXSZ + 1];

	commit_signed(f, &a, 1, f->alice, "a");
	commit_signed(f, &b, 2, f->alice, "b");
	co.signing_key = f->alice;
	assert_ok(mvc_channel_set(&cr, f->repo, "production", "HEAD~1", &co));
	mvc_oid_fmt(hex, &cr.move);
	expect(f, hex, f->trusted, MVC_VERIFY_GOOD, NULL);
	co.signing_key = NULL;
	assert_ok(mvc_channel_set(&cr, f->repo, "production", "HEAD", &co));
	mvc_oid_fmt(hex, &cr.move);
	expect(f, hex, f->trusted, MVC_VERIFY_UNSIGNED, NULL);
	/* "production" as a revision is its target version, signed by alice */
	expect(f, "production", f->trusted, MVC_VERIFY_GOOD, NULL);
	ro.signing_key = f->bob;
	assert_ok(mvc_rollback(&rr, f->repo, "production", &ro));
	mvc_oid_fmt(hex, &rr.commit);
	expect(f, hex, f->trusted, MVC_VERIFY_UNTRUSTED, NULL);
	ro.signing_key = f->alice;
	assert_ok(mvc_rollback(&rr, f->repo, NULL, &ro));
	expect(f, "HEAD", f->trusted, MVC_VERIFY_GOOD, NULL);
	{
		mvc_version *v = NULL;

		assert_ok(mvc_version_lookup(&v, f->repo, "HEAD"));
		assert_memory_equal(rr.commit.id, mvc_version_id(v)->id, 20);
		mvc_version_free(v);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_key_plain),
		T(test_key_passphrase),
		T(test_key_damaged),
		T(test_key_names),
		T(test_default_path),
		T(test_trusted_parse),
		T(test_verify_good),
		T(test_verify_unsigned_untrusted),
		T(test_verify_tampered),
		T(test_verify_malformed),
		T(test_verify_header_only),
		T(test_verify_digests),
		T(test_verify_odd_paths),
		T(test_sign_refuses_digest_lines),
		T(test_before_ref_update),
		T(test_signed_moves),
	};

	setenv("HOME", "/nonexistent-mvc-test-home", 1);
	setenv("XDG_CONFIG_HOME", "/nonexistent-mvc-test-home", 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_AUTHOR_NAME", "Unit Tester", 1);
	setenv("GIT_AUTHOR_EMAIL", "unit@example.com", 1);
	setenv("GIT_COMMITTER_NAME", "Unit Tester", 1);
	setenv("GIT_COMMITTER_EMAIL", "unit@example.com", 1);
	unsetenv("MVC_DIR");
	unsetenv("MVC_WORK_TREE");
	unsetenv("GIT_DIR");
	umask(022);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
