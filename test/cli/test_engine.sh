#!/bin/sh
# The storage engine: packs instead of loose objects, output independent
# of the thread count, deltas against the parent, bounded delta chains,
# delta bases that survive deleted history, gc and shallow clones, and
# the stat cache that skips unchanged files.
. "$(dirname "$0")/lib.sh"
JGET="$(dirname "$MVC")/tools/jget"
cd "$T"

gen() { # out version [extra mkmodel args]
	out=$1 v=$2; shift 2
	"$MKMODEL" --seed 5 --version "$v" --retrain 0.05 --tensor 'item_emb:F32:4096x64' \
	    --tensor 'user_emb:BF16:2048x64' --tensor 'dense.w:F32:64x64' --tensor 'ids:I64:100' \
	    "$@" "$out" >/dev/null
}
loose() { git --git-dir="$1" count-objects -v | sed -n 's/^count: //p'; }

"$MVC" init -q repo && cd repo
git --git-dir=.mvc config mvc.chunkSize 65536
gen m.safetensors 1
"$MVC" commit -m v1 --json m.safetensors >"$T/c1.json"
check "chunks go into a pack, not loose files ($(loose .mvc) loose)" test "$(loose .mvc)" -le 4
for p in .mvc/objects/pack/*.idx; do
	check "git verify-pack accepts $(basename "$p")" git --git-dir=.mvc verify-pack "$p"
done
check "git fsck --full --strict" git --git-dir=.mvc fsck --full --strict
raw=$(wc -c <m.safetensors)
stored1=$("$JGET" bytes_stored "$T/c1.json")
check "a first version is compressed ($stored1 of $raw bytes)" test "$stored1" -lt "$raw"

# the same input gives the same objects whatever the thread count
for t in 1 2 3; do
	mkdir "$T/det$t" && cp m.safetensors "$T/det$t/" && (cd "$T/det$t" && "$MVC" init -q . &&
	    git --git-dir=.mvc config mvc.chunkSize 65536 &&
	    MVC_THREADS=$t "$MVC" commit -q -m x m.safetensors)
done
tree1=$(git --git-dir="$T/det1/.mvc" rev-parse 'HEAD^{tree}')
check "2 threads write the same tree as 1" test "$(git --git-dir="$T/det2/.mvc" rev-parse 'HEAD^{tree}')" = "$tree1"
check "3 threads write the same tree as 1" test "$(git --git-dir="$T/det3/.mvc" rev-parse 'HEAD^{tree}')" = "$tree1"
check "and byte-identical packs" test "$(ls "$T/det1/.mvc/objects/pack" | sort)" = "$(ls "$T/det2/.mvc/objects/pack" | sort)"

# a retrain of 5% of the rows is stored as deltas, far smaller than v1
gen m.safetensors 2
"$MVC" commit -m v2 --json >"$T/c2.json"
stored2=$("$JGET" bytes_stored "$T/c2.json")
check "v2 (5% of rows retrained) costs under a third of v1 ($stored2 vs $stored1)" test $((stored2 * 3)) -lt "$stored1"
check "changed chunks are deltas naming their base in the tree" sh -c \
    "git --git-dir=.mvc ls-tree -r --name-only HEAD | grep -q -- '-1\$'"
"$MVC" checkout HEAD -o "$T/v2.out"
check "v2 reads back bit for bit" same_file "$T/v2.out" m.safetensors
"$MVC" checkout HEAD~1 -o "$T/v1.out"
gen "$T/v1.ref" 1
check "v1 still reads back bit for bit" same_file "$T/v1.out" "$T/v1.ref"

# a long history: chains stay bounded and every version reads back
for v in 3 4 5 6 7 8 9 10 11 12 13 14; do
	gen m.safetensors $v
	"$MVC" commit -q -m "v$v"
done
maxk=$(git --git-dir=.mvc ls-tree -r --name-only HEAD | sed -n 's/.*-\([0-9]*\)$/\1/p' | sort -n | tail -n 1)
check "delta chains are bounded (longest: ${maxk:-0})" test "${maxk:-0}" -le 10
allok=1
for v in 1 5 10 14; do
	gen "$T/ref.st" $v
	"$MVC" checkout "HEAD~$((14 - v))" -o "$T/out.st"
	same_file "$T/out.st" "$T/ref.st" || allok=0
done
check "versions 1, 5, 10 and 14 of a 14-version history read back" test $allok = 1
"$MVC" log --json >"$T/log.json"

# delete every older version, prune, and the newest still reads back
git --git-dir=.mvc tag old HEAD~3
head_tree=$(git --git-dir=.mvc rev-parse 'HEAD^{tree}')
new=$(git --git-dir=.mvc commit-tree "$head_tree" -m "history cut")
git --git-dir=.mvc update-ref refs/heads/main "$new"
git --git-dir=.mvc tag -d old >/dev/null
git --git-dir=.mvc reflog expire --expire=now --all
git --git-dir=.mvc gc -q --prune=now
check "older versions are gone" sh -c "! git --git-dir=.mvc cat-file -e HEAD~1 2>/dev/null"
check "git fsck after the cut" git --git-dir=.mvc fsck --full --strict
rm -f "$T/cut.st"
check "the newest version still checks out" "$MVC" checkout HEAD -o "$T/cut.st"
gen "$T/ref.st" 14
check "bit for bit, after deleting history and pruning" same_file "$T/cut.st" "$T/ref.st"

# a shallow clone and a single-branch push carry every base
cd "$T" && "$MVC" init -q src && cd src
git --git-dir=.mvc config mvc.chunkSize 65536
for v in 1 2 3 4; do gen m.safetensors $v; "$MVC" commit -q -m "v$v" m.safetensors; done
git clone -q --bare --depth 1 "file://$T/src/.mvc" "$T/shallow/.mvc" 2>/dev/null
(cd "$T/shallow" && "$MVC" checkout HEAD -o "$T/shallow.st")
gen "$T/ref.st" 4
check "a --depth 1 clone reads the newest version" same_file "$T/shallow.st" "$T/ref.st"
git init -q --bare "$T/one/.mvc" && git --git-dir="$T/one/.mvc" symbolic-ref HEAD refs/heads/main
git --git-dir="$T/src/.mvc" push -q "$T/one/.mvc" main:refs/heads/main 2>/dev/null
(cd "$T/one" && "$MVC" checkout HEAD~1 -o "$T/one.st")
gen "$T/ref.st" 3
check "a pushed branch carries its bases" same_file "$T/one.st" "$T/ref.st"

# the stat cache: an unchanged file is not read again
cd "$T/src"
sleep 2   # past the racy window: the cache may now trust size, mtime and ctime
"$MVC" status >/dev/null
if command -v strace >/dev/null 2>&1; then
	# -y names each descriptor's file: only the model's reads count
	strace -f -y -e trace=pread64 -o "$T/trace2" "$MVC" commit -q -m again2 --allow-empty --rehash
	reads2=$(grep -c 'pread64([0-9]*<[^>]*/m\.safetensors>' "$T/trace2")
	check "--rehash reads every chunk ($reads2 preads for 22 chunks)" test "$reads2" -gt 22
	sleep 2
	strace -f -y -e trace=pread64 -o "$T/trace" "$MVC" commit -q -m again --allow-empty
	reads=$(grep -c 'pread64([0-9]*<[^>]*/m\.safetensors>' "$T/trace")
	# what remains: the header parse
	check "a re-commit of an unchanged file skips hashing ($reads preads of it)" test "$reads" -le 4
else
	skip "stat cache: strace is not installed"
fi
printf 'z' | dd of=m.safetensors bs=1 seek=5000 conv=notrunc 2>/dev/null
check "an edit is seen despite the cache" sh -c "'$MVC' status | grep -q modified"
finish
