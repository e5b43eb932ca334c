#!/bin/sh
# mvc score against real git: each evaluator, the notes it records (read
# back with git), log and show, bounds and exit codes, --compare, --record,
# rollback --to-last-good, a rollback commit that shows the old version's
# scores, concurrent recording, and bad input that must record nothing.
. "$(dirname "$0")/lib.sh"
JGET="$(dirname "$MVC")/tools/jget"

g() { git --git-dir=.mvc "$@"; }
tree_of() { g rev-parse "$1^{tree}"; }
note_of() { g notes --ref=mvc/scores show "$(tree_of "$1")" 2>/dev/null; }
nlines() { note_of "$1" | wc -l | tr -d ' '; }
digest() { b2sum -l 256 "$1" | cut -d' ' -f1; }

cd "$T"
"$MVC" init -q models
cd models

# Fixtures.  mkmodel's rows depend on (seed, tensor position, row), not on
# the name: a file whose first tensor is "users" (seed 5) holds the same
# vectors as a file whose first tensor is "items" (seed 5).  So in version
# "good" user u's vector is item u's, and test item u is ranked first;
# in version "bad" the users come from another seed.
"$MKMODEL" --seed 5 --tensor 'items:F32:300x8' --tensor 'fc1.weight:F32:6x4' \
    --tensor 'fc1.bias:F32:6' --tensor 'fc2.weight:F32:1x6' --tensor 'fc2.bias:F32:1' \
    --tensor 'dense:F32:4x6' --tensor 'ids:I32:300x8' items.safetensors >/dev/null
"$MKMODEL" --seed 5 --tensor 'users:F32:60x8' users.safetensors >/dev/null
"$MVC" commit -q -m good items.safetensors users.safetensors
good=$(g rev-parse HEAD)
"$MKMODEL" --seed 6 --tensor 'users:F32:60x8' users.safetensors >/dev/null
"$MVC" commit -q -m bad users.safetensors
bad=$(g rev-parse HEAD)
"$MKMODEL" --seed 7 --tensor 'users:F32:60x8' users.safetensors >/dev/null
"$MVC" commit -q -m newest users.safetensors
newest=$(g rev-parse HEAD)

# test: user u's held-out item is u (and, for half of them, item u+100 too);
# history: two other items per user (never u)
awk 'BEGIN { print "user,item"; for (u = 0; u < 60; u++) { print u "," u; if (u % 2) print u "," u + 100 } }' >"$T/test.csv"
awk 'BEGIN { for (u = 0; u < 60; u++) { print u "," 200 + u ",1"; print u "," 260 - u ",0.5" } }' >"$T/hist.csv"
# classifier rows: 4 features, a label
awk 'BEGIN { srand(3); for (r = 0; r < 200; r++) { for (i = 0; i < 4; i++) printf "%.4f,", rand() * 2 - 1; print (rand() < 0.4 ? 1 : 0) } }' >"$T/rows.csv"
RET="--eval retrieval --items items --users users --test $T/test.csv"

# --- retrieval -------------------------------------------------------------
expect 0 "" "retrieval with a user tensor" "$MVC" score "$good" $RET
check "it prints the metrics" grep -q '^  recall@10 ' "$T/.stdout"
check "it says the score was recorded" grep -q 'recorded in refs/notes/mvc/scores' "$T/.stdout"
check "users equal to their test item: hit rate 1" grep -q '^  hit_rate@10  1$' "$T/.stdout"
check "the notes ref exists" g rev-parse -q --verify refs/notes/mvc/scores
check "the note is on the version's tree" test "$(nlines "$good")" -eq 1
note_of "$good" >"$T/note"
check "note: metrics first" grep -q '^{"metrics":{"recall@10":' "$T/note"
check "note: the evaluator" grep -q '"evaluator":"retrieval"' "$T/note"
check "note: the options" grep -q '"options":{"items":"items","users":"users","history":false,"similarity":"cosine","k":\[10,50\],"file":"items.safetensors"}' "$T/note"
check "note: the test data's BLAKE2b digest" grep -q "\"data\":{\"test\":\"$(digest "$T/test.csv")\"}" "$T/note"
check "note: users evaluated and skipped" grep -q '"n":60,"skipped":0' "$T/note"
check "note: time, source and version" grep -q "\"time\":[0-9]*,\"source\":\"offline\",\"version\":\"$good\"}$" "$T/note"

"$MVC" score "$good" $RET --k 1,5 --dry-run --json >"$T/s.json"
check "--json: the version" test "$("$JGET" version "$T/s.json")" = "$good"
check "--json: recall@1 is 1 (over min(K, test items); the test item ranks first)" test "$("$JGET" score.metrics.recall@1 "$T/s.json")" = 1.0
check "--json: hit_rate@5" test "$("$JGET" score.metrics.hit_rate@5 "$T/s.json")" = 1.0
check "--json: mrr" test "$("$JGET" score.metrics.mrr "$T/s.json")" = 1.0
check "--json: recorded false with --dry-run" test "$("$JGET" recorded "$T/s.json")" = false
check "--dry-run records nothing" test "$(nlines "$good")" -eq 1

"$MVC" score "$good" --eval retrieval --items items --history "$T/hist.csv" --test "$T/test.csv" --dot --json >"$T/h.json"
check "retrieval from the history" test "$("$JGET" score.options.history "$T/h.json")" = true
check "--dot recorded" test "$("$JGET" score.options.similarity "$T/h.json")" = dot
check "the history's digest is recorded" test "$("$JGET" score.data.history "$T/h.json")" = "$(digest "$T/hist.csv")"
check "a second score is appended, not replacing the first" test "$(nlines "$good")" -eq 2

# users without test items left: skipped, and said so
awk 'BEGIN { print "0,0"; print "1,201"; print "2,2" }' >"$T/test2.csv"
"$MVC" score "$good" --eval retrieval --items items --users users --history "$T/hist.csv" \
    --test "$T/test2.csv" --dry-run >"$T/out"
check "a user whose test items are all in its history is skipped" grep -q 'on 2 users (1 skipped' "$T/out"

# --- classifier ------------------------------------------------------------
expect 0 "" "classifier, layers found by name" "$MVC" score "$good" --eval classifier --test "$T/rows.csv"
check "classifier metrics" sh -c "grep -q '^  auc ' '$T/.stdout' && grep -q '^  logloss ' '$T/.stdout' && grep -q '^  accuracy ' '$T/.stdout'"
note_of "$good" | tail -n 1 >"$T/note"
check "classifier: the layers found" grep -q '"layers":\["fc1.weight","fc1.bias","fc2.weight","fc2.bias"\],"layout":"torch"' "$T/note"
expect 2 "does not take 4 inputs in the keras layout" "a layout that does not fit is refused" \
    "$MVC" score "$good" --eval classifier --test "$T/rows.csv" --layout keras
expect 2 "layers come in pairs" "an odd layer list is refused" \
    "$MVC" score "$good" --eval classifier --test "$T/rows.csv" --layers fc1.weight

# --- command ---------------------------------------------------------------
size=$(wc -c <items.safetensors | tr -d ' ')
expect 0 "" "command evaluator" "$MVC" score "$good" --eval command --file items.safetensors \
    --cmd 'echo starting; printf "{\"bytes\": %s, \"rows\": %s}\n" $(wc -c < {model}) $(wc -l < {test})' \
    --test "$T/rows.csv" --json
check "command: the model file it got" test "$("$JGET" score.metrics.bytes "$T/.stdout")" = "$size.0"
check "command: {test}" test "$("$JGET" score.metrics.rows "$T/.stdout")" = 200.0
expect 2 "exit status 3" "a failing command is an error" \
    "$MVC" score "$good" --eval command --file items.safetensors --cmd 'exit 3'
expect 2 "not a JSON object" "a command that prints no JSON is an error" \
    "$MVC" score "$good" --eval command --file items.safetensors --cmd 'echo done'
expect 2 "tracks 2 files" "two files and no --file: refused" \
    "$MVC" score "$good" --eval command --cmd 'echo "{\"a\": 1}"'

# --- record ----------------------------------------------------------------
expect 0 "" "--record a metric measured elsewhere" "$MVC" score "$good" --record ctr=0.031 --source online-ab
note_of "$good" | tail -n 1 >"$T/note"
check "record: the metric, evaluator and source" grep -q '^{"metrics":{"ctr":0.031},"evaluator":"record",.*"source":"online-ab"' "$T/note"
"$MVC" score "$bad" --record ctr=0.012 -q

# --- log and show ------------------------------------------------------------
"$MVC" log >"$T/log"
check "log shows recorded scores" grep -q '^Score:  retrieval recall@10=0.7.* hit_rate@10=1 .* mrr=1 (offline, test ' "$T/log"
check "log shows the online metric" grep -q '^Score:  record ctr=0.031 (online-ab, ' "$T/log"
"$MVC" show "$good" >"$T/show"
check "show shows recorded scores" grep -q '^Score:  classifier auc=' "$T/show"
"$MVC" show --json "$good" >"$T/show.json"
check "show --json: scores" test "$("$JGET" scores.# "$T/show.json")" = 5
check "show --json: a score's source" test "$("$JGET" scores.4.source "$T/show.json")" = online-ab
"$MVC" log --json >"$T/log.json"
check "log --json: scores per version" test "$("$JGET" versions.2.scores.0.evaluator "$T/log.json")" = retrieval
check "log --json: a version without scores" test "$("$JGET" versions.0.scores.# "$T/log.json")" = 0

# --- bounds --------------------------------------------------------------------
n=$(nlines "$good")
expect 1 "hit_rate@10 is 1, below the minimum 2" "--min missed: exit 1, named" \
    "$MVC" score "$good" $RET --min hit_rate@10=2
check "a score that misses its bound is still recorded" test "$(nlines "$good")" -eq $((n + 1))
expect 1 "mrr is 1, above the maximum 0.5" "--max missed: exit 1" \
    "$MVC" score "$good" $RET --max mrr=0.5 -n
expect 1 "auc: no value in this score" "a bound on a metric the score lacks: exit 1" \
    "$MVC" score "$good" $RET --min auc=0.5 -n
expect 0 "" "bounds met: exit 0" "$MVC" score "$good" $RET --min hit_rate@10=0.9 --max mrr=1 -n --min mrr=1
expect 1 "" "a bad version misses it" "$MVC" score "$bad" $RET --min hit_rate@10=0.5 -q
expect 0 "" "recorded scores checked without evaluating" "$MVC" score "$good" --min ctr=0.03 --min hit_rate@10=1
expect 0 "" "... on the data of --test" "$MVC" score "$good" --test "$T/test.csv" --min hit_rate@10=1
expect 1 "ctr: no value" "--test keeps to scores on that data" "$MVC" score "$good" --test "$T/test.csv" --min ctr=0.03
expect 1 "ctr is 0.031, below the minimum 0.05" "recorded scores below a bound: exit 1" "$MVC" score "$good" --min ctr=0.05
"$MVC" score "$good" >"$T/list"
check "without an evaluator: the recorded scores" test "$(wc -l <"$T/list")" -eq "$(nlines "$good")"
"$MVC" score "$newest" >"$T/list"
check "a version without scores says so" grep -q 'has no recorded scores' "$T/list"

# --- compare -------------------------------------------------------------------
expect 0 "" "--compare bad good" "$MVC" score --compare "$bad" "$good" $RET --json -n
cp "$T/.stdout" "$T/c1.json"
check "compare: seven metrics" test "$("$JGET" metrics.# "$T/c1.json")" = 7
check "compare: good is significantly better" test "$("$JGET" verdict "$T/c1.json")" = better
check "compare: per metric" test "$("$JGET" metrics.0.verdict "$T/c1.json")" = better
check "compare: 1000 resamples, seed 1" test "$("$JGET" resamples "$T/c1.json") $("$JGET" seed "$T/c1.json")" = "1000 1"
"$MVC" score --compare "$bad" "$good" $RET --json -n >"$T/c2.json"
check "compare: the same seed, the same interval" test "$("$JGET" metrics.6.low "$T/c1.json") $("$JGET" metrics.6.high "$T/c1.json")" = "$("$JGET" metrics.6.low "$T/c2.json") $("$JGET" metrics.6.high "$T/c2.json")"
MVC_THREADS=1 "$MVC" score --compare "$bad" "$good" $RET --json -n >"$T/c3.json"
check "compare: ... on one thread too" test "$("$JGET" metrics.6.low "$T/c1.json")" = "$("$JGET" metrics.6.low "$T/c3.json")"
"$MVC" score --compare "$bad" "$good" $RET --json -n --seed 9 --resamples 200 >"$T/c4.json"
check "compare: --seed and --resamples" test "$("$JGET" seed "$T/c4.json") $("$JGET" resamples "$T/c4.json")" = "9 200"
expect 1 "is significantly worse than" "--fail-if-worse: exit 1 when B is worse" \
    "$MVC" score --compare "$good" "$bad" $RET --fail-if-worse -n
check "compare prints the verdict" grep -q '^B is significantly worse than A$' "$T/.stdout"
expect 0 "" "without --fail-if-worse a worse B is exit 0" "$MVC" score --compare "$good" "$bad" $RET -n -q
n=$(nlines "$newest")
"$MVC" score --compare "$good" "$newest" --eval classifier --test "$T/rows.csv" >/dev/null
check "compare records both scores" test "$(nlines "$newest")" -eq $((n + 1))
expect 129 "" "--compare needs two versions" "$MVC" score --compare "$good" $RET
expect 2 "retrieval or the classifier" "--compare with a command" \
    "$MVC" score --compare "$good" "$bad" --eval command --cmd true --file items.safetensors

# --- several processes recording at once ---------------------------------------
n=$(nlines "$newest")
for i in 1 2 3 4 5 6; do "$MVC" score "$newest" --record "m$i=$i" -q & done
wait
check "concurrent recordings: none lost" test "$(nlines "$newest")" -eq $((n + 6))

# --- rollback --to-last-good -----------------------------------------------------
"$MVC" score "$bad" $RET -q
"$MVC" score "$newest" $RET -q
expect 0 "" "rollback --to-last-good" "$MVC" rollback --to-last-good --min hit_rate@10=0.9 --test "$T/test.csv" --json
check "it picks the newest earlier version that meets the bound" test "$("$JGET" target "$T/.stdout")" = "$good"
check "the rollback commit has the good version's models" test "$(tree_of HEAD)" = "$(tree_of "$good")"
"$MVC" log -n 1 >"$T/log"
check "the rollback commit shows the old version's scores" grep -q '^Score:  record ctr=0.031 (online-ab' "$T/log"
"$MVC" checkout -q -o "$T/good-users.st" "$good" users.safetensors
check "the working files are the good version's" same_file users.safetensors "$T/good-users.st"
check "... and clean" test "$("$MVC" status --json | "$JGET" clean)" = true
"$MVC" channel set -q production "$good"
"$MVC" channel set -q production "$bad"
"$MVC" channel set -q production "$newest"
expect 0 "" "a channel to its last good version" "$MVC" rollback production --to-last-good --min hit_rate@10=1 --json
check "... the good one" test "$("$JGET" target "$T/.stdout")" = "$good"
before=$(snapshot .mvc)
expect 2 "no earlier version with recorded scores that meet the bounds" "no good version: exit 2" \
    "$MVC" rollback --to-last-good --min hit_rate@10=2
expect 2 "on that test data" "--test: scores on other data do not count" \
    "$MVC" rollback --to-last-good --min hit_rate@10=0.5 --test "$T/rows.csv"
check "nothing moved" test "$(snapshot .mvc)" = "$before"
expect 129 "" "--min without --to-last-good" "$MVC" rollback --min recall@10=1
expect 129 "" "--to-last-good without a bound" "$MVC" rollback --to-last-good
expect 129 "" "--to-last-good and --to" "$MVC" rollback --to-last-good --min a=1 --to "$good"

# --- bad input: exit 2, nothing recorded ---------------------------------------
before=$(snapshot .mvc)
printf '0,1\n1,300\n' >"$T/oor.csv"
expect 2 "line 2: item 300 is out of range: the item table has 300 rows" "an item id out of range" \
    "$MVC" score "$good" --eval retrieval --items items --users users --test "$T/oor.csv"
printf '0,1\n70,3\n' >"$T/oor.csv"
expect 2 "line 2: user 70 is out of range: the user table has 60 rows" "a user id out of range" \
    "$MVC" score "$good" --eval retrieval --items items --users users --test "$T/oor.csv"
printf '0,1\n1,2,heavy\n' >"$T/bad.csv"
expect 2 "bad.csv' line 2: weight 'heavy' is not a finite number" "a bad number" \
    "$MVC" score "$good" --eval retrieval --items items --users users --test "$T/bad.csv"
: >"$T/empty.csv"
expect 2 "empty.csv' is empty" "an empty file" \
    "$MVC" score "$good" --eval retrieval --items items --users users --test "$T/empty.csv"
printf '1,2,1\n1,1\n' >"$T/bad.csv"
expect 2 "line 2: 2 fields where the first row has 3" "classifier rows of two widths" \
    "$MVC" score "$good" --eval classifier --test "$T/bad.csv"
printf '1,2,3,4,5\n' >"$T/bad.csv"
expect 2 "label '5' is not 0 or 1" "a label that is not 0 or 1" \
    "$MVC" score "$good" --eval classifier --test "$T/bad.csv"
expect 2 "no file of" "an unknown tensor" \
    "$MVC" score "$good" --eval retrieval --items nope --users users --test "$T/test.csv"
expect 2 "is I32; only F32, F64, F16 and BF16" "an integer tensor" \
    "$MVC" score "$good" --eval retrieval --items ids --users users --test "$T/test.csv"
expect 2 "is not a table of item vectors" "a 1-D tensor" \
    "$MVC" score "$good" --eval retrieval --items fc1.bias --users users --test "$T/test.csv"
expect 2 "" "an unknown revision" "$MVC" score nosuchrev $RET
expect 2 "missing.csv" "a missing data file" \
    "$MVC" score "$good" --eval retrieval --items items --users users --test "$T/missing.csv"
check "bad input recorded nothing" test "$(snapshot .mvc)" = "$before"

# --- usage -----------------------------------------------------------------------
expect 129 "" "an unknown evaluator" "$MVC" score --eval magic --test x
expect 129 "--eval retrieval needs" "retrieval without --items" "$MVC" score --eval retrieval --users users --test "$T/test.csv"
expect 129 "--k" "a bad cutoff" "$MVC" score $RET --k 10,0
expect 129 "--k" "a cutoff that is not a number" "$MVC" score $RET --k ten
expect 129 "METRIC=VALUE" "a bound that is not METRIC=VALUE" "$MVC" score --min recall
expect 129 "not a finite number" "a bound that is not a number" "$MVC" score --min recall@10=high
expect 129 "--layout" "an unknown layout" "$MVC" score --eval classifier --test "$T/rows.csv" --layout tf
expect 129 "--compare" "--seed without --compare" "$MVC" score $RET --seed 3
expect 129 "for --eval retrieval" "--items with the classifier" "$MVC" score --eval classifier --test "$T/rows.csv" --items items
expect 129 "no --eval" "--record with --eval" "$MVC" score --record a=1 $RET
expect 129 "" "--record without a value" "$MVC" score --record ctr
check "usage errors recorded nothing" test "$(snapshot .mvc)" = "$before"

finish
