#!/bin/sh
# make demo's story runs to its end and every step shows what it claims:
# the nightly versions are gated on their held-out score, the corrupted
# run is refused and rolled back, the federated round is deployed, and
# the repository is left sound for the user.
. "$(dirname "$0")/lib.sh"
JGET="$(dirname "$MVC")/tools/jget"
TRAINER="$(dirname "$MVC")/examples/trainer"

if [ ! -x "$TRAINER" ]; then
	skip "the trainer is not built: make test-build"
	finish
fi
out=$T/demo.out
expect 0 "" "the demo runs to its end" env MVC_BUILD="$(cd "$(dirname "$MVC")" && pwd)" \
    DEMO_DIR="$T/demo" sh "$MVC_SRC/examples/demo.sh"
sed 's/\x1b\[[0-9;]*m//g' "$T/.stdout" >"$out"
check "days 2 to 5 are deployed" test "$(grep -c '^production: .* -> ' "$out")" -ge 5
check "the corrupted run is refused by the score gate" grep -q '^refused (exit 1): production stays on day 5' "$out"
check "... because its held-out RMSE is worse" grep -q '^mvc: rmse is .*above the maximum' "$T/.stderr"
check "production is rolled back" grep -q '^production: rolled back from' "$out"
check "so is the branch" grep -q '^main: rolled back from' "$out"
check "diff --stat shows the day's changed chunks" grep -q 'chunks changed' "$out"
check "du shows what a day cost" grep -q '^total (1) ' "$out"
check "the federated round is aggregated" grep -q 'aggregated 3 versions with fedavg' "$out"
check "the demo says how long it took" grep -q '^== Done in [0-9]* s' "$out"
cd "$T/demo/models"
check "the repository is left behind, sound" "$MVC" fsck --full
check "git agrees" git --git-dir=.mvc fsck --full --strict
check "production serves the round's version" test "$("$MVC" log --oneline -n 1 production | cut -c1-12)" = \
    "$("$MVC" log --oneline -n 1 | cut -c1-12)"
check "the served file is production's, bit for bit" sh -c "'$MVC' checkout -q production -o '$T/p.st' && cmp -s '$T/p.st' '$T/demo/serving/model.safetensors'"
check "every version's score is recorded" test "$("$MVC" log --json | "$JGET" versions.0.scores.#)" -ge 1
check "day 6's bad score is in history" sh -c "'$MVC' score HEAD~2 | grep -Eq 'rmse=0\.[5-9]'"
finish
