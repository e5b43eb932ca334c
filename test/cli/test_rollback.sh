#!/bin/sh
# Channels, rollback, branch, switch and tag against real git: what the
# refs and objects look like, what survives gc and a mirror clone, bad
# input that must move nothing, and processes racing on one branch or
# one channel.
. "$(dirname "$0")/lib.sh"
JGET="$(dirname "$MVC")/tools/jget"

# mk VERSION FILE: day VERSION of a ~1 MiB model (a third of its rows retrained each day)
mk() {
	"$MKMODEL" --seed 3 --version "$1" --retrain 0.3 --tensor 'emb:F32:1024x256' \
	    --tensor 'dense.weight:F32:256x16' --tensor 'step:I64:-' "$2" >/dev/null
}
g() { git --git-dir=.mvc "$@"; }
# the loose objects and pack bytes of the store, for "what did this add"
objcount() { g count-objects -v | sed -n 's/^count: //p'; }
packsize() { g count-objects -v | sed -n 's/^size-pack: //p'; }

cd "$T"
"$MVC" init -q models
cd models
for i in 1 2 3 4 5; do
	mk "$i" "$T/v$i.st"
	cp "$T/v$i.st" model.safetensors
	"$MVC" commit -q -m "day $i" --meta day="$i" model.safetensors
	eval "id$i=\$(g rev-parse HEAD)"
done

# --- channels -------------------------------------------------------------
before=$(objcount)
expect 0 "" "channel set creates a channel" "$MVC" channel set production "$id2" -m "first deploy"
check "the channel is a ref under refs/mvc/channels" g rev-parse -q --verify refs/mvc/channels/production
check "a move has the target's tree" test "$(g rev-parse refs/mvc/channels/production^{tree})" = "$(g rev-parse "$id2^{tree}")"
check "the first move's only parent is the target" test "$(g rev-list --parents -n 1 refs/mvc/channels/production | cut -d' ' -f2-)" = "$id2"
check "a move costs one object" test "$(objcount)" -eq $((before + 1))
g cat-file commit refs/mvc/channels/production >"$T/move"
check "the move records the channel" grep -qx 'Channel: production' "$T/move"
check "the move records the target" grep -qx "Channel-Target: $id2" "$T/move"
check "the move records the reason" grep -qx 'first deploy' "$T/move"
check "the move records the action" grep -qx 'Channel-Action: set' "$T/move"
check "the first move comes from nothing" grep -qx 'Channel-From: none' "$T/move"
check "the move records who moved it" grep -q '^committer mvc test <test@example.com>' "$T/move"
first=$(g rev-parse refs/mvc/channels/production)
"$MVC" channel set -q production "$id3"
"$MVC" channel set production HEAD~1 -m "nightly promotion" >"$T/out"
check "channel set says from and to" grep -q "production: $(echo "$id3" | cut -c1-12) -> $(echo "$id4" | cut -c1-12)" "$T/out"
check "a later move's parents are the previous move and the target" test "$(g rev-list --parents -n 1 refs/mvc/channels/production | cut -d' ' -f2-)" = "$(g rev-parse refs/mvc/channels/production~1) $id4"
check "the ref only fast-forwards" g merge-base --is-ancestor "$first" refs/mvc/channels/production
before=$(snapshot .mvc)
"$MVC" channel set production "$id4" >"$T/out"
check "setting the current target again moves nothing" test "$(snapshot .mvc)" = "$before"
check "... and says so" grep -q 'already points at' "$T/out"
"$MVC" channel set --json staging production >"$T/set.json"
check "channel set --json: the target" test "$("$JGET" target "$T/set.json")" = "$id4"
check "channel set --json: the move" test "$("$JGET" move "$T/set.json")" = "$(g rev-parse refs/mvc/channels/staging)"
check "channel set --json: moved" test "$("$JGET" moved "$T/set.json")" = true

"$MVC" channel list >"$T/list"
check "channel list names every channel" test "$(wc -l <"$T/list")" -eq 2
check "channel list shows the target" grep -q "^production .*$(echo "$id4" | cut -c1-12)  day 4" "$T/list"
"$MVC" channel list --json >"$T/list.json"
check "channel list --json" test "$("$JGET" channels.0.name "$T/list.json") $("$JGET" channels.0.target "$T/list.json")" = "production $id4"
check "channel list --json: the last move's reason" test "$("$JGET" channels.0.last_move.reason "$T/list.json")" = "nightly promotion"
"$MVC" channel log production >"$T/clog"
check "channel log: one line per move" test "$(wc -l <"$T/clog")" -eq 3
check "channel log: newest first, from and to" sh -c "head -n 1 '$T/clog' | grep -q 'set .*$(echo "$id3" | cut -c1-12) -> $(echo "$id4" | cut -c1-12)  mvc test <test@example.com>: nightly promotion'"
check "channel log -n 1" test "$("$MVC" channel log -n 1 production | wc -l)" -eq 1
"$MVC" channel log --json production >"$T/clog.json"
check "channel log --json: moves" test "$("$JGET" moves.# "$T/clog.json")" = 3
check "channel log --json: the first move has no from" test "$("$JGET" moves.2.from "$T/clog.json")" = null
check "channel log --json: reason" test "$("$JGET" moves.2.reason "$T/clog.json")" = "first deploy"
check "channel log --json: who" test "$("$JGET" moves.0.by.email "$T/clog.json")" = test@example.com

# a channel is a revision
expect 0 "" "checkout of a channel" "$MVC" checkout production -o "$T/prod.st"
check "checkout production gives the target's bytes" same_file "$T/prod.st" "$T/v4.st"
check "show of a channel shows its version" sh -c "'$MVC' show production | grep -q 'day 4'"
check "production~1 is the target's parent" sh -c "'$MVC' log --oneline -n 1 production~1 | grep -q 'day 3'"
"$MVC" log --oneline >"$T/lo"
check "log decorates the versions channels point at" grep -q "^$(echo "$id4" | cut -c1-12) (.*channel: production.*) day 4" "$T/lo"
check "... every channel" grep -q "^$(echo "$id4" | cut -c1-12) (.*channel: staging.*) day 4" "$T/lo"
check "the full log shows channels too" sh -c "'$MVC' log -n 2 | grep -q '^version $id4 (.*channel: production'"
check "log --json lists channels in refs" sh -c "'$MVC' log --json -n 2 | grep -q '\"channel:production\"'"
"$MVC" log --channel production --oneline >"$T/lc"
check "log --channel: the versions it pointed at, last deployed first" test "$(cut -c1-12 "$T/lc" | tr '\n' ' ')" = "$(echo "$id4" | cut -c1-12) $(echo "$id3" | cut -c1-12) $(echo "$id2" | cut -c1-12) "

# --- channel rollback -----------------------------------------------------
expect 0 "" "rollback of a channel" "$MVC" rollback production -m "CTR dropped 3%"
check "rollback goes back to the target before" test "$("$MVC" show --json production | "$JGET" id)" = "$id3"
check "the rollback is a move with the reason" sh -c "git --git-dir=.mvc log -1 --format=%B refs/mvc/channels/production | grep -qx 'CTR dropped 3%'"
check "the move says it is a rollback" sh -c "git --git-dir=.mvc log -1 --format=%B refs/mvc/channels/production | grep -qx 'Channel-Action: rollback'"
"$MVC" rollback --json production >"$T/rb.json"
check "a second rollback goes further back" test "$("$JGET" target "$T/rb.json")" = "$id2"
check "rollback --json: from" test "$("$JGET" from "$T/rb.json")" = "$id3"
before=$(snapshot .mvc)
expect 2 "no earlier version" "rolling back past the first target is refused" "$MVC" rollback production
check "... and moves nothing" test "$(snapshot .mvc)" = "$before"
expect 2 "fewer than 3" "rollback --steps past the first is refused" "$MVC" rollback --steps 3 production
check "... and moves nothing" test "$(snapshot .mvc)" = "$before"
expect 0 "" "rollback --to any version" "$MVC" rollback --to "$id5" production -m "hotfix"
check "rollback --to moves there" test "$("$MVC" show --json production | "$JGET" id)" = "$id5"
for i in 1 2 3; do "$MVC" channel set -q canary "$(eval echo "\$id$i")"; done
"$MVC" channel set -q canary "$id5"
expect 0 "" "rollback --steps 2" "$MVC" rollback --steps 2 canary
check "--steps 2 skips one good target" test "$("$MVC" show --json canary | "$JGET" id)" = "$id2"
check "channel log shows the rollback" sh -c "'$MVC' channel log -n 1 canary | grep -q 'rollback .*-> $(echo "$id2" | cut -c1-12)'"

# bad input: clear message, exit 2, nothing moved
before=$(snapshot .mvc)
expect 2 "no channel 'nosuch'" "rollback of an unknown channel" "$MVC" rollback nosuch
expect 2 "unknown revision" "rollback --to an unknown revision" "$MVC" rollback --to nosuch production
expect 2 "already points at" "rollback --to the current target" "$MVC" rollback --to "$id5" production
expect 2 "not a valid channel name" "a channel name with a space" "$MVC" channel set 'a b' HEAD
expect 2 "not a valid channel name" "a channel name with '..'" "$MVC" channel set '..' HEAD
expect 2 "not a valid channel name" "a channel name climbing out" "$MVC" channel set '../heads/main' HEAD
expect 2 "must not start with '-'" "a channel name starting with '-'" "$MVC" channel set -- -x HEAD
expect 2 "looks like a version id" "a channel name of hex digits" "$MVC" channel set cafe1234 HEAD
expect 2 "is a branch" "a channel named like a branch" "$MVC" channel set main HEAD
expect 2 "unknown revision 'nosuch'" "channel set to an unknown revision" "$MVC" channel set prod2 nosuch
expect 2 "no channel 'nosuch'" "channel log of an unknown channel" "$MVC" channel log nosuch
expect 2 "no channel 'nosuch'" "log --channel of an unknown channel" "$MVC" log --channel nosuch
expect 2 "unknown revision 'nosuch'" "checkout of an unknown channel" "$MVC" checkout nosuch -o "$T/x.st"
expect 2 "is a channel" "a branch named like a channel" "$MVC" branch production
expect 2 "is a channel" "a tag named like a channel" "$MVC" tag production
check "bad input moved nothing" test "$(snapshot .mvc)" = "$before"
expect 129 "cannot be used together" "--to with --steps" "$MVC" rollback --to HEAD --steps 2 production
expect 129 "--steps needs" "--steps 0" "$MVC" rollback --steps 0 production
expect 129 "--force" "--force with a channel" "$MVC" rollback --force production
expect 129 "not a channel subcommand" "an unknown channel subcommand" "$MVC" channel bogus
expect 129 "needs a name and a revision" "channel set without a revision" "$MVC" channel set production
expect 129 "" "channel without a subcommand" "$MVC" channel
check "usage errors moved nothing" test "$(snapshot .mvc)" = "$before"

# a name that is a branch and a channel (made with raw git) is ambiguous
g branch production "$id1"
expect 2 "names both a channel and" "a name that is a branch and a channel" "$MVC" checkout production -o "$T/x.st"
expect 0 "" "refs/mvc/channels/<name> picks the channel" "$MVC" checkout refs/mvc/channels/production -o "$T/amb.st"
check "... and gives the channel's target" same_file "$T/amb.st" "$T/v5.st"
expect 0 "" "refs/heads/<name> picks the branch" "$MVC" checkout refs/heads/production -o "$T/amb.st"
check "... and gives the branch's version" same_file "$T/amb.st" "$T/v1.st"
g branch -D production >/dev/null

# channel delete
"$MVC" channel set -q doomed HEAD
expect 0 "" "channel delete" "$MVC" channel delete doomed
check "the ref is gone" sh -c "! git --git-dir=.mvc rev-parse -q --verify refs/mvc/channels/doomed"
expect 2 "no channel 'doomed'" "deleting it twice" "$MVC" channel delete doomed

# channels survive gc and travel with a mirror clone
moves=$("$MVC" channel log production | wc -l)
g gc -q --prune=now
check "after gc --prune=now every move is still there" test "$("$MVC" channel log production | wc -l)" -eq "$moves"
expect 0 "" "after gc the channel checks out" "$MVC" checkout production -o "$T/gc.st"
check "... bit for bit" same_file "$T/gc.st" "$T/v5.st"
check "git fsck --full --strict after channel moves" g fsck --full --strict
mkdir "$T/mirror"
check "git clone --mirror of the store" git clone -q --mirror "$T/models/.mvc" "$T/mirror/.mvc"
(cd "$T/mirror" && "$MVC" checkout production -o "$T/mirror.st")
check "the mirror's channel gives the same bytes" same_file "$T/mirror.st" "$T/v5.st"
check "the mirror has every move" test "$(cd "$T/mirror" && "$MVC" channel log production | wc -l)" -eq "$moves"
check "the mirror lists the channels" test "$(cd "$T/mirror" && "$MVC" channel list | wc -l)" -eq "$("$MVC" channel list | wc -l)"

# --- branch rollback ------------------------------------------------------
loose=$(objcount) pack=$(packsize)
expect 0 "" "rollback of the current branch" "$MVC" rollback -m "day 5 is worse"
new=$(g rev-parse HEAD)
check "the rollback is a new commit on top" test "$(g rev-parse HEAD~1)" = "$id5"
check "its tree is the older version's tree, reused" test "$(g rev-parse HEAD^{tree})" = "$(g rev-parse "$id4^{tree}")"
check "it adds one object" test "$(objcount)" -eq $((loose + 1))
check "it adds no pack" test "$(packsize)" -eq "$pack"
g rev-list --objects HEAD | cut -d' ' -f1 | sort >"$T/objs.new"
g rev-list --objects HEAD~1 | cut -d' ' -f1 | sort >"$T/objs.old"
check "the only object it adds is the commit" test "$(comm -23 "$T/objs.new" "$T/objs.old")" = "$new"
bytes=$(g cat-file -s HEAD)
file=.mvc/objects/$(echo "$new" | cut -c1-2)/$(echo "$new" | cut -c3-)
disk=$(wc -c <"$file")
echo "# branch rollback of a $(wc -c <"$T/v4.st")-byte model: 1 object, $bytes bytes ($disk on disk, zlib)"
check "it costs a few hundred bytes" test "$bytes" -lt 1000 -a "$disk" -lt 1000
check "git log shows Rollback-Of" test "$(g log -1 --format='%(trailers:key=Rollback-Of,valueonly)' | head -n 1)" = "$id5"
check "git log shows Rollback-To" test "$(g log -1 --format='%(trailers:key=Rollback-To,valueonly)' | head -n 1)" = "$id4"
check "the message says why" sh -c "git --git-dir=.mvc log -1 --format=%B | grep -qx 'day 5 is worse'"
check "the working file is the older version" same_file model.safetensors "$T/v4.st"
check "status is clean" sh -c "'$MVC' status | grep -q 'clean *model.safetensors'"
"$MVC" rollback -q
check "a second rollback goes further back, not to day 5" test "$(g rev-parse HEAD^{tree})" = "$(g rev-parse "$id3^{tree}")"
check "... and restores that file" same_file model.safetensors "$T/v3.st"
before=$(snapshot .mvc)
expect 2 "fewer than 9" "rollback --steps past the first version" "$MVC" rollback --steps 9
check "... moves nothing" test "$(snapshot .mvc)" = "$before"
expect 2 "unknown revision" "rollback --to an unknown revision" "$MVC" rollback --to nosuch
expect 2 "already holds the models" "rollback --to the current models" "$MVC" rollback --to "$id3"
check "... moves nothing" test "$(snapshot .mvc)" = "$before"
printf 'x' | dd of=model.safetensors bs=1 seek=200000 conv=notrunc 2>/dev/null
cp model.safetensors "$T/edited"
expect 1 "uncommitted changes" "rollback refuses to overwrite uncommitted changes" "$MVC" rollback
check "... leaves the file" same_file model.safetensors "$T/edited"
check "... and the store" test "$(snapshot .mvc)" = "$before"
expect 0 "" "rollback --force" "$MVC" rollback --force --to "$id1"
check "--to a version by id" same_file model.safetensors "$T/v1.st"
"$MVC" rollback --json --to production >"$T/brb.json"
check "rollback --to a channel" test "$("$JGET" target "$T/brb.json")" = "$id5"
check "rollback --json names the branch" test "$("$JGET" branch "$T/brb.json")" = main
check "git fsck after rollbacks" g fsck --full --strict

mkdir "$T/empty" && (cd "$T/empty" && "$MVC" init -q .)
(cd "$T/empty" && "$MVC" rollback) >/dev/null 2>"$T/err"
check "rollback with no version says so" grep -q 'no version committed yet' "$T/err"

# --- branches, switch, tags -----------------------------------------------
expect 0 "" "branch creates a branch" "$MVC" branch exp "$id2"
check "at the version named" test "$(g rev-parse exp)" = "$id2"
"$MVC" branch >"$T/br"
check "branch lists branches, the current one starred" grep -q '^\* main ' "$T/br"
check "branch lists exp" grep -q '^  exp .*day 2' "$T/br"
"$MVC" branch --json >"$T/br.json"
check "branch --json" test "$("$JGET" branches.0.name "$T/br.json") $("$JGET" branches.0.current "$T/br.json")" = "exp false"
expect 2 "already exists" "branch that exists" "$MVC" branch exp
expect 2 "not a valid branch name" "branch with a bad name" "$MVC" branch 'a b'
expect 2 "current branch" "deleting the current branch" "$MVC" branch -d main
expect 129 "" "branch -d without a name" "$MVC" branch -d

expect 0 "" "switch to a branch" "$MVC" switch exp
check "switch moves HEAD" test "$(g symbolic-ref HEAD)" = refs/heads/exp
check "switch writes the branch's files" same_file model.safetensors "$T/v2.st"
check "status after switch" sh -c "'$MVC' status | grep -q 'On branch exp'"
expect 0 "" "commit on the new branch" "$MVC" commit -q -m "exp work" --allow-empty
check "the commit went to the branch" test "$(g rev-parse exp~1)" = "$id2"
cp "$T/edited" model.safetensors
before=$(snapshot .mvc)
expect 1 "uncommitted changes" "switch refuses to overwrite changes" "$MVC" switch main
check "... HEAD stays" test "$(g symbolic-ref HEAD)" = refs/heads/exp
check "... the file stays" same_file model.safetensors "$T/edited"
check "... the store stays" test "$(snapshot .mvc)" = "$before"
expect 0 "" "switch --force" "$MVC" switch --force main
check "... writes main's files" same_file model.safetensors "$T/v5.st"
expect 0 "" "switch --create at a version" "$MVC" switch --create old "$id1"
check "... creates and switches" test "$(g symbolic-ref HEAD) $(g rev-parse HEAD)" = "refs/heads/old $id1"
check "... writes its files" same_file model.safetensors "$T/v1.st"
expect 2 "no branch 'nosuch'" "switch to an unknown branch" "$MVC" switch nosuch
expect 2 "already exists" "switch --create of an existing branch" "$MVC" switch --create main
expect 129 "needs --create" "switch with a start version but no --create" "$MVC" switch main HEAD
"$MVC" switch -q main
expect 2 "no other branch, tag or channel" "deleting a branch whose versions nothing else keeps" "$MVC" branch -d exp
expect 0 "" "branch -d --force" "$MVC" branch -d --force exp
expect 0 "" "deleting a merged branch" "$MVC" branch -d old
check "the branches are gone" test "$("$MVC" branch | wc -l)" -eq 1

expect 0 "" "tag a version" "$MVC" tag v1 "$id1"
expect 0 "" "an annotated tag" "$MVC" tag -m "the release of day 4" release "$id4"
check "tag lists tags" test "$("$MVC" tag | wc -l)" -eq 2
check "tag shows the annotation" sh -c "'$MVC' tag | grep -q '^release .*the release of day 4'"
check "tag --json" test "$("$MVC" tag --json | "$JGET" tags.1.id)" = "$id1"
check "git sees an annotated tag" test "$(g cat-file -t release)" = tag
expect 0 "" "a tag is a revision" "$MVC" checkout release -o "$T/rel.st"
check "... with the right bytes" same_file "$T/rel.st" "$T/v4.st"
check "log decorates tags" sh -c "'$MVC' log --oneline | grep -q '(tag: v1) day 1'"
expect 2 "already exists" "a tag that exists" "$MVC" tag v1
expect 2 "not a valid tag name" "a tag with a bad name" "$MVC" tag 'a..b'
expect 0 "" "tag -d" "$MVC" tag -d v1
expect 2 "no tag 'v1'" "deleting it twice" "$MVC" tag -d v1
expect 129 "" "tag -m without a name" "$MVC" tag -m x

# --- concurrency: 8 processes x 20 commits on one branch ------------------
# Each process commits its own small model file, a new version of it each
# time.  run_commits DIR RETRY: every attempt's exit code and id in DIR/p*.
run_commits() {
	dir=$1 retry=$2
	for p in 1 2 3 4 5 6 7 8; do
		(
			cd "$dir" || exit 1
			for i in $(seq 1 20); do
				"$MKMODEL" --seed $((p * 1000 + i)) --tensor 'w:F32:32x8' --tensor 'b:F32:8' \
				    "p$p.safetensors" >/dev/null
				"$MVC" commit $retry --json -m "p$p c$i" "p$p.safetensors" >"$dir/.out.$p" 2>"$dir/.err.$p"
				rc=$?
				id=$(sed -n 's/.*"id": "\([0-9a-f]*\)".*/\1/p' "$dir/.out.$p")
				echo "$rc ${id:--} $(head -n 1 "$dir/.err.$p")" >>"$dir/.res.$p"
			done
		) &
	done
	wait
	cat "$dir"/.res.* >"$dir/.results"
}
for mode in plain retry; do
	rd=$T/race-$mode
	"$MVC" init -q "$rd"
	(cd "$rd" && "$MKMODEL" --seed 1 --tensor 'w:F32:8x8' base.safetensors >/dev/null &&
	    "$MVC" commit -q -m base base.safetensors)
	if [ "$mode" = retry ]; then run_commits "$rd" --retry; else run_commits "$rd" ""; fi
	total=$(wc -l <"$rd/.results")
	okn=$(awk '$1 == 0' "$rd/.results" | wc -l)
	lost=$(awk '$1 == 1' "$rd/.results" | wc -l)
	other=$(awk '$1 != 0 && $1 != 1' "$rd/.results" | wc -l)
	echo "# $mode: $okn of $total commits succeeded, $lost refused (exit 1), $other other"
	check "$mode: 160 attempts ran" test "$total" -eq 160
	check "$mode: every attempt exited 0 or 1" test "$other" -eq 0
	git --git-dir="$rd/.mvc" rev-list main >"$rd/.history"
	missing=0
	for id in $(awk '$1 == 0 { print $2 }' "$rd/.results"); do
		grep -qx "$id" "$rd/.history" || missing=$((missing + 1))
	done
	check "$mode: every successful commit is in the history" test "$missing" -eq 0
	check "$mode: the history holds exactly the successful commits" test "$(wc -l <"$rd/.history")" -eq $((okn + 1))
	check "$mode: the history is one line" test "$(git --git-dir="$rd/.mvc" rev-list --merges main | wc -l)" -eq 0
	check "$mode: git fsck --full --strict" git --git-dir="$rd/.mvc" fsck --full --strict
	if [ "$mode" = retry ]; then
		check "retry: all 160 commits succeeded" test "$okn" -eq 160
	else
		bad=$(awk '$1 == 1 && !/moved while committing/' "$rd/.results" | wc -l)
		check "plain: each refused commit says the branch moved" test "$bad" -eq 0
	fi
	if [ "$mode" = retry ]; then
		# every process's model is in the last version, as last committed
		check "retry: the tip tracks all 9 files" test "$("$MVC" -C "$rd" show --json | "$JGET" files.#)" = 9
		(cd "$rd" && "$MVC" checkout -q HEAD)
		check "retry: every file is clean at the tip" test "$("$MVC" -C "$rd" status | grep -c ' clean ')" -eq 9
	fi
done

# --- concurrency: two processes moving one channel ------------------------
cd "$T/models"
for mode in plain retry; do
	ch=race-$mode
	"$MVC" channel set -q "$ch" "$id1"
	for p in a b; do
		(
			if [ "$p" = a ]; then x=$id2 y=$id3; else x=$id4 y=$id5; fi
			for i in $(seq 1 15); do
				if [ $((i % 2)) -eq 0 ]; then t=$x; else t=$y; fi
				r=""; [ "$mode" = retry ] && r=--retry
				"$MVC" channel set $r --json "$ch" "$t" >"$T/.cs.$p" 2>"$T/.cse.$p"
				echo "$? $(sed -n 's/.*"move": "\([0-9a-f]*\)".*/\1/p' "$T/.cs.$p") $(cat "$T/.cse.$p")" >>"$T/.chres.$mode"
			done
		) &
	done
	wait
	okn=$(awk '$1 == 0' "$T/.chres.$mode" | wc -l)
	other=$(awk '$1 != 0 && !($1 == 1 && /moved meanwhile/)' "$T/.chres.$mode" | wc -l)
	echo "# channel $mode: $okn of 30 moves succeeded"
	check "channel $mode: every attempt succeeded or was refused as a race" test "$other" -eq 0
	"$MVC" channel log --json "$ch" >"$T/race.json"
	check "channel $mode: no move lost" test "$("$JGET" moves.# "$T/race.json")" -eq $((okn + 1))
	git --git-dir=.mvc rev-list --first-parent "refs/mvc/channels/$ch" >"$T/race.fp"
	missing=0
	for id in $(awk '$1 == 0 { print $2 }' "$T/.chres.$mode"); do
		grep -qx "$id" "$T/race.fp" || missing=$((missing + 1))
	done
	check "channel $mode: every reported move is on the channel's line" test "$missing" -eq 0
	# linear: each move's first parent is the move before it
	nonlinear=0 i=0
	while [ "$i" -lt "$okn" ]; do
		m=$("$JGET" moves.$i.id "$T/race.json") prev=$("$JGET" moves.$((i + 1)).id "$T/race.json")
		[ "$(git --git-dir=.mvc rev-parse "$m^1")" = "$prev" ] || nonlinear=$((nonlinear + 1))
		i=$((i + 1))
	done
	check "channel $mode: the moves form one line" test "$nonlinear" -eq 0
	[ "$mode" = retry ] && check "channel retry: all 30 moves succeeded" test "$okn" -eq 30
done
# two monitors roll one channel back at once: two rollbacks, one line
for i in 1 2 3 4 5; do "$MVC" channel set -q race-rb "$(eval echo "\$id$i")"; done
"$MVC" rollback --retry -q race-rb -m "monitor a" & pa=$!
"$MVC" rollback --retry -q race-rb -m "monitor b" & pb=$!
wait "$pa"; ra=$?
wait "$pb"; rb=$?
check "concurrent rollbacks with --retry both succeed" test "$ra $rb" = "0 0"
"$MVC" channel log --json race-rb >"$T/rr.json"
check "... as two rollback moves" test "$("$JGET" moves.0.action "$T/rr.json") $("$JGET" moves.1.action "$T/rr.json") $("$JGET" moves.2.action "$T/rr.json")" = "rollback rollback set"
check "... one after the other, never back to a version left" test "$("$MVC" show --json race-rb | "$JGET" id)" = "$id3"
check "... on one line" test "$(git --git-dir=.mvc rev-parse "$("$JGET" moves.0.id "$T/rr.json")^1")" = "$("$JGET" moves.1.id "$T/rr.json")"
expect 2 "cannot exist beside channel 'race-rb'" "a channel nested under another" "$MVC" channel set race-rb/x HEAD
check "git fsck --full --strict at the end" g fsck --full --strict

# --- completions of channel names -----------------------------------------
if command -v bash >/dev/null 2>&1; then
	comp() { # the completions of the words (the last is the cursor's)
		bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=()
			_mvc; for w in "${COMPREPLY[@]}"; do printf "%s\n" "$w"; done' \
		    _ "$MVC_SRC/completions/mvc.bash" "$@"
	}
	comp mvc rollback "" >"$T/comp"
	check "bash: rollback completes channels" grep -qx production "$T/comp"
	comp mvc checkout pro >"$T/comp"
	check "bash: a revision may be a channel" grep -qx production "$T/comp"
	comp mvc log --channel "" >"$T/comp"
	check "bash: log --channel completes channels" grep -qx canary "$T/comp"
	comp mvc channel "" >"$T/comp"
	check "bash: channel completes its subcommands" test "$(sort "$T/comp" | tr '\n' ' ')" = "delete list log set "
	comp mvc channel log "" >"$T/comp"
	check "bash: channel log completes channels" grep -qx staging "$T/comp"
	comp mvc channel set staging "" >"$T/comp"
	check "bash: channel set completes a revision" grep -qx main "$T/comp"
	comp mvc rollback --to "" >"$T/comp"
	check "bash: rollback --to completes revisions" grep -qx release "$T/comp"
	comp mvc switch "" >"$T/comp"
	check "bash: switch completes branches" grep -qx main "$T/comp"
else
	skip "bash is not installed: completions not driven"
fi
if command -v fish >/dev/null 2>&1; then
	fcomp() { fish -c 'source $argv[1]; complete -C $argv[2]' "$MVC_SRC/completions/mvc.fish" "$1" | cut -f1; }
	fcomp "mvc rollback " >"$T/comp"
	check "fish: rollback completes channels" grep -qx production "$T/comp"
	fcomp "mvc checkout pro" >"$T/comp"
	check "fish: a revision may be a channel" grep -qx production "$T/comp"
	fcomp "mvc channel set staging " >"$T/comp"
	check "fish: channel set completes a revision" grep -qx main "$T/comp"
	fcomp "mvc log --channel " >"$T/comp"
	check "fish: log --channel completes channels" grep -qx canary "$T/comp"
else
	skip "fish is not installed: completions not driven"
fi
finish
