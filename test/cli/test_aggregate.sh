#!/bin/sh
# mvc aggregate end to end: a federated round on branches, the version's
# parents and trailers, results checked against values computed by hand,
# --dry-run and --json, every method once, and bad input (a message, exit
# 2 or 129, the repository unchanged).
. "$(dirname "$0")/lib.sh"
JGET="$(dirname "$MVC")/tools/jget"

le64() { # print a number as 8 little-endian bytes
	v=$1 i=0
	while [ $i -lt 8 ]; do
		printf "\\$(printf %03o $((v & 255)))"
		v=$((v >> 8)) i=$((i + 1))
	done
}
# mkst OUT HEADER-JSON DATA: a safetensors file whose data is what printf
# makes of DATA (the header is padded to 8 bytes with spaces).
mkst() {
	h=$2
	while [ $(($(printf %s "$h" | wc -c) % 8)) -ne 0 ]; do h="$h "; done
	{ le64 "$(printf %s "$h" | wc -c)"; printf %s "$h"; printf "$3"; } >"$1"
}
# little-endian float32 bytes
F1='\000\000\200\077' F2='\000\000\000\100' F3='\000\000\100\100' F4='\000\000\200\100'
F25='\000\000\040\100' F35='\000\000\140\100' F5='\000\000\240\100' F6='\000\000\300\100'
HDR='{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'
# close A B [REL]: the numbers agree to REL (default 1e-12) relatively
close() { awk -v a="$1" -v b="$2" -v r="${3:-1e-12}" 'BEGIN { d = a - b; if (d < 0) d = -d;
	m = b < 0 ? -b : b; exit !(d <= r * m + 1e-300) }'; }
has() { grep -Eq -- "$2" "$1"; }

cd "$T"
expect 2 "not in an mvc repository" "aggregate outside a repository" "$MVC" aggregate main
"$MVC" init -q fl && cd fl
git --git-dir=.mvc config mvc.chunkSize 2048      # several chunks per tensor
tensors="--tensor emb:F32:256x16 --tensor dense.weight:F32:16x8 --tensor dense.bias:BF16:8
         --tensor head:F16:8x4 --tensor step:I64:- --tensor mask:BOOL:16"
# shellcheck disable=SC2086
"$MKMODEL" --seed 5 $tensors model.safetensors >/dev/null
"$MVC" commit -q -m "global round 0" model.safetensors
for s in a b c; do "$MVC" branch sites/$s; done
i=0
for s in a b c; do
	i=$((i + 1))
	"$MVC" switch -q sites/$s
	# shellcheck disable=SC2086
	"$MKMODEL" --seed 5 --version $((i + 1)) --retrain 0.3 --nudge 0.01 $tensors model.safetensors >/dev/null
	"$MVC" commit -q -m "site $s" --meta num-examples=$((i * 100))
done
"$MVC" switch -q main
g0=$(git --git-dir=.mvc rev-parse main)
a=$(git --git-dir=.mvc rev-parse sites/a)
b=$(git --git-dir=.mvc rev-parse sites/b)
c=$(git --git-dir=.mvc rev-parse sites/c)

# --dry-run: the report, and nothing written
before=$(snapshot .mvc)
expect 0 "" "fedavg --dry-run" "$MVC" aggregate --dry-run sites/a sites/b sites/c
check "dry run: says nothing was written" grep -q '^dry run: fedavg of 3 versions, nothing written$' "$T/.stdout"
check "dry run: a line per input with weight and count" has "$T/.stdout" "^  sites/b +${b%????????????????????????????}  0\\.333333 +200 +[0-9.e-]+\$"
check "dry run: the store is unchanged" test "$(snapshot .mvc)" = "$before"
check "dry run: no temporary file left" sh -c "! ls .mvc | grep -q tmp_"
"$MVC" aggregate --dry-run --json sites/a sites/b sites/c >"$T/dry.json"
check "json: schema 1" test "$("$JGET" schema "$T/dry.json")" = 1
check "json: method" test "$("$JGET" method "$T/dry.json")" = fedavg
check "json: three inputs" test "$("$JGET" inputs.# "$T/dry.json")" = 3
check "json: the inputs' ids" test "$("$JGET" inputs.2.id "$T/dry.json")" = "$c"
check "json: num_examples" test "$("$JGET" inputs.1.num_examples "$T/dry.json")" = 200
check "json: weights are n_i / sum n" sh -c "'$JGET' inputs.0.weight '$T/dry.json' | grep -q '^0.1666666666'"
check "json: the third weighs 1/2" test "$("$JGET" inputs.2.weight "$T/dry.json")" = 0.5
check "json: no id in a dry run" test "$("$JGET" result.id "$T/dry.json")" = null
check "json: norms against the result" test "$("$JGET" norm_reference "$T/dry.json")" = result
check "json: step named (integer, the inputs differ)" \
    test "$("$JGET" tensors.0.name "$T/dry.json")/$("$JGET" tensors.0.reason "$T/dry.json")/$("$JGET" tensors.0.differed "$T/dry.json")" = step/integer/true
check "json: tensors combined" test "$("$JGET" summary.tensors_combined "$T/dry.json")" = 4
check "dry run with --json: still nothing written" test "$(snapshot .mvc)" = "$before"

# the round itself
expect 0 "" "fedavg of three sites" "$MVC" aggregate -m "round 1" sites/a sites/b sites/c
check "the report names the new version" has "$T/.stdout" '^\[[0-9a-f]{12}\] aggregated 3 versions with fedavg$'
new=$(git --git-dir=.mvc rev-parse main)
check "the branch moved" test "$new" != "$g0"
check "parents: the old head, then every input" \
    test "$(git --git-dir=.mvc rev-list --parents -n 1 main)" = "$new $g0 $a $b $c"
git --git-dir=.mvc log -1 --format=%B main >"$T/msg"
check "message: the first line" test "$(head -n 1 "$T/msg")" = "round 1"
check "trailer: the method" grep -qx 'Aggregate-Method: fedavg' "$T/msg"
check "trailer: each input with weight and count" \
    grep -qx "Aggregate-Input: $a weight=0.16666666666666666 num-examples=100" "$T/msg"
check "trailer: the third input" grep -qx "Aggregate-Input: $c weight=0.5 num-examples=300" "$T/msg"
check "git reads the trailers" \
    test "$(git --git-dir=.mvc log -1 --format='%(trailers:key=Aggregate-Input,valueonly)' main | grep -c .)" = 3
check "mvc show lists them as metadata" sh -c "'$MVC' show --json main | grep -q 'Aggregate-Method'"
check "git log --graph shows the merge" sh -c "git --git-dir=.mvc log --graph --oneline main | grep -Eq '^\*-+\. '"
check "the working file is the result" sh -c "'$MVC' checkout -q -o '$T/r1.st' main && cmp -s model.safetensors '$T/r1.st'"
expect 0 "" "status after the aggregate" "$MVC" status
check "status: clean" grep -q 'clean *model.safetensors' "$T/.stdout"
check "no temporary file left in the store" sh -c "! ls .mvc | grep -q tmp_"
check "the same numbers as the dry run" sh -c "'$MVC' aggregate --dry-run --json sites/a sites/b sites/c | '$JGET' inputs.1.norm | grep -qx \"\$('$JGET' inputs.1.norm '$T/dry.json')\""
check "git fsck --full --strict" git --git-dir=.mvc fsck --full --strict

# results checked by hand: w = (1, 2) with 100 examples, (3, 4) with 300
"$MVC" switch -q -c hand/a
mkst hand.safetensors "$HDR" "$F1$F2"
"$MVC" commit -q -m "hand a" --meta num-examples=100 hand.safetensors
"$MVC" switch -q -c hand/b hand/a
mkst hand.safetensors "$HDR" "$F3$F4"
"$MVC" commit -q -m "hand b" --meta num-examples=300
"$MVC" switch -q -c hand/c hand/a
mkst hand.safetensors "$HDR" "$F5$F6"
"$MVC" commit -q -m "hand c" --meta num-examples=600
"$MVC" switch -q -c hand/out hand/a
expect 0 "" "fedavg of hand-made inputs" "$MVC" aggregate -q hand/a hand/b -- hand.safetensors
mkst "$T/want.st" "$HDR" "$F25$F35"           # 0.25 * (1, 2) + 0.75 * (3, 4)
check "fedavg: (2.5, 3.5), bit for bit" cmp -s hand.safetensors "$T/want.st"
check "-q prints nothing" test ! -s "$T/.stdout"
expect 0 "" "median of three" "$MVC" aggregate -q --method median hand/a hand/b hand/c
mkst "$T/want.st" "$HDR" "$F3$F4"
check "median: (3, 4)" cmp -s hand.safetensors "$T/want.st"
expect 0 "" "median of an even count" "$MVC" aggregate -q --method median hand/a hand/b
mkst "$T/want.st" "$HDR" "$F2$F3"             # the mean of the middle two
check "median of two: (2, 3)" cmp -s hand.safetensors "$T/want.st"
expect 0 "" "weights 1,0,1" "$MVC" aggregate -q --weights 1,0,1 hand/a hand/b hand/c
mkst "$T/want.st" "$HDR" "$F3$F4"             # (1 + 5) / 2, (2 + 6) / 2
check "weights: (3, 4)" cmp -s hand.safetensors "$T/want.st"
expect 0 "" "task arithmetic" "$MVC" aggregate -q --method task-arithmetic --base hand/a \
    --lambda 0.5 hand/b hand/c
mkst "$T/want.st" "$HDR" "$F4$F5"             # 1 + 0.5 * (2 + 4), 2 + 0.5 * (2 + 4)
check "task arithmetic: (4, 5)" cmp -s hand.safetensors "$T/want.st"
expect 0 "" "interpolate" "$MVC" aggregate -q --method interpolate --alpha 0.25 hand/a hand/c
mkst "$T/want.st" "$HDR" "$F2$F3"             # 0.75 * (1, 2) + 0.25 * (5, 6)
check "interpolate: (2, 3)" cmp -s hand.safetensors "$T/want.st"
expect 0 "" "trimmed mean" "$MVC" aggregate -q --method trimmed-mean --trim 0.34 hand/a hand/b hand/c
mkst "$T/want.st" "$HDR" "$F3$F4"
check "trimmed mean of three, one off each end: (3, 4)" cmp -s hand.safetensors "$T/want.st"
expect 0 "" "DP clipping, no noise" "$MVC" aggregate --json --clip 1 --base hand/a hand/b hand/c
# updates (2, 2) and (4, 4): norms 2.83 and 5.66, both clipped to 1
check "DP: the clip factors" close "$("$JGET" inputs.1.clip_factor "$T/.stdout")" "$(awk 'BEGIN { printf "%.17g", 1 / sqrt(32) }')"
check "DP: the norms" close "$("$JGET" inputs.0.norm "$T/.stdout")" "$(awk 'BEGIN { printf "%.17g", sqrt(8) }')"
check "DP: how far the result moved (1, from the base)" close "$("$JGET" result.update_norm "$T/.stdout")" 1 1e-6
check "DP: the base recorded" test "$("$JGET" base.rev "$T/.stdout")" = hand/a
check "trailer: the clip" sh -c "git --git-dir=.mvc log -1 --format=%B | grep -qx 'Aggregate-Clip: 1'"
expect 0 "" "DP with noise and a seed" "$MVC" aggregate --clip 1 --noise-multiplier 0.5 --seed 3 \
    --base hand/a hand/b hand/c
check "DP: the noise, and that a seed is not private" grep -q 'noise std 0.25 (noise multiplier 0.5), from --seed: reproducible and NOT private' "$T/.stdout"
cp hand.safetensors "$T/noise1.st"
"$MVC" aggregate -q --clip 1 --noise-multiplier 0.5 --seed 3 --base hand/a hand/b hand/c
check "DP: the same seed, the same noise" cmp -s hand.safetensors "$T/noise1.st"
check "the seed itself is not recorded" sh -c "! git --git-dir=.mvc log -1 --format=%B | grep -qi 'seed: *3'"

# krum on the sites: the far one is not chosen, and is flagged
"$MVC" switch -q -c sites/d sites/a
# shellcheck disable=SC2086
"$MKMODEL" --seed 5 --version 9 --retrain 1 --nudge 30 $tensors model.safetensors >/dev/null
"$MVC" commit -q -m "site d" --meta num-examples=400
"$MVC" switch -q -c sites/e sites/a
# shellcheck disable=SC2086
"$MKMODEL" --seed 5 --version 3 --retrain 0.3 --nudge 0.011 $tensors model.safetensors >/dev/null
"$MVC" commit -q -m "site e" --meta num-examples=500
"$MVC" switch -q main
"$MVC" aggregate --dry-run --json --method krum --byzantine 1 sites/a sites/b sites/c sites/d sites/e >"$T/krum.json"
check "krum: a selection" sh -c "'$JGET' selected '$T/krum.json' | grep -qx '[0-9]'"
check "krum: not the far site" test "$("$JGET" selected "$T/krum.json")" != 3
check "krum: the selected input says so" test "$("$JGET" inputs.$("$JGET" selected "$T/krum.json").selected "$T/krum.json")" = true
check "krum: scores reported" sh -c "'$JGET' inputs.3.krum_score '$T/krum.json' | grep -Eq '^[0-9.e+-]+$'"
check "krum: the far site is an outlier" test "$("$JGET" inputs.3.outlier "$T/krum.json")" = true
before=$(snapshot .mvc)
expect 0 "" "krum, committed" "$MVC" aggregate --method krum --byzantine 1 sites/a sites/b sites/c sites/d sites/e
check "krum: the trailer names the choice" sh -c "git --git-dir=.mvc log -1 --format=%B | grep -q '^Aggregate-Selected: '"
check "krum: the result is the selected input" sh -c "sel=\$(git --git-dir=.mvc log -1 --format=%B | sed -n 's/^Aggregate-Selected: //p');
    '$MVC' diff -q \$sel HEAD"
expect 0 "" "trimmed mean of five" "$MVC" aggregate --dry-run --method trimmed-mean --trim 0.2 sites/a sites/b sites/c sites/d sites/e
check "trimmed: one value off each end" grep -q '^trimmed: 1 value at each end of every coordinate$' "$T/.stdout"
check "the far site is flagged in text too" grep -q '^  sites/d .*OUTLIER (modified z-score' "$T/.stdout"

# --exclude and the integer policies
expect 0 "" "--exclude" "$MVC" aggregate --dry-run --exclude 'dense.*' --exclude emb sites/a sites/b sites/c
check "excluded tensors are named" grep -q '^  not combined: dense.bias (BF16): excluded, from the first input; the inputs differ$' "$T/.stdout"
expect 0 "" "--exclude under DP: outside the guarantee" "$MVC" aggregate --dry-run --clip 1 --base main~1 \
    --exclude emb sites/a sites/b sites/c
check "DP: excluded tensors are outside the guarantee" grep -q '^  not combined: emb (F32): excluded, from the first input; the inputs differ; outside the DP guarantee (no noise)$' "$T/.stdout"
expect 0 "" "--int-policy max" "$MVC" aggregate --dry-run --int-policy max sites/a sites/b sites/c
check "max: said" grep -q 'step (I64): integer, the largest value of each element; the inputs differ' "$T/.stdout"

# a file one input tracks and the others do not
"$MVC" switch -q -c sites/f sites/a
cp hand.safetensors extra.safetensors 2>/dev/null || mkst extra.safetensors "$HDR" "$F1$F2"
"$MVC" commit -q -m "site f" --meta num-examples=10 extra.safetensors
"$MVC" switch -q main
before=$(snapshot .mvc)
expect 2 "'extra.safetensors' is tracked in 'sites/f' but not in 'sites/a'" \
    "inputs tracking other files" "$MVC" aggregate --dry-run sites/a sites/f
expect 0 "" "-- names the files" "$MVC" aggregate --dry-run sites/a sites/f -- model.safetensors

# bad input: a message, exit 2, nothing changed
"$MVC" switch -q -c sites/x sites/a
mkst model.safetensors '{"emb":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}' "$F1$F2"
"$MVC" commit -q -m "reshaped" --meta num-examples=1
"$MVC" switch -q -c sites/y sites/a
"$MKMODEL" --seed 5 --tensor emb:F32:256x16 model.safetensors >/dev/null
"$MVC" commit -q -m "fewer tensors" --meta num-examples=1
"$MVC" switch -q -c sites/nocount sites/a
"$MVC" commit -q --allow-empty -m "no count"
"$MVC" switch -q main
before=$(snapshot .mvc)
expect 2 "unknown revision 'nosuch'" "an unknown revision" "$MVC" aggregate sites/a nosuch
expect 2 "inputs disagree: tensor 'emb' of 'model.safetensors' has shape [256, 16] in 'sites/a' but [2] in 'sites/x'" \
    "mismatched shapes" "$MVC" aggregate sites/a sites/x
expect 2 "inputs disagree: tensor 'dense.weight' of 'model.safetensors' is in 'sites/a' but not in 'sites/y'" \
    "a missing tensor" "$MVC" aggregate --method mean sites/a sites/y
expect 2 "version 'sites/nocount' has no num-examples metadata" "missing num-examples" \
    "$MVC" aggregate sites/a sites/nocount
expect 2 "krum with 1 Byzantine input needs at least 5 inputs (2f + 3), not 3" "krum with too few inputs" \
    "$MVC" aggregate --method krum --byzantine 1 sites/a sites/b sites/c
expect 2 "2 weights for 3 inputs" "a wrong number of weights" "$MVC" aggregate --weights 1,2 sites/a sites/b sites/c
expect 2 "weight 2 is -1" "a negative weight" "$MVC" aggregate --weights 1,-1,1 sites/a sites/b sites/c
expect 2 "interpolate takes exactly two versions" "interpolate of three" \
    "$MVC" aggregate --method interpolate sites/a sites/b sites/c
expect 2 "task-arithmetic needs a base version (--base)" "task arithmetic without a base" \
    "$MVC" aggregate --method task-arithmetic sites/a sites/b
expect 2 "clipping needs a base version" "clipping without a base" "$MVC" aggregate --clip 1 sites/a sites/b
expect 2 "the inputs differ in tensor 'step'" "--int-policy error" "$MVC" aggregate --int-policy error sites/a sites/b
expect 2 "'nosuch.safetensors' is not tracked in 'sites/a'" "an untracked file" \
    "$MVC" aggregate sites/a sites/b -- nosuch.safetensors
expect 129 "name the versions to aggregate" "no revision" "$MVC" aggregate
expect 129 "option '--method' takes fedavg" "an unknown method" "$MVC" aggregate --method average sites/a
expect 129 "option '--int-policy' takes first, max or error" "an unknown policy" "$MVC" aggregate --int-policy min sites/a
expect 129 "option '--weights' needs a number" "weights that are not numbers" "$MVC" aggregate --weights 1,x sites/a sites/b
expect 129 "option '--trim' needs a number" "a trim that is not a number" "$MVC" aggregate --method trimmed-mean --trim many sites/a
expect 129 "--trim goes with --method trimmed-mean" "--trim with fedavg" "$MVC" aggregate --trim 0.1 sites/a
expect 129 "krum needs --byzantine" "krum without --byzantine" "$MVC" aggregate --method krum sites/a sites/b sites/c
expect 129 "--seed goes with --noise-multiplier" "--seed alone" "$MVC" aggregate --seed 1 sites/a
expect 129 "unknown option" "an unknown option" "$MVC" aggregate --bogus sites/a
check "bad input: the repository is unchanged" test "$(snapshot .mvc)" = "$before"
check "bad input: no temporary file left" sh -c "! ls .mvc | grep -q tmp_"

# a working file with uncommitted changes: refused before any work (exit 1)
cp model.safetensors "$T/keep.st"
# shellcheck disable=SC2086
"$MKMODEL" --seed 6 $tensors model.safetensors >/dev/null
expect 1 "'model.safetensors' has uncommitted changes; commit it first, or aggregate with --no-checkout" \
    "a modified working file" "$MVC" aggregate sites/a sites/b sites/c
check "refused: the repository is unchanged" test "$(snapshot .mvc)" = "$before"
expect 0 "" "--no-checkout leaves it alone" "$MVC" aggregate --no-checkout sites/a sites/b sites/c
check "--no-checkout: the working file is untouched" sh -c "! cmp -s model.safetensors '$T/keep.st' && '$MKMODEL' --seed 6 $(echo $tensors) '$T/m6.st' >/dev/null && cmp -s model.safetensors '$T/m6.st'"
check "--no-checkout: the report says so" grep -q 'working files left as they were' "$T/.stdout"
"$MVC" checkout -q -f HEAD

check "git fsck --full --strict at the end" git --git-dir=.mvc fsck --full --strict
check "mvc help aggregate" sh -c "'$MVC' help aggregate | grep -q 'usage: mvc aggregate'"
finish
