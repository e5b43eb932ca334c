#!/bin/sh
# The store's upkeep: mvc du (what each version costs), mvc gc (a repack
# that never loses a running commit's objects) and mvc prune (old
# versions keep their history, not their data; git fsck and gc accept it).
. "$(dirname "$0")/lib.sh"
JGET="$(dirname "$MVC")/tools/jget"
G() { git --git-dir=.mvc "$@"; }
# model K: version K of a small recommender, 2% of its rows retrained each time
model() { "$MKMODEL" --seed 11 --preset recsys --size 2M --version "$1" --retrain 0.02 "$2" >/dev/null; }
objects_bytes() { find .mvc/objects -type f \( -name '*.pack' -o -name '*.idx' -o -path '*/objects/??/*' \) -exec cat {} + | wc -c; }
# version REV checks out bit for bit as model K
same_version() {
	model "$2" "$T/want.st"
	"$MVC" checkout -q -o "$T/got.st" "$1" && cmp -s "$T/got.st" "$T/want.st"
}
# so do the versions tagged vK, for each K given
bit_exact() {
	for k in "$@"; do
		same_version "v$k" "$k" || return 1
	done
}

cd "$T" && "$MVC" init -q repo && cd repo
G config mvc.chunkSize 65536

# ---- du ----
"$MVC" du >"$T/du.txt"
check "du on an unborn branch: a header and a zero total" grep -q '^total (0)' "$T/du.txt"
for k in $(seq 1 14); do
	model "$k" model.safetensors
	"$MVC" commit -q -m "day $k" model.safetensors
	G tag "v$k"
done
"$MVC" du >"$T/du.txt"
check "du: a header, 14 versions, a total and the store" test "$(wc -l <"$T/du.txt")" -eq 17
check "du: oldest first" sh -c "sed -n 2p '$T/du.txt' | grep -q 'day 1\$' && sed -n 15p '$T/du.txt' | grep -q 'day 14\$'"
"$MVC" du --json >"$T/du.json"
check "du --json: schema 1" test "$("$JGET" schema "$T/du.json")" = 1
check "du --json: 14 versions" test "$("$JGET" versions.# "$T/du.json")" = 14
check "du --json: the first is the oldest" test "$("$JGET" versions.0.id "$T/du.json")" = "$(G rev-parse v1)"
check "du: the first version shares nothing" test "$("$JGET" versions.0.shared "$T/du.json")" = 0
check "du: the first version is all new" test "$("$JGET" versions.0.dedup "$T/du.json")" = 1.0
check "du: its data is the model" test "$("$JGET" versions.0.raw_added "$T/du.json")" = "$("$JGET" versions.0.raw "$T/du.json")"
raw=$(wc -c <model.safetensors)
check "du: raw is the model's size" test "$("$JGET" versions.13.raw "$T/du.json")" = "$raw"
a1=$("$JGET" versions.0.added "$T/du.json")
a2=$("$JGET" versions.1.added "$T/du.json")
check "du: a 2% retrain adds far less than the first version ($a2 vs $a1)" test $((a2 * 4)) -lt "$a1"
c1=$("$JGET" versions.0.compression "$T/du.json")
check "du: byte grouping compresses the first version ($c1)" awk -v c="$c1" 'BEGIN { exit !(c > 0.5 && c < 0.95) }'
"$MVC" du --json HEAD >"$T/head.json"
check "du HEAD: one version" test "$("$JGET" versions.# "$T/head.json")" = 1
check "du HEAD: what the last commit added" \
    test "$("$JGET" versions.0.added "$T/head.json")" = "$("$JGET" versions.13.added "$T/du.json")"
"$MVC" du --json v3 v1 >"$T/two.json"
check "du v3 v1: in history order" sh -c "test \"\$('$JGET' versions.0.id '$T/two.json')\" = $(G rev-parse v1)"
"$MVC" commit -q --allow-empty -m "same model"
"$MVC" du --json HEAD >"$T/same.json"
check "du: an unchanged version adds only its commit" test "$("$JGET" versions.0.added "$T/same.json")" -lt 1000
check "du: ... and shares the whole model" test "$("$JGET" versions.0.shared "$T/same.json")" -gt "$a1"
expect 2 "unknown revision" "du of an unknown revision" "$MVC" du nosuchrev
# a file mvc does not parse: content-defined chunks of their own lengths
(cd "$T" && "$MVC" init -q opaque && cd opaque && git --git-dir=.mvc config mvc.chunkSize 65536 &&
    head -c 600000 /dev/urandom >blob.bin &&
    "$MVC" commit -q -m one blob.bin && head -c 100 /dev/urandom >>blob.bin &&
    "$MVC" commit -q -m two blob.bin && "$MVC" du --json >"$T/opaque.json")
check "du: an opaque file's data is its size" \
    test "$("$JGET" versions.0.raw_added "$T/opaque.json")" = 600000
check "du: appending to it shares most of it" \
    test "$("$JGET" versions.1.raw_added "$T/opaque.json")" -lt 600000
expect 129 "" "du takes no files" "$MVC" du HEAD -- model.safetensors

# ---- gc ----
packs_before=$(ls .mvc/objects/pack/*.pack | wc -l)
bytes_before=$(objects_bytes)
# stale temporary files of a killed commit, and a fresh one
: >.mvc/objects/pack/tmp_mvc_stale && touch -d '3 weeks ago' .mvc/objects/pack/tmp_mvc_stale
: >.mvc/mvc-state.tmp.4242 && touch -d '3 weeks ago' .mvc/mvc-state.tmp.4242
: >.mvc/objects/pack/tmp_mvc_fresh
expect 0 "" "mvc gc" "$MVC" gc
check "gc reports the packs before and after" grep -q "^packs: $packs_before -> 1 " "$T/.stdout"
check "gc removed the two stale temporary files" grep -q 'removed 2 stale temporary files' "$T/.stdout"
check "gc kept the fresh temporary file" test -f .mvc/objects/pack/tmp_mvc_fresh
check "gc removed the stale pack file" test ! -f .mvc/objects/pack/tmp_mvc_stale
check "gc removed the stale state file" test ! -f .mvc/mvc-state.tmp.4242
rm -f .mvc/objects/pack/tmp_mvc_fresh
check "gc leaves one pack and no loose object" test "$(ls .mvc/objects/pack/*.pack | wc -l)" = 1 -a \
    -z "$(find .mvc/objects -path '*/objects/??/*' -type f)"
bytes_after=$(objects_bytes)
check "gc: the store is not larger ($bytes_before -> $bytes_after)" test "$bytes_after" -le "$bytes_before"
check "git fsck --full --strict after gc" G fsck --full --strict
check "every version checks out bit for bit after gc" bit_exact $(seq 1 14)
"$MVC" du --json >"$T/du2.json"
pack=$(ls .mvc/objects/pack/*.pack)
check "du after gc: the history adds up to the pack, byte for byte" \
    test "$("$JGET" total.added "$T/du2.json")" = $(($(wc -c <"$pack") - 32))
check "du after gc: the versions cost what they did before" \
    test "$("$JGET" versions.0.added "$T/du2.json")" -le "$a1"
expect 129 "" "gc takes no arguments" "$MVC" gc now
expect 2 "prune expiry" "gc refuses a date git cannot read" "$MVC" gc --prune=someday

# unreachable data: kept while young, gone with --prune=now
model 99 model.safetensors
"$MVC" commit -q -m "a bad idea" model.safetensors
bad=$(G rev-parse HEAD)
chunk=$(G ls-tree -r HEAD | awk '$4 ~ /\/t\/000000\/000000$/ { print $3 }')
G update-ref refs/heads/main HEAD~1
"$MVC" checkout -q -f HEAD
expect 0 "" "gc with the default expiry" "$MVC" gc -q
check "gc keeps a young unreachable version" G cat-file -e "$bad"
check "gc keeps its chunks" G cat-file -e "$chunk"
expect 0 "" "gc --prune=now" "$MVC" gc -q --prune=now
check "--prune=now: the unreachable version is gone" sh -c "! git --git-dir=.mvc cat-file -e $bad 2>/dev/null"
check "--prune=now: its chunks are gone" sh -c "! git --git-dir=.mvc cat-file -e $chunk 2>/dev/null"
check "git fsck --full --strict after --prune=now" G fsck --full --strict
check "every version still checks out" bit_exact $(seq 1 14)

# a commit racing gc: gc runs after the commit wrote its objects and
# before it moved the branch (in the pre-commit hook), then alongside
cat >.mvc/hooks/pre-commit <<'EOF'
#!/bin/sh
exec mvc gc -q
EOF
chmod +x .mvc/hooks/pre-commit
model 15 model.safetensors
expect 0 "" "a commit whose pre-commit hook runs mvc gc" env PATH="$(dirname "$MVC"):$PATH" \
    "$MVC" commit -q -m "day 15" model.safetensors
rm .mvc/hooks/pre-commit
G tag v15
check "git fsck --full --strict after the raced commit" G fsck --full --strict
check "the raced commit checks out bit for bit" bit_exact 15
model 16 model.safetensors
"$MVC" commit -q -m "day 16" model.safetensors &
cpid=$!
n=0
while kill -0 $cpid 2>/dev/null && [ $n -lt 50 ]; do "$MVC" gc -q 2>/dev/null; n=$((n + 1)); done
wait $cpid
check "a commit beside a loop of gc succeeds" test $? -eq 0
G tag v16
check "git fsck --full --strict after commit and gc in parallel" G fsck --full --strict
check "that version checks out bit for bit" bit_exact 16
flock .mvc/mvc-gc.lock sleep 3 &
lpid=$!
sleep 0.5
expect 1 "another mvc gc or prune" "gc while another holds the lock" "$MVC" gc
wait $lpid

# ---- prune ----
# production served day 2, then day 4; a server has everything
"$MVC" channel set -q production v2
"$MVC" channel set -q production v4
git clone -q --bare .mvc "$T/server.git"
G remote add origin "$T/server.git"
cp -a "$T/repo" "$T/repo2"
snap=$(snapshot .mvc)
expect 0 "" "prune --dry-run" "$MVC" prune --keep-last 2 --dry-run --json
cp "$T/.stdout" "$T/dry.json"
check "--dry-run changes nothing" test "$(snapshot .mvc)" = "$snap"
check "--dry-run: schema 1" test "$("$JGET" schema "$T/dry.json")" = 1
check "--dry-run: kept the 2 newest and production" test "$("$JGET" kept.# "$T/dry.json")" = 3
check "--dry-run: no promise" test "$("$JGET" promise "$T/dry.json")" = null
bytes_before=$(objects_bytes)
expect 0 "" "prune --keep-last 2" "$MVC" prune --keep-last 2 --json
cp "$T/.stdout" "$T/prune.json"
check "prune: the dry run said what it would drop" \
    test "$("$JGET" bytes "$T/prune.json")" = "$("$JGET" bytes "$T/dry.json")"
check "prune dropped chunks" test "$("$JGET" chunks "$T/prune.json")" -gt 0
check "prune recorded a promise" test "$("$JGET" promise "$T/prune.json")" != null
# day 4 (production) keeps what its chunks' delta chains need; days 12
# to 16 restarted the chains: days 5 to 11 lose their data
check "the pruned versions include day 6, not day 4" sh -c \
    "'$JGET' pruned '$T/prune.json' | grep -q $(G rev-parse v6) && ! '$JGET' pruned '$T/prune.json' | grep -q $(G rev-parse v4)"
bytes_after=$(objects_bytes)
check "the store is smaller ($bytes_before -> $bytes_after)" test "$bytes_after" -lt "$bytes_before"
refs="main v1 v6 refs/mvc/channels/production"
check "no ref and no commit was rewritten" test "$(G rev-parse $refs | tr '\n' ' ')" = \
    "$(git --git-dir="$T/repo2/.mvc" rev-parse $refs | tr '\n' ' ')"
check "git fsck --full --strict passes on a pruned store" G fsck --full --strict --no-dangling
check "the kept versions check out bit for bit" bit_exact 16 15 4
expect 2 "was pruned on" "checkout of a pruned version says so" "$MVC" checkout -o "$T/x.st" v6
check "... and how to get it back" grep -q 'fetch --refetch' "$T/.stderr"
check "no partial file is left behind" test ! -e "$T/x.st"
check "log still lists every version" test "$("$MVC" log --oneline | wc -l)" = 17
check "show still describes a pruned version" sh -c "'$MVC' show v1 | grep -q 'day 1'"
check "diff --stat still compares pruned versions" "$MVC" diff --stat v5 v6
expect 2 "version $(G rev-parse --short=12 v6)'s data was pruned on" "a value diff of a pruned version says so" "$MVC" diff v16 v6
expect 2 "was pruned on" "check of a pruned version says so" "$MVC" check --no-nan v6
expect 2 "was pruned on" "score of a pruned version says so" "$MVC" score v6 --eval command --cmd "echo '{\"x\": 1}'"
expect 0 "" "a value diff of kept versions works" "$MVC" diff v15 v16
expect 0 "" "mvc fsck --full accepts the pruned chunks" "$MVC" fsck --full
check "... and counts them" grep -q "dropped by mvc prune: ok" "$T/.stdout"
"$MVC" du >"$T/du3.txt"
check "du marks pruned versions" grep -q 'day 6 \[data pruned on' "$T/du3.txt"
check "du does not mark kept ones" sh -c "! grep -q 'day 4 \[data pruned' '$T/du3.txt'"
"$MVC" du --json >"$T/du3.json"
check "du --json: pruned is a time" test "$("$JGET" versions.5.pruned "$T/du3.json")" -gt 0
check "du --json: kept versions are not pruned" test "$("$JGET" versions.3.pruned "$T/du3.json")" = null
expect 0 "" "prune again: nothing more to drop" "$MVC" prune --keep-last 2
check "... says so" grep -q 'nothing to drop' "$T/.stdout"
expect 0 "" "mvc gc on a pruned store" "$MVC" gc -q
check "git fsck --full --strict after gc of a pruned store" G fsck --full --strict --no-dangling
check "plain git gc works on a pruned store" G gc -q
check "kept versions check out after gc" bit_exact 16 4
# a pruned model committed again is stored again, and gc keeps it
model 6 model.safetensors
"$MVC" commit -q -m "day 6 again" model.safetensors
"$MVC" gc -q --prune=now
check "a model committed again after its data was pruned reads back" same_version HEAD 6
# fetched back from the server, gc keeps it
expect 0 "" "git fetch --refetch gets pruned data back" G -c gc.autoDetach=false fetch -q --refetch origin
"$MVC" gc -q --prune=now
check "a refetched version checks out, after gc too" bit_exact 6 9
expect 129 "" "prune needs --keep-last" "$MVC" prune
expect 129 "" "prune keeps at least one" "$MVC" prune --keep-last 0

# the options keep more
cd "$T/repo2"
expect 0 "" "prune --keep-channels --keep-tagged" "$MVC" prune --keep-last 1 --keep-channels --keep-tagged --json
check "with every version tagged, nothing goes" test "$("$JGET" chunks "$T/.stdout")" = 0
id2=$(G rev-parse v2) id5=$(G rev-parse v5)
for k in 2 5 6 7 8 9 10 11; do G tag -d "v$k" >/dev/null; done
expect 0 "" "prune --keep-channels" "$MVC" prune --keep-last 1 --keep-channels --keep-tagged
check "a version production served before is kept" same_version "$id2" 2
check "a tagged version is kept" bit_exact 3 13
expect 2 "was pruned" "an untagged version that no channel served is pruned" "$MVC" checkout -q -o "$T/x.st" "$id5"
check "git fsck --full --strict" G fsck --full --strict --no-dangling

finish
