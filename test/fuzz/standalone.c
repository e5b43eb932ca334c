/*
 * main() for a fuzz target built without libFuzzer: every file named on
 * the command line (or in a directory named there) goes through
 * LLVMFuzzerTestOneInput() once.  `make check` runs the seed corpora and
 * the saved crash inputs (test/fuzz/regress/) this way.
 */
#include <dirent.h>
#include <sys/stat.h>
#include "fuzz.h"

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	long n;
	int ok;

	if (!f) {
		perror(path);
		return 1;
	}
	ok = fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	     (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n;
	fclose(f);
	if (!ok) {
		fprintf(stderr, "%s: cannot read\n", path);
		free(buf);
		return 1;
	}
	/* an exact-size copy, so that reads past the end are caught */
	{
		unsigned char *exact = malloc(n ? (size_t)n : 1);

		memcpy(exact, buf, (size_t)n);
		free(buf);
		LLVMFuzzerTestOneInput(exact, (size_t)n);
		free(exact);
	}
	return 0;
}

int main(int argc, char **argv)
{
	int bad = 0, count = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		DIR *d;
		struct dirent *de;

		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode) && (d = opendir(argv[i]))) {
			while ((de = readdir(d))) {
				char path[4096];

				if (de->d_name[0] == '.')
					continue;
				snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
				bad |= run_file(path);
				count++;
			}
			closedir(d);
		} else {
			bad |= run_file(argv[i]);
			count++;
		}
	}
	printf("%d inputs\n", count);
	return bad;
}
