# Shared by the CLI tests (POSIX sh).  Each test file sources this, then
# calls the helpers; every check prints "ok - ..." or "not ok - ...".
#   MVC      the mvc binary      MKMODEL  the fixture generator
#   MVC_SRC  the source tree
set -u
: "${MVC:?MVC must name the mvc binary}"
: "${MKMODEL:=$(dirname "$MVC")/tools/mkmodel}"
: "${MVC_SRC:=.}"
export GIT_AUTHOR_NAME="mvc test" GIT_AUTHOR_EMAIL="test@example.com"
export GIT_COMMITTER_NAME="mvc test" GIT_COMMITTER_EMAIL="test@example.com"
export GIT_CONFIG_NOSYSTEM=1 HOME="${TMPDIR:-/tmp}"
unset MVC_DIR MVC_WORK_TREE

T=$(mktemp -d "${TMPDIR:-/tmp}/mvc-cli.XXXXXX")
trap 'rm -rf "$T"' EXIT
failures=0
SHARED_DATA="$MVC_SRC/../shared/data"

ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; failures=$((failures + 1)); }
skip() { echo "ok - $* # SKIP"; }
check() { # desc, command...: passes when the command exits 0
	d=$1; shift
	if "$@" >"$T/.out" 2>&1; then ok "$d"; else not_ok "$d"; sed 's/^/#   /' "$T/.out"; fi
}
# expect CODE "substring of stderr" desc command...
expect() {
	code=$1 msg=$2 d=$3; shift 3
	"$@" >"$T/.stdout" 2>"$T/.stderr"
	rc=$?
	if [ "$rc" -ne "$code" ]; then
		not_ok "$d (exit $rc, wanted $code)"; sed 's/^/#   /' "$T/.stderr"
	elif [ -n "$msg" ] && ! grep -qF -- "$msg" "$T/.stderr"; then
		not_ok "$d (stderr lacks '$msg')"; sed 's/^/#   /' "$T/.stderr"
	elif [ "$code" -eq 2 ] && ! grep -q '^mvc: ' "$T/.stderr"; then
		not_ok "$d (no 'mvc: ' message)"; sed 's/^/#   /' "$T/.stderr"
	else
		ok "$d"
	fi
}
# A fingerprint of a store's refs and objects, to show nothing changed.
snapshot() { # store-dir
	{ git --git-dir="$1" for-each-ref --format='%(objectname) %(refname)'
	  git --git-dir="$1" symbolic-ref -q HEAD
	  find "$1/objects" -type f | sort; } 2>/dev/null | cksum
}
same_file() { cmp -s "$1" "$2"; }
finish() {
	[ "$failures" -eq 0 ] || { echo "# $failures failed"; exit 1; }
	exit 0
}
# Turn every pack of a store into loose objects (for tests that damage one object).
explode_packs() { # store-dir
	mkdir -p "$1/packs.old"
	for p in "$1"/objects/pack/*.pack; do
		[ -f "$p" ] || continue
		mv "$p" "${p%.pack}.idx" "$1/packs.old/"
	done
	for p in "$1"/packs.old/*.pack; do
		[ -f "$p" ] && git --git-dir="$1" unpack-objects -q <"$p"
	done
	rm -rf "$1/packs.old"
}
