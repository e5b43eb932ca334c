/* Who is writing: the identity recorded in versions, moves and tags. */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "internal.h"

int mvc__signature(git_signature **out, git_repository *git)
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
