#!/bin/sh
# Every fuzz target (test/fuzz/fuzz_<name>.c), built without libFuzzer,
# over its seeds (test/fuzz/<name>/) and the inputs that once crashed it
# (test/fuzz/regress/<name>/): each input once.  `make fuzz` does the
# fuzzing itself.
. "$(dirname "$0")/lib.sh"
FUZZ="$(dirname "$MVC")/fuzz"
for src in "$MVC_SRC"/test/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	short=${name#fuzz_}
	if [ ! -x "$FUZZ/$name" ]; then
		not_ok "$name is built ($FUZZ/$name)"
		continue
	fi
	set --
	for d in "$MVC_SRC/test/fuzz/$short" "$MVC_SRC/test/fuzz/regress/$short"; do
		[ -d "$d" ] && set -- "$@" "$d"
	done
	if [ $# -eq 0 ]; then
		not_ok "$name has seeds in test/fuzz/$short"
		continue
	fi
	check "$name: its seeds and saved crash inputs ($(cat "$@"/* 2>/dev/null | wc -c | tr -d ' ') bytes)" \
	    "$FUZZ/$name" "$@"
done
finish
