#!/bin/sh
# Run every test: the cmocka unit tests, then the CLI tests that drive the
# real mvc binary against real git.  Ends with "N passed, N failed".
#   MVC_BUILD   build directory (default: ./build)
#   TESTS       only run tests whose file name matches this pattern
#   MVC_VALGRIND=1  every mvc and unit-test process under valgrind memcheck
#               (make check-valgrind): any error or leak it reports fails
set -u
cd "$(dirname "$0")/.."
src=$(pwd)
build=${MVC_BUILD:-$src/build}
pass=0 fail=0 skip=0 failed=""
log=$(mktemp -d "${TMPDIR:-/tmp}/mvc-test-log.XXXXXX")
vg="" wrap=""
if [ -n "${MVC_VALGRIND:-}" ]; then
	# A shadow of the build directory whose mvc runs under memcheck, so
	# that tests finding tools beside $MVC still find them.  Each process
	# logs to its own file; a non-empty log is a failure.
	vg="$log/valgrind"
	mkdir -p "$vg/build" "$vg/logs"
	for f in "$build"/* "$build"/.[!.]*; do
		[ -e "$f" ] && [ "$(basename "$f")" != mvc ] && ln -s "$f" "$vg/build/"
	done
	vgcmd="valgrind -q --error-exitcode=99 --leak-check=full \
--show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible \
--num-callers=30 --log-file=$vg/logs/%p.log"
	printf '#!/bin/sh\nexec %s %s "$@"\n' "$vgcmd" "$build/mvc" >"$vg/build/mvc"
	chmod +x "$vg/build/mvc"
	wrap=$vgcmd
fi

run_one() { # name, command...
	name=$1; shift
	out="$log/$(basename "$name").out"
	"$@" >"$out" 2>&1
	rc=$?
	p=$(grep -c '^ok ' "$out")
	f=$(grep -c '^not ok ' "$out")
	s=$(grep -c '^ok .*# SKIP' "$out")
	# cmocka: "[  PASSED  ] N test(s)." / "[  FAILED  ] N test(s)"
	cp_=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -n 1)
	cf_=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -n 1)
	p=$((p + ${cp_:-0} - s)); f=$((f + ${cf_:-0}))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
	if [ "$f" -gt 0 ]; then
		failed="$failed $name"
		echo "FAIL $name ($p passed, $f failed)"
		grep -E '^not ok|FAILED|ERROR|error:|Assert|ASan|runtime error|mvc:' "$out" | head -n 40 | sed 's/^/    /'
	else
		if [ "$s" -gt 0 ]; then echo "PASS $name ($p passed, $s skipped)"; else echo "PASS $name ($p passed)"; fi
	fi
}

for t in "$build"/test/test_*; do
	[ -x "$t" ] || continue
	case "$(basename "$t")" in *.o|*.d) continue ;; esac
	[ -n "${TESTS:-}" ] && case "$t" in *$TESTS*) ;; *) continue ;; esac
	# shellcheck disable=SC2086 # $wrap: valgrind and its options, or nothing
	run_one "$(basename "$t")" $wrap "$t"
done
[ -n "$vg" ] && build="$vg/build"
for t in "$src"/test/cli/test_*.sh; do
	[ -f "$t" ] || continue
	[ -n "${TESTS:-}" ] && case "$t" in *$TESTS*) ;; *) continue ;; esac
	run_one "$(basename "$t")" env MVC="$build/mvc" MKMODEL="$build/tools/mkmodel" \
	    MVC_SRC="$src" sh "$t"
done
if [ -n "$vg" ]; then
	bad=$(find "$vg/logs" -type f -size +0 | wc -l)
	runs=$(find "$vg/logs" -type f | wc -l)
	echo "valgrind: $runs processes, $bad with errors or leaks"
	if [ "$bad" -gt 0 ]; then
		fail=$((fail + bad)); failed="$failed valgrind"
		find "$vg/logs" -type f -size +0 | head -n 5 | while read -r l; do
			echo "== $l"; head -n 40 "$l"
		done
	fi
fi
echo
[ -n "$failed" ] && echo "failed:$failed (logs in $log)"
[ -z "$failed" ] && rm -rf "$log"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
