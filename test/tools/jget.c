/*
 * jget: read a value out of JSON for the CLI tests (no jq on a fresh
 * Debian).  jget PATH [FILE]: PATH is dot-separated keys and array
 * indexes; a final "#" prints the length of an array or object.  Strings
 * print raw, other values as compact JSON.  Exit 1 if the path is absent,
 * 2 if the input is not JSON.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>

int main(int argc, char **argv)
{
	json_error_t err;
	json_t *root, *v;
	char *path, *tok, *save = NULL;
	int rc = 0;

	if (argc < 2)
		return 2;
	root = argc > 2 ? json_load_file(argv[2], 0, &err) : json_loadf(stdin, 0, &err);
	if (!root) {
		fprintf(stderr, "jget: bad JSON: %s (line %d)\n", err.text, err.line);
		return 2;
	}
	v = root;
	path = strdup(argv[1]);
	for (tok = strtok_r(path, ".", &save); tok && v; tok = strtok_r(NULL, ".", &save)) {
		if (!strcmp(tok, "#")) {
			printf("%zu\n", json_is_array(v) ? json_array_size(v) : json_object_size(v));
			goto done;
		}
		if (json_is_array(v))
			v = json_array_get(v, strtoul(tok, NULL, 10));
		else
			v = json_object_get(v, tok);
	}
	if (!v) {
		rc = 1;
	} else if (json_is_string(v)) {
		puts(json_string_value(v));
	} else {
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		puts(s);
		free(s);
	}
done:
	/* free everything: under LeakSanitizer a leak loses the unflushed output */
	free(path);
	json_decref(root);
	return rc;
}
