#!/bin/sh
# Faults.  mvc commit, aggregate, rollback and checkout killed with SIGKILL
# at random points (over a hundred kills), then git fsck, mvc fsck (or a
# checkout of every version), every ref a complete version, no version
# lost, and the working file the whole old one or the whole new one.  A
# full disk (test/tools/fault.so, and a real tmpfs when mount is allowed):
# a clear message, no half-written model, the store still usable.  Bit
# flips in pack files and in single objects: checkout, diff, aggregate and
# score refuse damaged data, naming it, and never give a wrong model.
#   MVC_FAULT_KILLS   runs cut short by the kill, per command (default 26)
#   MVC_FAULT_SEED    seed of the random delays and flips (default 1)
#   MVC_FAULT_ONLY    only this part: crash, full or bits
. "$(dirname "$0")/lib.sh"
FAULT="$(dirname "$MVC")/tools/fault.so"
KILLS=${MVC_FAULT_KILLS:-26}
# more runs until KILLS of them were cut short (a kill may come too late)
more() { [ $((killed - before)) -lt "$KILLS" ] && [ "$n" -lt $((KILLS * 4)) ]; }
part() { [ -z "${MVC_FAULT_ONLY:-}" ] || [ "$MVC_FAULT_ONLY" = "$1" ]; }
SEED=${MVC_FAULT_SEED:-1}
# An LD_PRELOAD before a sanitizer runtime is fine for these tests.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"

# rnd N MAX: a number in [0, MAX) from seed SEED and N, three decimals
rnd() { awk -v s="$SEED" -v n="$1" -v m="$2" 'BEGIN { srand(s * 7919 + n); printf "%.3f\n", rand() * m }'; }
# delay N SPAN: when to kill a run that took SPAN seconds once (runs vary:
# aim at the first 80% of it)
delay() { rnd "$1" "$(awk -v m="$2" 'BEGIN { print m * 0.8 }')"; }
# rint N MAX: an integer in [0, MAX)
rint() { awk -v s="$SEED" -v n="$1" -v m="$2" 'BEGIN { srand(s * 104729 + n); printf "%d\n", int(rand() * m) }'; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f\n", b - a }'; }
# flip FILE OFFSET BIT: flip one bit of a file in place
flip() {
	v=$(od -An -tu1 -j"$2" -N1 "$1" | tr -d ' ')
	v=$((v ^ (1 << $3)))
	chmod u+w "$1"
	printf "\\$(printf %03o "$v")" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
size_of() { wc -c <"$1" | tr -d ' '; }
has_fsck() { "$MVC" fsck -h >/dev/null 2>&1; }
# verify_store DIR: git fsck, then mvc fsck --full, or every ref checked out
verify_store() {
	git --git-dir="$1/.mvc" fsck --no-progress >"$T/gitfsck" 2>&1 || { cat "$T/gitfsck"; return 1; }
	if has_fsck; then
		MVC_DIR="$1/.mvc" "$MVC" fsck --full >"$T/mvcfsck" 2>&1 || { cat "$T/mvcfsck"; return 1; }
	else
		for ref in $(git --git-dir="$1/.mvc" for-each-ref --format='%(refname)' refs/heads refs/tags); do
			MVC_DIR="$1/.mvc" "$MVC" checkout -o "$T/verify.out" "$ref" >/dev/null || return 1
		done
		rm -f "$T/verify.out"
	fi
}
# run_killed DELAY CMD...: start CMD, SIGKILL it after DELAY seconds;
# `killed` counts the runs the signal cut short.  A run that ended before
# its kill makes `span` (what the delays are drawn from) a little shorter.
run_killed() {
	d=$1; shift
	"$@" >/dev/null 2>&1 &
	pid=$!
	sleep "$d"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	if [ $? -eq 137 ]; then
		killed=$((killed + 1))
	else
		span=$(awk -v m="$span" 'BEGIN { printf "%.3f\n", m * 0.85 }')
	fi
	true
}
remember() { git --git-dir=.mvc rev-parse HEAD >>"$T/known"; sort -u -o "$T/known" "$T/known"; }
# quick checks after each kill: objects connected, every version seen so
# far still in the history, every ref a complete version (mvc fsck without
# decoding chunks; mvc show HEAD where there is no fsck)
after_kill() { # what
	if ! git --git-dir=.mvc fsck --connectivity-only --no-progress >"$T/conn" 2>&1; then
		not_ok "$1: the store is connected"; sed 's/^/#   /' "$T/conn"; return
	fi
	git --git-dir=.mvc rev-list --all >"$T/all"
	if [ "$(grep -cFx -f "$T/known" "$T/all")" -ne "$(wc -l <"$T/known")" ]; then
		not_ok "$1: a version committed before was lost"; return
	fi
	if has_fsck; then
		"$MVC" fsck >"$T/show" 2>&1 || { not_ok "$1: mvc fsck"; sed 's/^/#   /' "$T/show"; return; }
	else
		"$MVC" show HEAD >/dev/null 2>"$T/show" || { not_ok "$1: HEAD names a complete version"; return; }
	fi
	remember
}

# ---- crash consistency ----
if part crash; then
cd "$T"
"$MVC" init -q crash && cd crash
i=1
while [ $i -le 4 ]; do
	"$MKMODEL" --preset recsys --size 16M --version $i --retrain 0.3 "$T/v$i.st" >/dev/null
	i=$((i + 1))
done
cp "$T/v1.st" model.st
"$MVC" commit -q -m v1 model.st
"$MVC" tag v1
: >"$T/known"
remember
killed=0 started=$(now)

# commit: how long one takes here, then kills anywhere in that time
cp "$T/v2.st" model.st
t0=$(now); "$MVC" commit -q -m v2; span=$(elapsed "$t0")
before=$killed
"$MVC" tag v2
remember
n=0
while more; do
	cp "$T/v$((n % 3 + 2)).st" model.st
	run_killed "$(delay $n "$span")" "$MVC" commit -m "commit $n"
	after_kill "commit killed ($n)"
	n=$((n + 1))
done
check "commit: $((killed - before)) of $n runs cut short by a kill at random" test $((killed - before)) -ge "$KILLS"

# aggregate: two site branches, each round killed
"$MVC" branch sites/a v1
"$MVC" branch sites/b v2
t0=$(now); "$MVC" aggregate -q --no-checkout --method mean -m "round 0" sites/a sites/b; span=$(elapsed "$t0")
before=$killed
remember
n=0
while more; do
	run_killed "$(delay $((n + 1000)) "$span")" "$MVC" aggregate --no-checkout --method mean -m "round $n" sites/a sites/b
	after_kill "aggregate killed ($n)"
	n=$((n + 1))
done
check "aggregate: $((killed - before)) of $n runs cut short by a kill at random" test $((killed - before)) -ge "$KILLS"

# rollback of the branch
t0=$(now); "$MVC" rollback -q --force -m "rollback 0"; span=$(elapsed "$t0")
before=$killed
remember
n=0
while more; do
	run_killed "$(delay $((n + 2000)) "$span")" "$MVC" rollback --force -m "rollback $n"
	after_kill "rollback killed ($n)"
	n=$((n + 1))
done
check "rollback: $((killed - before)) of $n runs cut short by a kill at random" test $((killed - before)) -ge "$KILLS"

# checkout: v1 and v2 in turn; the file is always one of them, whole
"$MVC" checkout -f v1 >/dev/null
check "checkout writes v1" same_file model.st "$T/v1.st"
t0=$(now); "$MVC" checkout -f v2 >/dev/null; span=$(elapsed "$t0")
before=$killed
cur=2 n=0 torn=0
while more; do
	next=$((3 - cur))
	run_killed "$(delay $((n + 3000)) "$span")" "$MVC" checkout -f "v$next"
	if same_file model.st "$T/v$next.st"; then
		cur=$next
	elif ! same_file model.st "$T/v$cur.st"; then
		torn=$((torn + 1))
		not_ok "checkout killed ($n): model.st is neither the old nor the new version"
		cp "$T/v$cur.st" model.st
	fi
	# a temporary file may be left behind, under its own name only; the
	# next checkout removes it (below)
	after_kill "checkout killed ($n)"
	n=$((n + 1))
done
check "checkout: $((killed - before)) of $n runs cut short by a kill at random" test $((killed - before)) -ge "$KILLS"
check "checkout: never a torn model.st" test "$torn" -eq 0
left=$(ls -A | grep -c '^\.model\.st\.mvc-' || true)
echo "# temporary files left by killed checkouts: $left"
sleep 2 # a dead writer's file is left alone until it is 2 s old
"$MVC" checkout -f "v$((3 - cur))" >/dev/null
check "the next checkout removes what killed ones left ($left files)" \
    sh -c "! ls -A | grep -q '^\.model\.st\.mvc-'"
check "over 100 kills landed while a command ran ($killed)" test "$killed" -ge 100
echo "# crash consistency: $(elapsed "$started")s"
check "after all the kills: git fsck and mvc fsck --full (or a checkout of every ref) pass" verify_store "$T/crash"
check "every version committed before a kill is still there" \
    test "$(git --git-dir=.mvc rev-list --all | grep -cFx -f "$T/known")" -eq "$(wc -l <"$T/known")"
cp "$T/v4.st" model.st
check "and the next commit works" "$MVC" commit -q -m "after the kills"
check "a checkout of it is whole" sh -c "'$MVC' checkout -o '$T/back.st' HEAD >/dev/null && cmp -s '$T/back.st' '$T/v4.st'"

fi

# ---- a full disk ----
if part full; then
cd "$T"
[ -f "$T/v1.st" ] || "$MKMODEL" --preset recsys --size 16M --version 1 "$T/v1.st" >/dev/null
i=2
while [ $i -le 4 ]; do
	[ -f "$T/v$i.st" ] || "$MKMODEL" --preset recsys --size 16M --version $i --retrain 0.3 "$T/v$i.st" >/dev/null
	i=$((i + 1))
done
"$MVC" init -q full && cd full
cp "$T/v1.st" model.st
"$MVC" commit -q -m v1 model.st
"$MVC" tag v1
if [ ! -f "$FAULT" ]; then
	skip "disk full: $FAULT was not built"
else
	ver=2
	# a commit here writes about 4 MB: every budget runs out before the end
	for budget in 0 4096 262144 1000000 3000000; do
		head=$(git --git-dir=.mvc rev-parse HEAD)
		cp "$T/v$ver.st" model.st
		LD_PRELOAD="$FAULT" MVC_FAULT_ENOSPC_AFTER=$budget "$MVC" commit -m "full $budget" \
		    >"$T/.stdout" 2>"$T/.stderr"
		rc=$?
		if [ $rc -eq 2 ] && grep -q "No space left on device" "$T/.stderr"; then
			ok "commit onto a full disk ($budget bytes free) fails and says so"
		else
			not_ok "commit onto a full disk ($budget bytes free): exit $rc"; sed 's/^/#   /' "$T/.stderr"
		fi
		check "  ($budget) the branch did not move" test "$(git --git-dir=.mvc rev-parse HEAD)" = "$head"
		check "  ($budget) no temporary pack is left" sh -c "! ls .mvc/objects/pack | grep -q tmp_"
		check "  ($budget) git fsck passes" git --git-dir=.mvc fsck --no-progress
		check "  ($budget) the next commit, with space, works" "$MVC" commit -q -m "v$ver"
		ver=$((ver % 3 + 2))
	done
	# checkout onto a full disk: the old file stays whole
	"$MVC" checkout -f v1 >/dev/null
	expect 2 "No space left on device" "checkout onto a full disk fails and says so" \
	    env LD_PRELOAD="$FAULT" MVC_FAULT_ENOSPC_AFTER=1000000 "$MVC" checkout -f HEAD
	check "the file there before is untouched" same_file model.st "$T/v1.st"
	check "no temporary file is left" sh -c "! ls -a | grep -q '\\.mvc-'"
	expect 2 "No space left on device" "checkout -o onto a full disk" \
	    env LD_PRELOAD="$FAULT" MVC_FAULT_ENOSPC_AFTER=100 "$MVC" checkout -o "$T/out.st" v1
	check "nothing is written at the -o path" test ! -e "$T/out.st"
	check "checkout with space works" "$MVC" checkout -f HEAD
	check "git fsck passes after it all" git --git-dir=.mvc fsck --no-progress
fi
# a real small file system, when this machine lets the test mount one
mkdir "$T/small"
if mount -t tmpfs -o size=8m tmpfs "$T/small" 2>/dev/null; then
	trap 'umount "$T/small" 2>/dev/null; rm -rf "$T"' EXIT
	"$MKMODEL" --preset recsys --size 2M --version 1 "$T/s1.st" >/dev/null
	"$MKMODEL" --preset recsys --size 2M --version 2 --retrain 1 "$T/s2.st" >/dev/null
	"$MVC" init -q "$T/small/r" && cd "$T/small/r"
	cp "$T/s1.st" m.st
	"$MVC" commit -q -m s1 m.st
	head=$(git --git-dir=.mvc rev-parse HEAD)
	cp "$T/s2.st" m.st
	dd if=/dev/zero of="$T/small/filler" bs=64k 2>/dev/null   # until it is full
	expect 2 "No space left on device" "tmpfs: commit onto a full file system" "$MVC" commit -m s2
	check "tmpfs: the branch did not move" test "$(git --git-dir=.mvc rev-parse HEAD)" = "$head"
	expect 2 "No space left on device" "tmpfs: checkout onto a full file system" "$MVC" checkout -f HEAD
	check "tmpfs: the file there before is untouched" same_file m.st "$T/s2.st"
	check "tmpfs: no temporary file is left" sh -c "! ls -a | grep -q '\\.mvc-'"
	rm -f "$T/small/filler"
	check "tmpfs: with space again, the commit works" "$MVC" commit -q -m s2
	check "tmpfs: git fsck passes" git --git-dir=.mvc fsck --no-progress
	cd "$T"
	umount "$T/small"
else
	skip "a real full file system: this machine does not let the test mount a tmpfs"
fi

fi

# ---- corruption ----
if part bits; then
cd "$T"
"$MVC" init -q bits && cd bits
git --git-dir=.mvc config mvc.chunkSize 65536
"$MKMODEL" --preset recsys --size 2M --version 1 "$T/b1.st" >/dev/null
"$MKMODEL" --preset recsys --size 2M --version 2 --retrain 0.2 "$T/b2.st" >/dev/null
cp "$T/b1.st" m.st
"$MVC" commit -q -m b1 m.st
"$MVC" branch sites/a
cp "$T/b2.st" m.st
"$MVC" commit -q -m b2
"$MVC" branch sites/b
"$MVC" diff HEAD~1 HEAD >"$T/diff.good"
"$MVC" aggregate --dry-run --method mean sites/a sites/b >"$T/agg.good"
printf 'user,item\n0,1\n1,2\n2,3\n3,5\n7,11\n' >"$T/test.csv"
score() { timeout 60 "$MVC" score -n --eval retrieval --items item_emb.weight --users user_emb.weight \
    --test "$T/test.csv" HEAD; }
score >"$T/score.good"
# results: good (the right answer), refused (exit 2 and a message) or
# wrong (exit 0 with a wrong answer, or a hang: never)
good=0 refused=0 wrong=0 fsck_found=0
judge() { # rc, what, good-check...
	rc=$1 what=$2; shift 2
	if [ "$rc" -eq 0 ] && "$@"; then
		good=$((good + 1))
	elif [ "$rc" -eq 2 ] && grep -q '^mvc: ' "$T/err"; then
		refused=$((refused + 1))
	else
		wrong=$((wrong + 1))
		not_ok "$what: exit $rc with damaged data"; sed 's/^/#   /' "$T/err"
	fi
}
n=0
while [ $n -lt 40 ]; do
	rm -rf "$T/dmg"; cp -R "$T/bits" "$T/dmg"
	packs=$(ls "$T/dmg/.mvc/objects/pack/"*.pack)
	p=$(echo "$packs" | sed -n "$(( $(rint $n 1000) % $(echo "$packs" | wc -l) + 1 ))p")
	flip "$p" "$(rint $((n + 500)) "$(size_of "$p")")" "$(rint $((n + 900)) 8)"
	refused_before=$refused
	cd "$T/dmg"
	rm -f "$T/out.st"
	timeout 60 "$MVC" checkout -o "$T/out.st" HEAD 2>"$T/err" >/dev/null
	judge $? "checkout (pack flip $n)" same_file "$T/out.st" "$T/b2.st"
	timeout 60 "$MVC" diff HEAD~1 HEAD >"$T/out.diff" 2>"$T/err"
	judge $? "diff (pack flip $n)" cmp -s "$T/out.diff" "$T/diff.good"
	timeout 60 "$MVC" aggregate --dry-run --method mean sites/a sites/b >"$T/out.agg" 2>"$T/err"
	judge $? "aggregate (pack flip $n)" cmp -s "$T/out.agg" "$T/agg.good"
	score >"$T/out.score" 2>"$T/err"
	judge $? "score (pack flip $n)" cmp -s "$T/out.score" "$T/score.good"
	# fsck --full: finds the damage (exit 1, naming it) or there is none
	# that a command above tripped on
	timeout 60 "$MVC" fsck --full >"$T/out.fsck" 2>"$T/err"
	rc=$?
	if [ $rc -eq 1 ] && grep -q "object [0-9a-f]\{40\}\|damaged\|cannot" "$T/out.fsck"; then
		fsck_found=$((fsck_found + 1))
	elif [ $rc -ne 0 ] || [ "$refused" -ne "$refused_before" ]; then
		wrong=$((wrong + 1))
		not_ok "fsck --full (pack flip $n): exit $rc"; sed 's/^/#   /' "$T/out.fsck" "$T/err"
	fi
	cd "$T/bits"
	n=$((n + 1))
done
check "pack bit flips: never a wrong answer or a hang ($good right, $refused refused; fsck found $fsck_found)" test $wrong -eq 0
check "and most flips were refused" test $refused -gt 20

# one object at a time: the packs as loose objects, one chunk damaged
rm -rf "$T/loose"; cp -R "$T/bits" "$T/loose"
explode_packs "$T/loose/.mvc"
# chunks of HEAD (not the delta bases their trees name)
git --git-dir="$T/loose/.mvc" ls-tree -r HEAD m.st/t | awk '$4 !~ /-/ { print $3 }' >"$T/chunks"
nchunks=$(wc -l <"$T/chunks")
cd "$T/loose"
n=0 named=0
while [ $n -lt 12 ]; do
	blob=$(sed -n "$(( $(rint $((n + 40)) "$nchunks") + 1 ))p" "$T/chunks")
	obj=".mvc/objects/$(echo "$blob" | cut -c1-2)/$(echo "$blob" | cut -c3-)"
	cp "$obj" "$T/obj.saved"
	case $((n % 3)) in
	0) flip "$obj" "$(rint $((n + 60)) "$(size_of "$obj")")" "$(rint $((n + 80)) 8)" ;;
	1) chmod u+w "$obj"; head -c "$(( $(size_of "$obj") / 2 ))" "$T/obj.saved" >"$obj" ;;
	2) # other bytes that inflate cleanly under the same name (libgit2
	   # does not re-hash objects mvc reads: the chunk digest must catch it)
	   git --git-dir=.mvc cat-file blob "$blob" >"$T/raw"
	   flip "$T/raw" "$(( $(size_of "$T/raw") - 1 ))" 0
	   new=$(git --git-dir=.mvc hash-object -w "$T/raw")
	   chmod u+w "$obj"
	   cp ".mvc/objects/$(echo "$new" | cut -c1-2)/$(echo "$new" | cut -c3-)" "$obj" ;;
	esac
	rm -f "$T/out.st"
	timeout 60 "$MVC" checkout -o "$T/out.st" HEAD 2>"$T/err" >/dev/null
	judge $? "checkout (object $blob damaged, kind $((n % 3)))" false
	if grep -q "tensor '.*': chunk [0-9]*: .*$blob" "$T/err"; then
		named=$((named + 1))
	else
		echo "# not named: $(cat "$T/err")"
	fi
	# diff need not read a chunk both versions share: a right answer is fine
	timeout 60 "$MVC" diff HEAD~1 HEAD >"$T/out.diff" 2>"$T/err"
	judge $? "diff (object $blob damaged, kind $((n % 3)))" cmp -s "$T/out.diff" "$T/diff.good"
	timeout 60 "$MVC" aggregate --dry-run --method mean sites/a sites/b >"$T/out.agg" 2>"$T/err"
	judge $? "aggregate (object $blob damaged, kind $((n % 3)))" cmp -s "$T/out.agg" "$T/agg.good"
	score >"$T/out.score" 2>"$T/err"
	judge $? "score (object $blob damaged, kind $((n % 3)))" cmp -s "$T/out.score" "$T/score.good"
	timeout 60 "$MVC" fsck --full >"$T/out.fsck" 2>"$T/err"
	rc=$?
	if [ $rc -eq 1 ] && grep -q "$blob" "$T/out.fsck"; then
		fsck_found=$((fsck_found + 1))
	else
		not_ok "fsck --full (object $blob damaged, kind $((n % 3))): exit $rc, not named"
		sed 's/^/#   /' "$T/out.fsck" "$T/err"
	fi
	cp "$T/obj.saved" "$obj"
	n=$((n + 1))
done
check "a damaged chunk object is refused, and named ($named of 12)" test $named -eq 12
check "nothing was written at the -o path" test ! -e "$T/out.st"
check "whole again, the store reads" "$MVC" checkout -o "$T/out.st" HEAD
check "  and gives the right model" same_file "$T/out.st" "$T/b2.st"
fi
finish
