/* mvc key: make a signing key; print the public half of one. */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"

static const char *output, *name;
static unsigned long pass_fd = (unsigned long)-1;
static const char *pass_env;
static const char *const syn[] = {
	"generate [-o <path>] [--name <name>] [--passphrase-fd <n> | --passphrase-env <var>]",
	"public [<path>]",
	NULL };
static const struct opt opts[] = {
	{ "output", 'o', OPT_STRING, &output, "<path>", "generate: write the secret key here (default: ~/.config/mvc/key)", "file" },
	{ "name", 0, OPT_STRING, &name, "<name>", "generate: the key's name (default: login@host)" },
	{ "passphrase-fd", 0, OPT_UINT, &pass_fd, "<n>", "generate: protect the key with a passphrase read from descriptor <n>" },
	{ "passphrase-env", 0, OPT_STRING, &pass_env, "<var>", "generate: protect the key with the passphrase in variable <var>" },
	{ NULL }
};
const struct cmd_usage usage_key = { "key", syn, opts, "file" };

/* login@host, as a default name (white space would not do). */
static void default_name(char *buf, size_t n)
{
	struct passwd *pw = getpwuid(getuid());
	char host[256] = "localhost";

	gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = '\0';
	snprintf(buf, n, "%s@%s", pw && pw->pw_name && *pw->pw_name ? pw->pw_name : "mvc", host);
	for (char *p = buf; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			*p = '_';
}

static int key_generate(void)
{
	mvc_key *key = NULL;
	char *path = NULL, *pass = NULL, *line = NULL, def[512];
	size_t plen = 0;
	int error, rc;

	if ((rc = passphrase_read(&pass, &plen, pass_fd, pass_env)) != 0)
		return rc;
	if (!name)
		default_name(def, sizeof(def));
	if (output) {
		if (!(path = strdup(output))) {
			rc = die_msg("out of memory");
			goto done;
		}
	} else if ((error = mvc_key_default_path(&path)) < 0) {
		rc = fail(error);
		goto done;
	}
	if ((error = mvc_key_generate(&key, name ? name : def)) < 0 ||
	    (error = mvc_key_save(key, path, pass, plen)) < 0 ||
	    (error = mvc_key_public_line(&line, key)) < 0) {
		rc = fail(error);
		goto done;
	}
	printf("%s\n", line);
	rc = fflush(stdout) == 0 ? EXIT_OK : die_msg("cannot write output");
done:
	passphrase_free(pass);
	mvc_key_free(key);
	free(line);
	free(path);
	return rc;
}

static int key_public(const char *arg)
{
	char *path = NULL, *line = NULL;
	int error, rc;

	if (arg)
		path = strdup(arg);
	else if ((error = mvc_key_default_path(&path)) < 0)
		return fail(error);
	if (!path)
		return die_msg("out of memory");
	if ((error = mvc_key_file_public(&line, NULL, path)) < 0) {
		rc = fail(error);
	} else {
		printf("%s\n", line);
		rc = fflush(stdout) == 0 ? EXIT_OK : die_msg("cannot write output");
	}
	free(line);
	free(path);
	return rc;
}

int cmd_key(int argc, char **argv)
{
	const char *sub;

	opt_parse(&usage_key, &argc, argv);
	if (argc < 1)
		return usage_error(&usage_key, "which subcommand? generate or public");
	sub = argv[0];
	if (!strcmp(sub, "generate")) {
		if (argc != 1)
			return usage_error(&usage_key, "key generate takes no arguments (-o names the file)");
		if (pass_fd != (unsigned long)-1 && pass_env)
			return usage_error(&usage_key,
			    "--passphrase-fd and --passphrase-env cannot be used together");
		if (pass_fd != (unsigned long)-1 && pass_fd > 1024)
			return usage_error(&usage_key, "--passphrase-fd needs a descriptor number, not %lu",
			    pass_fd);
		return key_generate();
	}
	if (!strcmp(sub, "public")) {
		if (argc > 2)
			return usage_error(&usage_key, "key public takes at most one key file");
		if (output || name || pass_env || pass_fd != (unsigned long)-1)
			return usage_error(&usage_key, "key public takes no options");
		return key_public(argc == 2 ? argv[1] : NULL);
	}
	return usage_error(&usage_key, "'%s' is not a key subcommand (generate or public)", sub);
}
