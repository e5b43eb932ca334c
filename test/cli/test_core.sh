#!/bin/sh
# The everyday workflow: init, commit, status, log, show, checkout, against
# real git (fsck, clone).
. "$(dirname "$0")/lib.sh"
JGET="$(dirname "$MVC")/tools/jget"

cd "$T"
expect 0 "" "init creates a repository" "$MVC" init models
check "the store is a bare git repository" test "$(git --git-dir=models/.mvc rev-parse --is-bare-repository)" = true
expect 2 "already holds an mvc repository" "init twice is refused" "$MVC" init models
expect 2 "not in an mvc repository" "commands outside a repository say so" "$MVC" status

cd models
"$MKMODEL" --seed 1 --tensor 'emb:F32:64x16' --tensor 'dense.weight:F32:16x8' \
    --tensor 'dense.bias:F32:8' --tensor 'step:I64:-' v1.st >/dev/null
"$MKMODEL" --seed 1 --version 2 --retrain 0.1 --tensor 'emb:F32:64x16' \
    --tensor 'dense.weight:F32:16x8' --tensor 'dense.bias:F32:8' --tensor 'step:I64:-' v2.st >/dev/null
cp v1.st model.safetensors

expect 129 "needs a message" "commit without a message is a usage error" "$MVC" commit model.safetensors
expect 2 "nothing tracked yet" "commit with no file on an empty repository" "$MVC" commit -m x
"$MVC" status >"$T/st" 2>&1
check "status lists the untracked model" grep -q 'model.safetensors' "$T/st"
expect 0 "" "first commit" "$MVC" commit model.safetensors -m "nightly retrain" --meta num-examples=120000 --meta run-id=r1
"$MVC" status --json >"$T/st.json"
check "status --json: clean" test "$("$JGET" files.0.state "$T/st.json")" = clean
check "status --json: branch main" test "$("$JGET" branch "$T/st.json")" = main
expect 1 "nothing to commit" "re-committing unchanged files exits 1" "$MVC" commit -m again
expect 0 "" "--allow-empty commits anyway" "$MVC" commit -m empty --allow-empty

cp v2.st model.safetensors
"$MVC" status >"$T/st" 2>&1
check "status sees the modification" grep -q 'modified *model.safetensors' "$T/st"
expect 1 "" "status --exit-code exits 1 when modified" "$MVC" status --exit-code --quiet
"$MVC" commit -m "day 2" --meta num-examples=5000 --json >"$T/c.json"
check "commit --json names the version" test "$(git --git-dir=.mvc rev-parse HEAD)" = "$("$JGET" id "$T/c.json")"
check "commit of a small change stores few chunks" test "$("$JGET" chunks_written "$T/c.json")" -lt "$("$JGET" chunks "$T/c.json")"
expect 0 "" "status --exit-code exits 0 when clean" "$MVC" status --exit-code

# log
"$MVC" log --oneline >"$T/log"
check "log --oneline: one line per version" test "$(wc -l <"$T/log")" -eq 3
check "log --oneline: newest first" sh -c "head -n 1 '$T/log' | grep -q 'day 2'"
check "log -n 1" test "$("$MVC" log --oneline -n 1 | wc -l)" -eq 1
"$MVC" log --json >"$T/log.json"
check "log --json: 3 versions" test "$("$JGET" versions.# "$T/log.json")" = 3
check "log --json: metadata as trailers" test "$("$JGET" versions.2.meta.num-examples "$T/log.json")" = 120000
check "log --json: files" test "$("$JGET" versions.0.files.0 "$T/log.json")" = model.safetensors
check "log shows metadata" sh -c "'$MVC' log | grep -q 'num-examples: 120000'"
check "git log reads the store" sh -c "git --git-dir=.mvc log --format=%s | grep -q 'nightly retrain'"
expect 2 "unknown revision" "log of an unknown revision" "$MVC" log nosuch
expect 129 "" "log -n takes a number" "$MVC" log -n x

# show
"$MVC" show HEAD~2 >"$T/show"
check "show: message" grep -q 'nightly retrain' "$T/show"
check "show: tensors with dtype and shape" grep -q 'dense.weight *F32 *\[16, 8\]' "$T/show"
"$MVC" show --json HEAD~2 >"$T/show.json"
check "show --json: tensor count" test "$("$JGET" files.0.tensor_count "$T/show.json")" = 4
check "show --json: meta" test "$("$JGET" meta.run-id "$T/show.json")" = r1
check "show --json: file size" test "$("$JGET" files.0.size "$T/show.json")" = "$(wc -c <v1.st)"
expect 2 "not tracked" "show of an untracked path" "$MVC" show HEAD nosuch.safetensors
check "show -- FILE takes HEAD" sh -c "'$MVC' show -- model.safetensors | grep -q 'day 2'"

# checkout
head=$(git --git-dir=.mvc rev-parse HEAD)
expect 0 "" "checkout -o writes a version anywhere" "$MVC" checkout HEAD~2 -o "$T/out.st"
check "checkout -o is bit-identical" same_file "$T/out.st" v1.st
expect 0 "" "checkout REV restores the tracked file" "$MVC" checkout HEAD~2
check "restored file is bit-identical" same_file model.safetensors v1.st
check "checkout does not move HEAD" test "$(git --git-dir=.mvc rev-parse HEAD)" = "$head"
"$MVC" status >"$T/st"
check "status says which version the file holds" grep -q 'other-version' "$T/st"
expect 0 "" "checkout back to HEAD is allowed" "$MVC" checkout HEAD
check "back at HEAD" same_file model.safetensors v2.st
sz=$(wc -c <model.safetensors)
printf 'x' | dd of=model.safetensors bs=1 seek=$((sz - 10)) conv=notrunc 2>/dev/null
cp model.safetensors "$T/edited"
before=$(snapshot .mvc)
expect 1 "uncommitted" "checkout refuses to overwrite uncommitted changes" "$MVC" checkout HEAD~2
check "the edited file is untouched" same_file model.safetensors "$T/edited"
check "the store is unchanged" test "$(snapshot .mvc)" = "$before"
expect 0 "" "checkout --force overwrites" "$MVC" checkout --force HEAD~2
check "forced checkout is bit-identical" same_file model.safetensors v1.st
"$MVC" checkout -q HEAD

# revisions as git users type them
git --git-dir=.mvc tag v1 HEAD~2
expect 0 "" "a tag is a revision" "$MVC" checkout v1 -o "$T/tag.st"
check "tag checkout" same_file "$T/tag.st" v1.st
full=$(git --git-dir=.mvc rev-parse HEAD~2)
expect 0 "" "a full id is a revision" "$MVC" checkout "$full" -o "$T/full.st"
expect 0 "" "an abbreviated id is a revision" "$MVC" checkout "$(echo "$full" | cut -c1-8)" -o "$T/abbr.st"
check "abbreviated id checkout" same_file "$T/abbr.st" v1.st
expect 0 "" "a branch name is a revision" "$MVC" checkout main -o "$T/main.st"
check "branch checkout" same_file "$T/main.st" v2.st
expect 2 "unknown revision" "an unknown revision" "$MVC" checkout nosuch -o "$T/x.st"
check "no file written for an unknown revision" test ! -e "$T/x.st"
expect 129 "" "checkout without a revision is a usage error" "$MVC" checkout

# several files, nested paths, running from a subdirectory
mkdir -p towers/item
"$MKMODEL" --seed 7 --tensor 'w:BF16:32x8' towers/item/tower.safetensors >/dev/null
cp towers/item/tower.safetensors "$T/tower.orig"
(cd towers && "$MVC" commit item/tower.safetensors -m "add tower" -q)
check "a nested file is tracked" sh -c "'$MVC' show --json | '$JGET' files.# | grep -qx 2"
expect 2 "has 2 files" "checkout -o of a multi-file version needs a file" "$MVC" checkout HEAD -o "$T/m.st"
expect 0 "" "checkout -o of one of several files" "$MVC" checkout HEAD -o "$T/tower.st" towers/item/tower.safetensors
check "that file is bit-identical" same_file "$T/tower.st" "$T/tower.orig"
rm -rf towers
expect 0 "" "checkout recreates missing directories" "$MVC" checkout HEAD
check "nested file restored" same_file towers/item/tower.safetensors "$T/tower.orig"
(cd towers/item && "$MVC" checkout HEAD -o ../../"$T/sub.st" tower.safetensors 2>/dev/null || "$MVC" checkout HEAD -o "$T/sub.st" tower.safetensors)
check "paths are relative to the current directory" same_file "$T/sub.st" "$T/tower.orig"
expect 2 "outside the working directory" "a path outside the working directory" "$MVC" commit -m x "$T/out.st"
expect 2 "inside the store" "a path inside the store" "$MVC" commit -m x .mvc/HEAD
expect 2 "not tracked" "checkout of an untracked path" "$MVC" checkout HEAD nosuch.safetensors

# metadata validation
before=$(snapshot .mvc)
cp v1.st model.safetensors
expect 2 "not key=value" "--meta without '='" "$MVC" commit -m x --meta oops
expect 2 "may hold only" "--meta with a bad key" "$MVC" commit -m x --meta 'bad key=1'
check "failed commits leave refs alone" test "$(git --git-dir=.mvc rev-parse HEAD)" = "$(git --git-dir=.mvc rev-parse main)"
check "failed commits leave the store unchanged" test "$(snapshot .mvc)" = "$before"
"$MVC" checkout -q --force HEAD

# status: missing, invalid, stat cache
mv model.safetensors "$T/moved"
check "status: missing" sh -c "'$MVC' status | grep -q 'missing *model.safetensors'"
echo garbage >model.safetensors
check "status: invalid" sh -c "'$MVC' status | grep -q 'invalid *model.safetensors'"
cp "$T/moved" model.safetensors
touch model.safetensors
check "status: touched but equal is clean" sh -c "'$MVC' status | grep -q 'clean *model.safetensors'"
check "status --rehash agrees" sh -c "'$MVC' status --rehash | grep -q 'clean *model.safetensors'"
# same size, same second: the cache must not hide a change
"$MVC" status >/dev/null
cp v1.st model.safetensors; "$MVC" commit -q -m v1again
cp v2.st model.safetensors
check "status after an in-place change" sh -c "'$MVC' status | grep -q 'modified *model.safetensors'"
"$MVC" checkout -q --force HEAD

# MVC_DIR and -C
expect 0 "" "MVC_DIR names the store from elsewhere" env MVC_DIR="$T/models/.mvc" sh -c "cd / && '$MVC' log --oneline -n 1"
expect 0 "" "-C runs in another directory" "$MVC" -C "$T/models" status

# real git: fsck and clone
check "git fsck --full --strict passes" git --git-dir=.mvc fsck --full --strict
mkdir "$T/clone"
check "git clone of the store" git clone -q --mirror "$T/models/.mvc" "$T/clone/.mvc"
(cd "$T/clone" && "$MVC" checkout HEAD~2 -o "$T/cloned.st" model.safetensors)
check "checkout in a clone is bit-identical" same_file "$T/cloned.st" v2.st
(cd "$T/clone" && "$MVC" checkout HEAD)
check "clone restores every file" same_file "$T/clone/towers/item/tower.safetensors" "$T/tower.orig"

# a model directory inside a code repository
mkdir "$T/code" && cd "$T/code" && git init -q . && git commit -q --allow-empty -m code
"$MVC" init -q models
cp "$T/models/v1.st" models/m.safetensors
(cd models && "$MVC" commit -q -m "in code repo" m.safetensors)
check "the code repository's history is untouched" test "$(git log --format=%s)" = code
check "the model repository has its own history" test "$(git --git-dir=models/.mvc log --format=%s)" = "in code repo"

# progress: forced on with --progress, never on a pipe without it
cd "$T/models"
"$MVC" checkout --progress HEAD -o "$T/p.st" model.safetensors 2>"$T/p.err"
check "checkout --progress reports on stderr" grep -q 'checkout: 100%' "$T/p.err"
"$MVC" checkout HEAD -o "$T/p.st" model.safetensors 2>"$T/p.err"
check "no progress on a pipe by default" sh -c "! grep -q '%' '$T/p.err'"
cp "$T/models/v2.st" m.safetensors 2>/dev/null
"$MVC" commit --progress -m progress m.safetensors 2>"$T/p.err" >/dev/null
check "commit --progress reports on stderr" grep -q 'commit: 100%' "$T/p.err"
"$MVC" commit --json --progress --no-progress -m again --allow-empty 2>"$T/p.err" >/dev/null
check "--no-progress wins when last" sh -c "! grep -q '%' '$T/p.err'"

# help and usage
check "mvc help commit" sh -c "'$MVC' help commit | grep -q 'usage: mvc commit'"
check "mvc commit --help" sh -c "'$MVC' commit --help | grep -q -- '--meta'"
expect 129 "most similar command" "a mistyped command suggests one" "$MVC" comit
expect 129 "unknown option" "an unknown option" "$MVC" log --bogus
check "mvc --version" sh -c "'$MVC' --version | grep -q '^mvc '"
finish
