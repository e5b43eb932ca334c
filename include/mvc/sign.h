#ifndef MVC_SIGN_H
#define MVC_SIGN_H
/*
 * Keys, signed versions and their verification (Ed25519, libsodium).
 *
 * A version is signed in its commit object, so that push, clone and gc
 * carry the signature with it: the commit gets a header field
 *
 *     mvcsig mvc-ed25519 <key id> <base64 signature>
 *
 * and the signature covers the commit object without that line (tree,
 * parents, author, committer and the whole message).  The message of a
 * signed version carries, as trailers, the BLAKE2b-256 digest of every
 * file of the version (the manifest's file digest, a Merkle root over
 * the chunk digests):
 *
 *     Mvc-File-Digest: <path> <64 hex digits>
 *
 * so the guarantee does not rest on SHA-1 object ids alone: verification
 * reads each file's MANIFEST, checks that it is consistent (every tensor
 * digest from its chunk digests, the file digest from those) and compares
 * its digest with the signed one; checkout and `mvc fsck --full` check
 * every chunk against the manifest.  In the path, bytes up to the space,
 * DEL and '%' are written as %XX.
 *
 * The key id is the first 8 bytes of the BLAKE2b-256 digest of the public
 * key, in hex.  Public keys are written as the line
 *
 *     mvc-ed25519 <base64 public key> <name>
 *
 * and a trusted-keys file lists one key per line as
 *
 *     <name> mvc-ed25519 <base64 public key> [comment]
 *
 * (blank lines and lines starting with '#' are ignored), like ssh's
 * allowed_signers.  The secret key file format is in mvc-key(1).
 */
#include "repo.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MVC_SIGNATURE_FIELD "mvcsig"
#define MVC_KEY_ALGORITHM "mvc-ed25519"
#define MVC_DIGEST_TRAILER "Mvc-File-Digest"
#define MVC_KEY_ID_HEXSZ 16
/* Longest key name, in bytes (no white space or control characters). */
#define MVC_KEY_NAME_MAX 200
/* Longest passphrase accepted, in bytes. */
#define MVC_PASSPHRASE_MAX 1024

/* A secret key with its public half, held in locked, guarded memory. */
typedef struct mvc_key mvc_key;

/* A new random key named `name` (see MVC_KEY_NAME_MAX). */
int mvc_key_generate(mvc_key **out, const char *name);

/*
 * Write `key` to a new file at `path`, mode 0600; MVC_EEXISTS if
 * something is there already (it is never overwritten).  With a
 * passphrase (`passphrase_len` bytes, at least 1) the secret is sealed
 * with a key derived by Argon2id (libsodium's MODERATE limits: 256 MiB
 * and about a second), otherwise it is stored in the clear.  Missing
 * parent directories are created with mode 0700.
 */
int mvc_key_save(const mvc_key *key, const char *path, const char *passphrase,
                 size_t passphrase_len);

/*
 * Read the secret key at `path`.  A protected key needs its passphrase
 * (MVC_EINVALID without it, or with a wrong one); `passphrase` is
 * ignored for a key stored in the clear.  A damaged file is MVC_EFORMAT.
 */
int mvc_key_load(mvc_key **out, const char *path, const char *passphrase,
                 size_t passphrase_len);

/*
 * The public key line of the key file at `path` (no passphrase needed)
 * and whether the key is protected by a passphrase; either may be NULL.
 * *line is the caller's to free().
 */
int mvc_key_file_public(char **line, int *is_protected, const char *path);

/* "mvc-ed25519 <base64 public key> <name>"; the caller's to free(). */
int mvc_key_public_line(char **out, const mvc_key *key);
/* The key id: 16 hex digits. */
const char *mvc_key_id(const mvc_key *key);
const char *mvc_key_name(const mvc_key *key);

/* Wipes the secret. */
void mvc_key_free(mvc_key *key);

/*
 * Where keys live by default: $XDG_CONFIG_HOME/mvc/key, else
 * $HOME/.config/mvc/key.  The caller's to free().
 */
int mvc_key_default_path(char **out);

/*
 * The signing key for `repo`: git config mvc.signingKey (the store's
 * config, then the global ones; "~/" is expanded), else the default path.
 */
int mvc_key_config_path(char **out, mvc_repo *repo);

/* The Ed25519 signature of `len` bytes at `data`. */
int mvc_key_sign(unsigned char sig[64], const mvc_key *key, const void *data, size_t len);

/* A set of trusted public keys. */
typedef struct mvc_trusted mvc_trusted;

/* Read a trusted-keys file (at most 1 MiB); MVC_EFORMAT names the bad line. */
int mvc_trusted_load(mvc_trusted **out, const char *path);
/* The same from memory; `what` names the text in messages. */
int mvc_trusted_parse(mvc_trusted **out, const char *text, size_t len, const char *what);
size_t mvc_trusted_count(const mvc_trusted *t);
/* The path in git config mvc.trustedKeys ("~/" expanded); MVC_ENOTFOUND
 * when it is not set. */
int mvc_trusted_config_path(char **out, mvc_repo *repo);
void mvc_trusted_free(mvc_trusted *t);

typedef enum mvc_verify_status {
	MVC_VERIFY_GOOD = 0,          /* signed by a trusted key; digests match */
	MVC_VERIFY_UNSIGNED,          /* no mvcsig header */
	MVC_VERIFY_MALFORMED,         /* a truncated or garbage signature */
	MVC_VERIFY_UNTRUSTED,         /* signed by a key not in the trusted set */
	MVC_VERIFY_BAD_SIGNATURE,     /* the signature does not match the commit:
	                                 changed after signing, or made for other content */
	MVC_VERIFY_DIGEST_MISMATCH    /* validly signed, but the files are not the
	                                 ones whose digests were signed */
} mvc_verify_status;

/* "good", "unsigned", "malformed", "untrusted", "bad-signature", "digest-mismatch". */
const char *mvc_verify_status_name(mvc_verify_status s);

typedef struct mvc_verify_result {
	mvc_oid id;                   /* the version */
	mvc_verify_status status;
	char key_id[MVC_KEY_ID_HEXSZ + 1]; /* from the signature; "" if none could be read */
	char *signer;                 /* the trusted name of the key, or NULL */
	char *reason;                 /* why the status is not good; NULL when good */
	size_t files;                 /* files whose digests were compared */
} mvc_verify_result;

/*
 * Verify version `rev` against `trusted`.  Returns 0 and fills `out`
 * whatever the verdict; a negative code only for errors (an unknown
 * revision, an object that cannot be read).  Works offline and reads no
 * chunk data: a few small objects per version.
 */
int mvc_verify(mvc_verify_result *out, mvc_repo *repo, const char *rev,
               const mvc_trusted *trusted);
void mvc_verify_result_clear(mvc_verify_result *r);

#ifdef __cplusplus
}
#endif
#endif
