#!/bin/sh
# mvc diff: every mode (working files, one or two revisions, --no-index),
# --stat, --json, --sort/--top, --tolerance with --exit-code, -q, and bad
# input (exit 2, a message, the repository untouched).
. "$(dirname "$0")/lib.sh"
JGET="$(dirname "$MVC")/tools/jget"

le64() { # print a number as 8 little-endian bytes
	v=$1 i=0
	while [ $i -lt 8 ]; do
		printf "\\$(printf %03o $((v & 255)))"
		v=$((v >> 8)) i=$((i + 1))
	done
}
# mkst OUT HEADER-JSON DATA-COMMAND: a safetensors file whose data is what
# the command prints (the header is padded to 8 bytes with spaces).
mkst() {
	h=$2
	while [ $(($(printf %s "$h" | wc -c) % 8)) -ne 0 ]; do h="$h "; done
	{ le64 "$(printf %s "$h" | wc -c)"; printf %s "$h"; eval "$3"; } >"$1"
}
# little-endian float32 bytes
F1='\000\000\200\077'      # 1.0
F2='\000\000\000\100'      # 2.0
FNAN='\000\000\300\177'    # NaN
FZ='\000\000\000\000'      # 0.0
# has FILE PATTERN: the file holds a line matching the extended regex
has() { grep -Eq -- "$2" "$1"; }
# line FILE NAME: the tensor line of NAME in a text diff
line() { grep -E "^  [a-z-]+ +$2  " "$1"; }

cd "$T"
expect 2 "not in an mvc repository" "diff outside a repository" "$MVC" diff
"$MVC" init -q models && cd models
expect 2 "no version committed yet" "diff before the first version" "$MVC" diff

tensors="--tensor emb:F32:256x16 --tensor dense.weight:F32:16x8 --tensor dense.bias:BF16:8
         --tensor head:F16:8x4 --tensor step:I64:- --tensor mask:BOOL:16 --tensor q:F8_E4M3:32"
# shellcheck disable=SC2086
"$MKMODEL" --seed 2 $tensors "$T/v1.st" >/dev/null
# shellcheck disable=SC2086
"$MKMODEL" --seed 2 --version 2 --retrain 0.3 $tensors "$T/v2.st" >/dev/null
# shellcheck disable=SC2086
"$MKMODEL" --seed 2 --nudge 1e-6 $tensors "$T/nudged.st" >/dev/null
cp "$T/v1.st" model.safetensors
"$MVC" commit -q -m v1 model.safetensors
git --git-dir=.mvc tag v1

# the working files against HEAD
expect 0 "" "diff of a clean working tree" "$MVC" diff
check "a clean tree: nothing changed" grep -q '^0 of 7 tensors changed, 0 bytes changed$' "$T/.stdout"
check "a clean tree: no tensor lines" test "$(wc -l <"$T/.stdout")" -eq 1
expect 0 "" "--exit-code on a clean tree exits 0" "$MVC" diff --exit-code
expect 0 "" "-q on a clean tree exits 0" "$MVC" diff -q

cp "$T/v2.st" model.safetensors
expect 0 "" "diff of a modified file exits 0" "$MVC" diff
cp "$T/.stdout" "$T/work.txt"
check "the file is named" grep -qx 'model.safetensors' "$T/work.txt"
check "a float tensor line: elements, l2, relative, max, cosine" has "$T/work.txt" \
    '^  changed +emb  F32 \[256, 16\]  [0-9]+ of 4096 elements differ \([0-9.]+%\), l2 [0-9.e-]+, relative [0-9.e-]+, max [0-9.e-]+, cosine 0\.[0-9]+$'
check "BF16 and F16 compared as numbers" sh -c "grep -q 'changed *dense.bias  BF16 \[8\]  .* of 8 elements differ' '$T/work.txt' &&
    grep -q 'changed *head  F16 \[8, 4\]  .* of 32 elements differ' '$T/work.txt'"
check "an integer tensor: elements that differ" has "$T/work.txt" '^  changed +step  I64 \[\]  1 of 1 elements differ$'
check "F8: bytes, and says so" has "$T/work.txt" \
    '^  changed +q  F8_E4M3 \[32\]  bytes differ \(no numeric comparison for F8_E4M3\): [0-9]+ of 32 bytes$'
check "the summary line" has "$T/work.txt" \
    "^[0-9] of 7 tensors changed, [0-9]+ bytes changed, largest relative change [0-9.e-]+ in '[a-z.]+'$"
expect 1 "" "--exit-code with differences exits 1" "$MVC" diff --exit-code
check "--exit-code still prints" test -s "$T/.stdout"
expect 1 "" "-q with differences exits 1" "$MVC" diff -q
check "-q prints nothing" test ! -s "$T/.stdout"
check "-q prints nothing on stderr" test ! -s "$T/.stderr"
expect 0 "" "diff HEAD is the same as diff" "$MVC" diff HEAD
check "diff HEAD: same output" cmp -s "$T/.stdout" "$T/work.txt"
expect 0 "" "--stat of the working file" "$MVC" diff --stat
check "--stat: chunks per tensor" has "$T/.stdout" '^  changed +emb  F32 \[256, 16\]  1 of 1 chunks changed$'
check "--stat: summary of chunks" has "$T/.stdout" '^[0-9] of 7 tensors changed, [0-9]+ of 7 chunks changed \([0-9]+ bytes\)$'

# two versions
"$MVC" commit -q -m v2
expect 0 "" "diff REV REV" "$MVC" diff HEAD~1 HEAD
check "two versions: the numbers of the working-file diff" cmp -s "$T/.stdout" "$T/work.txt"
expect 0 "" "diff REV: against the working files" "$MVC" diff v1
check "diff REV: same numbers" cmp -s "$T/.stdout" "$T/work.txt"
expect 0 "" "diff REV REV, backwards" "$MVC" diff HEAD v1
check "backwards: the same tensors changed" test "$(grep -c '^  changed' "$T/.stdout")" -eq "$(grep -c '^  changed' "$T/work.txt")"
expect 0 "" "a version against itself" "$MVC" diff HEAD HEAD
check "a version against itself: no change" grep -q '^0 of 7 tensors changed' "$T/.stdout"
expect 0 "" "--exit-code: a version against itself" "$MVC" diff --exit-code v1 v1

# --json
"$MVC" diff --json v1 HEAD >"$T/d.json"
check "json: schema 1" test "$("$JGET" schema "$T/d.json")" = 1
check "json: the old side" test "$("$JGET" old.rev "$T/d.json")" = v1
check "json: the old side's id" test "$("$JGET" old.id "$T/d.json")" = "$(git --git-dir=.mvc rev-parse v1)"
check "json: the new side" test "$("$JGET" new.id "$T/d.json")" = "$(git --git-dir=.mvc rev-parse HEAD)"
check "json: one file" test "$("$JGET" files.# "$T/d.json")" = 1
check "json: the file changed" test "$("$JGET" files.0.status "$T/d.json")" = changed
check "json: tensors total" test "$("$JGET" files.0.tensors_total "$T/d.json")" = 7
n=$("$JGET" summary.tensors_changed "$T/d.json")
check "json: only changed tensors listed" test "$("$JGET" files.0.tensors.# "$T/d.json")" = "$n"
check "json: the summary agrees with the text" grep -q "^$n of 7 tensors changed" "$T/work.txt"
check "json: sorted by name" test "$("$JGET" files.0.tensors.0.name "$T/d.json")" = dense.bias
check "json: BF16 compared as float" test "$("$JGET" files.0.tensors.0.compared "$T/d.json")" = float
i=0
while [ $i -lt 7 ] && [ "$("$JGET" files.0.tensors.$i.name "$T/d.json")" != emb ]; do i=$((i + 1)); done
check "json: emb is listed" test $i -lt 7
check "json: elements" test "$("$JGET" files.0.tensors.$i.elements "$T/d.json")" = 4096
ec=$("$JGET" files.0.tensors.$i.elements_changed "$T/d.json")
check "json: elements changed as in the text" grep -q "emb  F32 \[256, 16\]  $ec of 4096 elements" "$T/work.txt"
check "json: relative is a number" sh -c "'$JGET' files.0.tensors.$i.relative '$T/d.json' | grep -Eq '^[0-9.e-]+$'"
check "json: cosine below 1" sh -c "'$JGET' files.0.tensors.$i.cosine '$T/d.json' | grep -q '^0\.'"
check "json: nan count" test "$("$JGET" files.0.tensors.$i.nan "$T/d.json")" = 0
check "json: differs" test "$("$JGET" summary.differs "$T/d.json")" = true
check "json: the largest relative change is named" \
    grep -q "in '$("$JGET" summary.largest_relative.tensor "$T/d.json")'\$" "$T/work.txt"
check "json: chunks were decoded" test "$("$JGET" summary.chunks_decoded "$T/d.json")" -gt 0
"$MVC" diff --json --stat v1 HEAD >"$T/s.json"
check "json --stat: stat is true" test "$("$JGET" stat "$T/s.json")" = true
check "json --stat: no chunk decoded" test "$("$JGET" summary.chunks_decoded "$T/s.json")" = 0
check "json --stat: compared none" test "$("$JGET" files.0.tensors.0.compared "$T/s.json")" = none
check "json --stat: changed chunks" test "$("$JGET" files.0.tensors.0.chunks_changed "$T/s.json")" = 1
"$MVC" diff --json >"$T/w.json"
check "json: the working files side" test "$("$JGET" new.worktree "$T/w.json")" = true
check "json -v: unchanged tensors too" \
    test "$("$MVC" diff --json -v v1 HEAD | "$JGET" files.0.tensors.#)" = 7
expect 0 "" "-v lists unchanged tensors" "$MVC" diff -v v1 v1
check "-v: unchanged lines" test "$(grep -c '^  unchanged' "$T/.stdout")" -eq 7

# --sort and --top
"$MVC" diff --json --sort relative v1 HEAD >"$T/r.json"
r0=$("$JGET" files.0.tensors.0.relative "$T/r.json")
r1=$("$JGET" files.0.tensors.1.relative "$T/r.json")
check "--sort relative: largest first" awk -v a="$r0" -v b="$r1" 'BEGIN { exit !(a + 0 >= b + 0) }'
check "--sort relative: the first is the largest" \
    test "$("$JGET" files.0.tensors.0.name "$T/r.json")" = "$("$JGET" summary.largest_relative.tensor "$T/r.json")"
"$MVC" diff --json --sort max v1 HEAD >"$T/m.json"
m0=$("$JGET" files.0.tensors.0.max_abs_diff "$T/m.json")
m1=$("$JGET" files.0.tensors.1.max_abs_diff "$T/m.json")
check "--sort max: largest first" awk -v a="$m0" -v b="$m1" 'BEGIN { exit !(a + 0 >= b + 0) }'
check "--sort: integer tensors after float ones" \
    test "$("$JGET" files.0.tensors.$(($("$JGET" files.0.tensors.# "$T/m.json") - 1)).compared "$T/m.json")" != float
expect 0 "" "--top 1" "$MVC" diff --sort relative --top 1 v1 HEAD
check "--top 1: one tensor line" test "$(grep -c '^  changed' "$T/.stdout")" -eq 1
check "--top 1: says how many more" grep -q "^  \.\.\. $((n - 1)) more changed tensors\$" "$T/.stdout"
check "--top 1: the summary still covers all" grep -q "^$n of 7 tensors changed" "$T/.stdout"
check "--top 2 --json" test "$("$MVC" diff --json --top 2 v1 HEAD | "$JGET" files.0.tensors.#)" = 2

# --tolerance with --exit-code: a nudge of 1e-6 (relative) on the floats
git --git-dir=.mvc tag v2
cp "$T/v1.st" model.safetensors
"$MVC" commit -q -m "v1 again"
cp "$T/nudged.st" model.safetensors
"$MVC" commit -q -m nudged
expect 1 "" "--exit-code: a nudge is a difference" "$MVC" diff --exit-code HEAD~1 HEAD
max=$("$MVC" diff --json HEAD~1 HEAD | "$JGET" files.0.tensors.0.max_abs_diff)
check "a nudge moves little" awk -v m="$max" 'BEGIN { exit !(m > 0 && m < 1e-6) }'
expect 0 "" "--tolerance 1e-3: within it" "$MVC" diff --exit-code --tolerance 1e-3 HEAD~1 HEAD
check "--tolerance: the changes are still listed" grep -q '^  changed' "$T/.stdout"
expect 1 "" "--tolerance 1e-12: beyond it" "$MVC" diff --exit-code --tolerance 1e-12 HEAD~1 HEAD
expect 0 "" "-q --tolerance 1e-3" "$MVC" diff -q --tolerance 1e-3 HEAD~1 HEAD
expect 1 "" "a retraining exceeds 1e-3 (integers too)" "$MVC" diff --exit-code --tolerance 1e-3 v1 v2
check "json: tolerance recorded" \
    test "$("$MVC" diff --json --tolerance 0.5 HEAD~1 HEAD | "$JGET" tolerance)" = 0.5

# statuses, zero tensors, NaN, from hand-made files
mkdir -p sub
mkst sub/a.safetensors '{"z":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"gone":{"dtype":"F32","shape":[1],"data_offsets":[16,20]},"was":{"dtype":"F32","shape":[2],"data_offsets":[20,28]},"rs":{"dtype":"F32","shape":[2,1],"data_offsets":[28,36]},"rt":{"dtype":"F32","shape":[1],"data_offsets":[36,40]},"n":{"dtype":"F32","shape":[2],"data_offsets":[40,48]}}' \
    "printf '$FZ$FZ$FZ$FZ$F1$F1$F2$F1$F1$F1$F1$F1'"
mkst sub/b.safetensors '{"z":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"new":{"dtype":"F32","shape":[1],"data_offsets":[16,20]},"now":{"dtype":"F32","shape":[2],"data_offsets":[20,28]},"rs":{"dtype":"F32","shape":[1,2],"data_offsets":[28,36]},"rt":{"dtype":"I32","shape":[1],"data_offsets":[36,40]},"n":{"dtype":"F32","shape":[2],"data_offsets":[40,48]}}' \
    "printf '$F1$F1$F1$F1$F2$F1$F2$F1$F1$F1$F1$FNAN'"
cp sub/a.safetensors sub/m.safetensors
"$MVC" commit -q -m "hand-made" sub/m.safetensors
cp sub/b.safetensors sub/m.safetensors
expect 0 "" "diff -- PATH" "$MVC" diff -- sub/m.safetensors
cp "$T/.stdout" "$T/h.txt"
check "-- PATH: only that file" sh -c "! grep -q '^model.safetensors' '$T/h.txt'"
check "a zero tensor: relative undefined" grep -q 'changed *z  F32 \[4\] .* relative undefined (old tensor is zero)' "$T/h.txt"
check "a zero tensor: cosine undefined, not NaN" grep -q 'changed *z  F32 .* cosine undefined (zero tensor)$' "$T/h.txt"
check "the zero tensor's line has no NaN" sh -c "! grep 'changed *z ' '$T/h.txt' | grep -qi nan"
check "added" grep -q '^  added *new  F32 \[1\]$' "$T/h.txt"
check "removed" grep -q '^  removed *gone  F32 \[1\]$' "$T/h.txt"
check "renamed" grep -q '^  renamed *was -> now  F32 \[2\]$' "$T/h.txt"
check "shape changed" grep -q '^  shape-changed *rs  F32 \[2, 1\] -> \[1, 2\]$' "$T/h.txt"
check "dtype changed" grep -q '^  dtype-changed *rt  F32 \[1\] -> I32 \[1\]$' "$T/h.txt"
check "NaN in the new tensor is counted" grep -q 'changed *n  F32 .*new tensor has 1 NaN and 0 Inf, 1 element differs as NaN or Inf$' "$T/h.txt"
check "bytes changed: in place, added, removed, reshaped, retyped (renamed: none)" \
    grep -q "^7 of 7 tensors changed, 30 bytes changed, largest relative change 0 in 'n'\$" "$T/h.txt"
check "the header changed" grep -q 'non-tensor bytes (header, metadata) changed' "$T/h.txt"
"$MVC" diff --json -- sub/m.safetensors >"$T/h.json"
check "json: relative null for a zero tensor" test "$("$JGET" files.0.tensors.6.relative "$T/h.json")" = null
check "json: cosine null for a zero tensor" test "$("$JGET" files.0.tensors.6.cosine "$T/h.json")" = null
check "json: renamed has its old name" test "$("$JGET" files.0.tensors.3.old_name "$T/h.json")" = was
check "json: shape-changed has the old shape" test "$("$JGET" files.0.tensors.4.old_shape "$T/h.json")" = '[2,1]'
check "json: the NaN count" test "$("$JGET" files.0.tensors.1.nan "$T/h.json")" = 1
(cd sub && "$MVC" diff -- m.safetensors >"$T/sub.txt" 2>&1)
check "paths are relative to the current directory" cmp -s "$T/sub.txt" "$T/h.txt"
rm sub/m.safetensors
expect 0 "" "a missing working file" "$MVC" diff -- sub/m.safetensors
check "a missing working file is removed" grep -qx 'sub/m.safetensors (removed)' "$T/.stdout"
expect 1 "" "--exit-code: a removed file is a difference" "$MVC" diff --exit-code --tolerance 1 -- sub/m.safetensors
"$MVC" checkout -q HEAD

# --no-index: two files, no repository needed
cd "$T"
expect 0 "" "--no-index outside a repository" "$MVC" diff --no-index v1.st v2.st
tail -n +2 "$T/work.txt" >"$T/work.body"
tail -n +2 "$T/.stdout" >"$T/ni.body"
check "--no-index: the same numbers" cmp -s "$T/ni.body" "$T/work.body"
check "--no-index: names both files" grep -qx 'v1.st -> v2.st' "$T/.stdout"
expect 1 "" "--no-index --exit-code" "$MVC" diff --no-index --exit-code v1.st v2.st
expect 0 "" "--no-index of a file with itself" "$MVC" diff --no-index --exit-code v1.st v1.st
"$MVC" diff --no-index --json v1.st v2.st >"$T/n.json"
check "--no-index json: paths" test "$("$JGET" old.path "$T/n.json")/$("$JGET" new.path "$T/n.json")" = v1.st/v2.st
check "--no-index json: old_path" test "$("$JGET" files.0.old_path "$T/n.json")" = v1.st
expect 0 "" "--no-index --stat" "$MVC" diff --no-index --stat v1.st v2.st
expect 2 "cannot open 'nosuch.st'" "--no-index: a missing file" "$MVC" diff --no-index v1.st nosuch.st
echo "just some text, not a model" >text.st
expect 2 "cannot compare 'v1.st' (safetensors) with 'text.st'" "--no-index: files of different formats" \
    "$MVC" diff --no-index v1.st text.st
expect 2 "cannot compare 'text.st' (opaque) with 'v1.st' (safetensors)" \
    "--no-index: the old file is not a model" "$MVC" diff --no-index text.st v1.st
expect 2 "not a regular file" "--no-index: a directory" "$MVC" diff --no-index v1.st models
expect 129 "exactly two files" "--no-index with one file" "$MVC" diff --no-index v1.st
expect 129 "exactly two files" "--no-index with three files" "$MVC" diff --no-index v1.st v2.st v1.st

# bad input: exit 2 or 129, a message, and the repository unchanged
cd "$T/models"
before=$(snapshot .mvc)
expect 2 "unknown revision 'nosuch'" "an unknown revision" "$MVC" diff nosuch
expect 2 "unknown revision 'nosuch'" "an unknown second revision" "$MVC" diff HEAD nosuch
expect 2 "'nosuch.safetensors' is not tracked in 'v1' or 'HEAD'" "an untracked path" \
    "$MVC" diff v1 HEAD -- nosuch.safetensors
expect 2 "is not tracked in 'HEAD'" "an untracked path against the working files" \
    "$MVC" diff -- nosuch.safetensors
expect 2 "outside the working directory" "a path outside the working directory" \
    "$MVC" diff -- "$T/v1.st"
expect 2 "put paths after '--'" "a path where a revision goes: a hint" "$MVC" diff model.safetensors
cp model.safetensors "$T/keep.st"
echo garbage >model.safetensors
expect 2 "is not a model file" "a working file that no longer parses" "$MVC" diff
cp "$T/keep.st" model.safetensors
expect 129 "at most two revisions" "three revisions" "$MVC" diff v1 v2 HEAD
expect 129 "needs a number of at least 0" "--tolerance abc" "$MVC" diff --tolerance abc
expect 129 "needs a number of at least 0" "--tolerance -1" "$MVC" diff --tolerance -1
expect 129 "needs a number of at least 0" "--tolerance inf" "$MVC" diff --tolerance inf
expect 129 "takes name, relative or max" "--sort bogus" "$MVC" diff --sort bogus
expect 129 "non-negative integer" "--top x" "$MVC" diff --top x
expect 129 "--stat does not read" "--stat with --tolerance" "$MVC" diff --stat --tolerance 1
expect 129 "unknown option" "an unknown option" "$MVC" diff --bogus
check "the repository is unchanged" test "$(snapshot .mvc)" = "$before"
check "git fsck still passes" git --git-dir=.mvc fsck --strict

# help
check "mvc help diff" sh -c "'$MVC' help diff | grep -q 'usage: mvc diff'"
check "mvc diff --help lists --tolerance" sh -c "'$MVC' diff --help | grep -q -- '--tolerance <x>'"
finish
