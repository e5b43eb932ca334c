#!/bin/sh
# The federated round of examples/federated/round.sh, run against the git
# daemon it starts on 127.0.0.1: the history (an aggregate whose parents
# are the previous global model and the three site versions, weighted by
# their num-examples), the production channel, the scores, the sites'
# models after the pull; and a round with a poisoned site, refused.
. "$(dirname "$0")/lib.sh"
TRAINER="$(dirname "$MVC")/examples/trainer"
ROUND="$MVC_SRC/examples/federated/round.sh"

if [ ! -x "$TRAINER" ]; then
	not_ok "the trainer is built ($TRAINER: make test-build)"
	finish
fi
cd "$T"

expect 0 "" "a federated round" env MVC="$MVC" TRAINER="$TRAINER" WORK="$T/fed" sh "$ROUND"
cp "$T/.stdout" "$T/round.out"
SRV="$T/fed/server/models.git"
s() { git --git-dir="$SRV" "$@"; }
check "it says what happened" grep -q '^round 1: deployed (held-out RMSE 0\.[0-9]* -> 0\.[0-9]*)' "$T/round.out"
check "each step is printed" test "$(grep -c '^== ' "$T/round.out")" -ge 10
main=$(s rev-parse main)
g0=$(s rev-parse main^1)
a=$(s rev-parse sites/a) b=$(s rev-parse sites/b) c=$(s rev-parse sites/c)
check "server: the aggregate's parents are the previous global model and the three sites" \
    test "$(s rev-list --parents -n 1 main)" = "$main $g0 $a $b $c"
check "server: the previous global model is round 0" test "$(s log -1 --format=%s "$g0")" = "global model, round 0"
check "server: each site version is a child of round 0" \
    test "$(s rev-parse sites/a^ sites/b^ sites/c^ | sort -u)" = "$g0"
check "site a recorded its num-examples" sh -c "git --git-dir='$SRV' log -1 --format=%B sites/a | grep -qx 'num-examples: 3000'"
s log -1 --format=%B main >"$T/msg"
check "the aggregate: FedAvg" grep -qx 'Aggregate-Method: fedavg' "$T/msg"
check "the aggregate: weights from num-examples (3000, 5000, 8000)" sh -c \
    "grep -qx 'Aggregate-Input: $a weight=0.1875 num-examples=3000' '$T/msg' &&
     grep -qx 'Aggregate-Input: $b weight=0.3125 num-examples=5000' '$T/msg' &&
     grep -qx 'Aggregate-Input: $c weight=0.5 num-examples=8000' '$T/msg'"
move=$(s rev-parse refs/mvc/channels/production)
check "server: production points at the new global model" test "$(s rev-list --parents -n 1 "$move" | awk '{ print $NF }')" = "$main"
moves() { s log --first-parent --format=%s "$1" | grep -c '^move production'; }
check "server: production moved twice (round 0, round 1)" test "$(moves "$move")" = 2
check "the move says why" sh -c "git --git-dir='$SRV' log -1 --format=%B '$move' | grep -q 'round 1: held-out RMSE'"
old=$(sed -n 's/^held-out RMSE: previous global \([0-9.]*\), new global \([0-9.]*\).*/\1/p' "$T/round.out")
new=$(sed -n 's/^held-out RMSE: previous global \([0-9.]*\), new global \([0-9.]*\).*/\2/p' "$T/round.out")
check "held-out RMSE: the new global model is not worse" awk -v o="$old" -v n="$new" 'BEGIN { exit !(n + 0 <= o + 0 && n + 0 > 0) }'
if grep -q 'mvc score --eval command' "$T/round.out"; then
	check "server: the scores travelled as notes" s rev-parse -q --verify refs/notes/mvc/scores
	check "server: two versions scored" test "$(s notes --ref=mvc/scores list | wc -l)" = 2
	# scores belong to a version's content: the note is on its tree
	s notes --ref=mvc/scores show 'main^{tree}' >"$T/note" 2>/dev/null ||
	    s notes --ref=mvc/scores show main >"$T/note" 2>/dev/null
	check "server: the new model has a score" test -s "$T/note"
	check "the note holds the RMSE" test "$(sed -n 's/.*"rmse":\([-0-9.eE+]*\).*/\1/p' "$T/note" |
	    awk '{ printf "%.4f", $1 }')" = "$new"
	check "a site has the scores after its pull" \
	    git --git-dir="$T/fed/site-a/.mvc" rev-parse -q --verify refs/notes/mvc/scores
else
	skip "scores in history: this mvc has no 'mvc score'"
fi
for x in a b c; do
	check "site $x pulled the new global model, bit for bit" same_file "$T/fed/site-$x/model.safetensors" "$T/fed/coordinator/model.safetensors"
	check "site $x's branch is the server's" test "$(git --git-dir="$T/fed/site-$x/.mvc" rev-parse main)" = "$main"
done
check "the working file is the aggregate" sh -c "cd '$T/fed/coordinator' && '$MVC' status --exit-code -q"
check "server: git fsck" git --git-dir="$SRV" fsck --full --strict
port=$(sed -n 's|^serving .* at git://127.0.0.1:\([0-9]*\)/.*|\1|p' "$T/round.out")
check "the daemon is gone after the round" sh -c "! git ls-remote 'git://127.0.0.1:$port/models.git' >/dev/null 2>&1"

# a poisoned site makes the average worse: production stays, main rolls back
expect 0 "" "a round with a poisoned site" env MVC="$MVC" TRAINER="$TRAINER" WORK="$T/fed2" POISON=c sh "$ROUND"
cp "$T/.stdout" "$T/round2.out"
SRV="$T/fed2/server/models.git"
check "it says the round was refused" grep -q '^round 1: refused' "$T/round2.out"
g0=$(s rev-parse main~2)
check "the aggregate stays in history" test "$(s rev-list --parents -n 1 main~1 | wc -w)" = 5
check "main is a rollback to round 0's models" test "$(s rev-parse 'main^{tree}')" = "$(s rev-parse "$g0^{tree}")"
move=$(s rev-parse refs/mvc/channels/production)
check "production still points at round 0" test "$(s rev-list --parents -n 1 "$move" | awk '{ print $NF }')" = "$g0"
check "production did not move" test "$(moves "$move")" = 1
check "site c pulled round 0's model back" same_file "$T/fed2/site-c/model.safetensors" "$T/fed2/coordinator/model.safetensors"

finish
