/* Signing options shared by the commands that write versions, and
 * passphrases: read from a descriptor or a variable, kept in locked memory. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sodium.h>
#include "cli.h"

#define NO_FD ((unsigned long)-1)

void sign_opts_check(const struct cmd_usage *u, const struct sign_opts *s)
{
	if (s->pass_fd != NO_FD && s->pass_env)
		usage_error(u, "--passphrase-fd and --passphrase-env cannot be used together");
	if ((s->pass_fd != NO_FD || s->pass_env) && !s->sign && !s->key)
		usage_error(u, "a passphrase is only needed with --sign");
	if (s->pass_fd != NO_FD && s->pass_fd > 1024)
		usage_error(u, "--passphrase-fd needs a descriptor number, not %lu", s->pass_fd);
}

void passphrase_free(char *p)
{
	sodium_free(p); /* wipes it */
}

int passphrase_read(char **out, size_t *len, unsigned long fd, const char *env)
{
	char *p;
	size_t n = 0;

	*out = NULL;
	*len = 0;
	if (fd == NO_FD && !env)
		return 0;
	if (sodium_init() < 0 || !(p = sodium_malloc(MVC_PASSPHRASE_MAX + 2)))
		return die_msg("cannot allocate locked memory for the passphrase");
	if (env) {
		char *v = getenv(env);

		if (!v) {
			passphrase_free(p);
			return die_msg("the variable '%s' (--passphrase-env) is not set", env);
		}
		n = strlen(v);
		if (n <= MVC_PASSPHRASE_MAX)
			memcpy(p, v, n);
		/* hooks and other children need not see it */
		sodium_memzero(v, strlen(v));
		unsetenv(env);
	} else {
		for (;;) {
			ssize_t r = read((int)fd, p + n, MVC_PASSPHRASE_MAX + 1 - n);

			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				passphrase_free(p);
				return die_msg("cannot read the passphrase from descriptor %lu: %s", fd,
				    strerror(errno));
			}
			if (r == 0 || (n += (size_t)r) > MVC_PASSPHRASE_MAX)
				break;
		}
		/* one trailing line break is not part of it */
		if (n && n <= MVC_PASSPHRASE_MAX && p[n - 1] == '\n')
			n--;
		if (n && n <= MVC_PASSPHRASE_MAX && p[n - 1] == '\r')
			n--;
	}
	if (n > MVC_PASSPHRASE_MAX) {
		passphrase_free(p);
		return die_msg("the passphrase is longer than %d bytes", MVC_PASSPHRASE_MAX);
	}
	if (n == 0) {
		passphrase_free(p);
		return die_msg("the passphrase is empty");
	}
	p[n] = '\0';
	*out = p;
	*len = n;
	return 0;
}

int sign_key_open(mvc_key **out, mvc_repo *repo, const struct sign_opts *s)
{
	char *path = NULL, *pass = NULL;
	size_t plen = 0;
	int error, rc;

	*out = NULL;
	if (!s->sign && !s->key)
		return 0;
	if (s->key) {
		if (!(path = strdup(s->key)))
			return die_msg("out of memory");
	} else if ((error = mvc_key_config_path(&path, repo)) < 0) {
		return fail(error);
	}
	if ((rc = passphrase_read(&pass, &plen, s->pass_fd, s->pass_env)) != 0) {
		free(path);
		return rc;
	}
	error = mvc_key_load(out, path, pass, plen);
	passphrase_free(pass);
	if (error == MVC_ENOTFOUND && !s->key)
		fprintf(stderr, "mvc: no signing key at '%s': create one with 'mvc key generate', or "
		    "set mvc.signingKey\n", path);
	free(path);
	if (error < 0)
		return error == MVC_ENOTFOUND && !s->key ? EXIT_ERR : fail(error);
	return 0;
}
