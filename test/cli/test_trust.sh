#!/bin/sh
# Trust: signing keys, signed versions and mvc verify, mvc check, mvc fsck,
# the pre-commit and post-commit hooks, and a git server whose pre-receive
# hook (examples/hooks/pre-receive) refuses unsigned and NaN models while
# the pushed objects sit in git's quarantine.
. "$(dirname "$0")/lib.sh"
JGET="$(dirname "$MVC")/tools/jget"
HOOKS="$MVC_SRC/examples/hooks"

# keys go to $HOME/.config/mvc: a home of our own
export HOME="$T/home"
unset XDG_CONFIG_HOME
mkdir -p "$HOME"
cd "$T"

# Write a NaN (or, with a second argument, those bytes) over the last
# float of a model file whose last tensor is F32.
poke_last() { # file [bytes]
	sz=$(wc -c <"$1")
	printf "${2:-\\000\\000\\300\\177}" | dd of="$1" bs=1 seek=$((sz - 4)) conv=notrunc 2>/dev/null
}
model() { # seed file [shape of emb]
	"$MKMODEL" --seed "$1" --tensor "emb:F32:${3:-64x16}" --tensor 'dense.weight:F32:16x8' \
	    --tensor 'step:I64:-' --tensor 'dense.bias:F32:8' "$2" >/dev/null
}

# ---- keys ----
expect 0 "" "key generate writes the default key" "$MVC" key generate --name alice
cp "$T/.stdout" alice.pub
check "the key is in ~/.config/mvc/key" test -f "$HOME/.config/mvc/key"
check "the key file has mode 0600" test "$(stat -c %a "$HOME/.config/mvc/key")" = 600
check "generate prints the public key line" grep -qE '^mvc-ed25519 [A-Za-z0-9+/]{43}= alice$' alice.pub
check "the key file is versioned text" grep -qx 'mvc-secret-key v1 plain' "$HOME/.config/mvc/key"
cp "$HOME/.config/mvc/key" "$T/key.orig"
expect 2 "never overwrites" "key generate never overwrites a key" "$MVC" key generate --name mallory
check "the key is untouched" same_file "$HOME/.config/mvc/key" "$T/key.orig"
"$MVC" key public >"$T/pub2"
check "key public prints the same line" same_file "$T/pub2" alice.pub
printf 'open sesame\n' >pass
expect 0 "" "a passphrase from a descriptor" sh -c "'$MVC' key generate -o '$T/bob.key' --name bob --passphrase-fd 3 3<pass"
cp "$T/.stdout" bob.pub
check "a protected key says argon2id" grep -q '^mvc-secret-key v1 argon2id ' bob.key
check "and holds no secret in the clear" sh -c "! grep -q '^secret $(sed -n 's/^secret //p' key.orig)' bob.key"
expect 0 "" "key public needs no passphrase" "$MVC" key public bob.key
check "key public of a protected key" same_file "$T/.stdout" bob.pub
expect 0 "" "a passphrase from a variable" env CAROL_PASS=xyzzy "$MVC" key generate -o carol.key --name carol --passphrase-env CAROL_PASS
expect 2 "is not set" "an unset passphrase variable" "$MVC" key generate -o dave.key --passphrase-env NO_SUCH_VAR
check "nothing written" test ! -e dave.key
expect 2 "empty" "an empty passphrase" sh -c "'$MVC' key generate -o dave.key --passphrase-fd 3 3</dev/null"
expect 129 "cannot be used together" "both passphrase sources" "$MVC" key generate -o dave.key --passphrase-fd 0 --passphrase-env X
expect 2 "white space" "a name with a space" "$MVC" key generate -o dave.key --name 'a b'
expect 129 "" "key without a subcommand" "$MVC" key
expect 129 "not a key subcommand" "an unknown key subcommand" "$MVC" key sign
expect 129 "" "key generate takes no argument" "$MVC" key generate dave.key
expect 2 "cannot open key" "key public of a missing file" "$MVC" key public nosuch.key
echo "mvc-secret-key v1 plain" >broken.key
expect 2 "line 2 should be" "key public of a broken file" "$MVC" key public broken.key

printf '# who may sign production models\nalice %s\n\n' "$(cat alice.pub)" >trusted
printf 'alice %s\nbob %s\n' "$(cat alice.pub)" "$(cat bob.pub)" >trusted2

# ---- signed versions ----
"$MVC" init -q models
cd models
model 1 model.safetensors
expect 0 "" "commit --sign with the default key" "$MVC" commit --sign -m "v1" model.safetensors
v1=$(git --git-dir=.mvc rev-parse HEAD)
check "the commit has an mvcsig header" sh -c "git --git-dir=.mvc cat-file commit HEAD | grep -q '^mvcsig mvc-ed25519 '"
check "its message has the file's digest" sh -c "git --git-dir=.mvc log -1 --format=%B | grep -qE '^Mvc-File-Digest: model.safetensors [0-9a-f]{64}$'"
expect 0 "" "verify: a good signature" "$MVC" verify --trusted ../trusted
check "verify says who signed" grep -q "^$(echo "$v1" | cut -c1-12) good signature by alice (key [0-9a-f]\{16\}); 1 file digest matches" "$T/.stdout"
"$MVC" verify --trusted ../trusted --json >"$T/v.json"
check "verify --json: ok" test "$("$JGET" ok "$T/v.json")" = true
check "verify --json: status" test "$("$JGET" versions.0.status "$T/v.json")" = good
check "verify --json: signer" test "$("$JGET" versions.0.signer "$T/v.json")" = alice
check "verify --json: id" test "$("$JGET" versions.0.id "$T/v.json")" = "$v1"
check "git fsck accepts signed versions" git --git-dir=.mvc fsck --strict --no-progress
check "git log reads them" sh -c "git --git-dir=.mvc log --format=%s | grep -qx v1"
check "mvc show reads them" sh -c "'$MVC' show HEAD | grep -q v1"

model 2 model.safetensors
expect 0 "" "an unsigned commit" "$MVC" commit -q -m "v2 unsigned"
expect 1 "not signed" "verify: unsigned" "$MVC" verify --trusted ../trusted
check "the message names the version" grep -q "version $(git --git-dir=.mvc rev-parse --short=12 HEAD) (HEAD): not signed" "$T/.stderr"
expect 1 "not signed" "verify: one bad version of several is a no" "$MVC" verify --trusted ../trusted HEAD~1 HEAD
check "the good one is still reported" grep -q "good signature by alice" "$T/.stdout"
expect 0 "" "verify of several good versions" "$MVC" verify --trusted ../trusted HEAD~1 "$v1"
"$MVC" verify --trusted ../trusted --json HEAD~1 HEAD >"$T/v.json"
check "verify --json: exit 1 data" test "$("$JGET" ok "$T/v.json")/$("$JGET" versions.1.status "$T/v.json")" = false/unsigned
check "verify --json: the reason" test "$("$JGET" versions.1.reason "$T/v.json")" = "not signed"

before=$(snapshot .mvc)
model 3 model.safetensors
expect 2 "protected by a passphrase" "a protected key without its passphrase" "$MVC" commit --key ../bob.key -m v3
expect 2 "wrong passphrase" "a wrong passphrase" env P=nope "$MVC" commit --key ../bob.key --passphrase-env P -m v3
expect 2 "mvc adds them" "a signed message may not forge digests" "$MVC" commit --sign -m v3 --meta Mvc-File-Digest=x
expect 2 "no signing key" "mvc.signingKey naming nothing" sh -c "git --git-dir=.mvc config mvc.signingKey '$T/none.key' && '$MVC' commit --sign -m v3"
git --git-dir=.mvc config --unset mvc.signingKey
expect 129 "only needed with --sign" "a passphrase without --sign" "$MVC" commit --passphrase-fd 0 -m v3
check "refused signed commits change nothing" test "$(snapshot .mvc)" = "$before"
expect 0 "" "commit with a protected key" sh -c "'$MVC' commit -q --key ../bob.key --passphrase-fd 3 -m 'v3 by bob' 3<../pass"
expect 1 "which is not a trusted key" "verify: an untrusted key" "$MVC" verify --trusted ../trusted
expect 0 "good signature by bob" "verify: bob is trusted in the other file" sh -c "'$MVC' verify --trusted ../trusted2 >&2"
git --git-dir=.mvc config mvc.signingKey "$T/bob.key"
expect 0 "" "mvc.signingKey names the key" env P='open sesame' "$MVC" commit -q --sign --passphrase-env P -m "v4 by bob" --allow-empty
git --git-dir=.mvc config --unset mvc.signingKey
git --git-dir=.mvc config mvc.trustedKeys "$T/trusted2"
expect 0 "" "verify reads mvc.trustedKeys" "$MVC" verify
git --git-dir=.mvc config --unset mvc.trustedKeys
expect 2 "no trusted keys" "verify without trusted keys" "$MVC" verify
expect 2 "unknown revision" "verify of an unknown revision" "$MVC" verify --trusted ../trusted nosuch
expect 2 "cannot open the trusted keys" "a missing trusted-keys file" "$MVC" verify --trusted ../nosuch
printf 'alice %s\nbob ssh-ed25519 AAAA\n' "$(cat ../alice.pub)" >../badtrusted
expect 2 "line 2" "a bad trusted-keys line" "$MVC" verify --trusted ../badtrusted
printf '%s\n' "$(cat ../alice.pub)" >../swapped
expect 2 "name comes first" "a public key line pasted as it is" "$MVC" verify --trusted ../swapped
expect 129 "" "verify --quiet --json" "$MVC" verify --quiet --json --trusted ../trusted

# tampering, by hand with git: each fails with its own reason
tamper() { # sed-expression: a commit like v1's, changed
	git --git-dir=.mvc cat-file commit "$v1" | sed "$1" | git --git-dir=.mvc hash-object -t commit -w --stdin
}
x=$(tamper 's/^v1$/v1 edited/')
expect 1 "bad signature by key" "verify: a changed message with the old signature" "$MVC" verify --trusted ../trusted "$x"
check "the reason says what it means" grep -q "changed after it was signed" "$T/.stderr"
x=$(tamper "s/^tree .*/tree $(git --git-dir=.mvc rev-parse HEAD~1^{tree})/")
expect 1 "bad signature" "verify: another tree under the old signature" "$MVC" verify --trusted ../trusted "$x"
x=$(tamper 's/^\(mvcsig mvc-ed25519 [0-9a-f]* .\{30\}\).*/\1/')
expect 1 "truncated" "verify: a truncated signature" "$MVC" verify --trusted ../trusted "$x"
x=$(tamper 's/^mvcsig .*/mvcsig hello world/')
expect 1 "garbage" "verify: a garbage signature" "$MVC" verify --trusted ../trusted "$x"
"$MVC" verify --trusted ../trusted --json "$x" >"$T/v.json"
check "verify --json: malformed" test "$("$JGET" versions.0.status "$T/v.json")" = malformed

# the signature travels with push and clone
git clone -q --mirror .mvc "$T/mirror.git"
expect 0 "good signature by alice" "a clone keeps the signature" sh -c "MVC_DIR='$T/mirror.git' '$MVC' verify --trusted '$T/trusted' $v1 >&2"

# moves and rollbacks
expect 0 "" "channel set --sign" "$MVC" channel set -q --sign production "$v1"
move=$(git --git-dir=.mvc rev-parse refs/mvc/channels/production)
expect 0 "" "a signed channel move verifies" "$MVC" verify --trusted ../trusted "$move"
expect 0 "" "rollback --sign" "$MVC" rollback -q --sign --to "$v1" -m "back to v1"
expect 0 "" "a signed rollback verifies" "$MVC" verify --trusted ../trusted HEAD
expect 129 "go with 'channel set'" "channel log --sign" "$MVC" channel log --sign production

# ---- mvc check ----
model 1 model.safetensors
"$MVC" commit -q -m "back to v1's model" --allow-empty
expect 0 "" "check --no-nan: a clean model" "$MVC" check --no-nan
check "check names how many float tensors it read" grep -q ': ok; 3 float tensors without NaN or Inf' "$T/.stdout"
poke_last model.safetensors
"$MVC" commit -q -m "NaN in the bias"
expect 1 "" "check --no-nan: a NaN" "$MVC" check --no-nan
check "check names the tensor" grep -qx "model.safetensors: tensor 'dense.bias': 1 NaN and 0 infinite values" "$T/.stdout"
"$MVC" check --no-nan --json >"$T/c.json"
check "check --json: ok false" test "$("$JGET" ok "$T/c.json")" = false
check "check --json: the problem" test "$("$JGET" problems.0.check "$T/c.json")/$("$JGET" problems.0.tensor "$T/c.json")/$("$JGET" problems.0.nan "$T/c.json")" = nonfinite/dense.bias/1
poke_last model.safetensors '\000\000\200\177'
"$MVC" commit -q -m "Inf in the bias"
expect 1 "" "check --no-nan: an infinity" "$MVC" check --no-nan HEAD
check "an infinity is named too" grep -q "0 NaN and 1 infinite value$" "$T/.stdout"
expect 1 "" "check: a value that became infinite is an unbounded change" "$MVC" check --max-relative-change 100 --against HEAD~2
expect 0 "" "check of an older version" "$MVC" check --no-nan HEAD~2
model 1 model.safetensors 65x16
"$MVC" commit -q -m "one more row"
expect 1 "" "check --same-shapes-as: another shape" "$MVC" check --same-shapes-as HEAD~1
check "the shape change is named" grep -qx "model.safetensors: tensor 'emb': shape \[65, 16\], not \[64, 16\] as in $(git --git-dir=.mvc rev-parse --short=12 HEAD~1)" "$T/.stdout"
"$MVC" check --same-shapes-as HEAD~1 --json >"$T/c.json"
check "check --json: shape" test "$("$JGET" problems.0.check "$T/c.json"):$("$JGET" problems.0.old_shape "$T/c.json"):$("$JGET" problems.0.shape "$T/c.json")" = "shape:[64,16]:[65,16]"
expect 0 "" "check --same-shapes-as itself" "$MVC" check --same-shapes-as HEAD
model 1 model.safetensors
"$MVC" commit -q -m "v1 again"
"$MKMODEL" --seed 1 --version 2 --retrain 1.0 --dense-nudge 0.5 --tensor 'emb:F32:64x16' --tensor 'dense.weight:F32:16x8' \
    --tensor 'step:I64:-' --tensor 'dense.bias:F32:8' model.safetensors >/dev/null
"$MVC" commit -q -m "retrained from scratch"
expect 1 "" "check --max-relative-change: too large a change" "$MVC" check --max-relative-change 0.5
check "the moved tensor is named" grep -q "^model.safetensors: tensor 'emb': relative change [0-9.]*, more than 0.5$" "$T/.stdout"
expect 0 "" "check --max-relative-change: within bounds" "$MVC" check --max-relative-change 1000
check "and says the largest" grep -q "largest relative change" "$T/.stdout"
expect 0 "" "check --against a version" "$MVC" check --max-relative-change 0 --against HEAD
expect 129 "nothing to check" "check with no check" "$MVC" check
expect 129 "goes with --max-relative-change" "--against alone" "$MVC" check --no-nan --against HEAD~1
expect 129 "at least 0" "a negative bound" "$MVC" check --max-relative-change -1
expect 129 "at least 0" "a bound that is not a number" "$MVC" check --max-relative-change lots
expect 129 "one version at a time" "two revisions" "$MVC" check --no-nan HEAD HEAD~1
expect 2 "unknown revision" "check of an unknown revision" "$MVC" check --no-nan nosuch
expect 2 "unknown revision" "--same-shapes-as an unknown revision" "$MVC" check --same-shapes-as nosuch

# ---- mvc fsck ----
before=$(snapshot .mvc)
expect 0 "" "fsck of a sound store" "$MVC" fsck
check "fsck says ok" grep -q ': ok$' "$T/.stdout"
"$MVC" fsck --full --json >"$T/f.json"
check "fsck --full --json: ok" test "$("$JGET" ok "$T/f.json")" = true
check "fsck --full decodes every distinct chunk" test "$("$JGET" chunks_decoded "$T/f.json")" = "$("$JGET" chunks "$T/f.json")"
check "fsck changes nothing" test "$(snapshot .mvc)" = "$before"
cp -R .mvc "$T/damaged.mvc"
explode_packs "$T/damaged.mvc"
# the first chunk of emb in the newest version
blob=$(git --git-dir="$T/damaged.mvc" rev-parse HEAD:model.safetensors/t/000000/000000)
obj="$T/damaged.mvc/objects/$(echo "$blob" | cut -c1-2)/$(echo "$blob" | cut -c3-)"
chmod u+w "$obj"
head -c 20 "$obj" >"$obj.cut" && mv "$obj.cut" "$obj"
expect 1 "" "fsck --full finds a damaged chunk" env MVC_DIR="$T/damaged.mvc" "$MVC" fsck --full
check "and names file, tensor, chunk and object" grep -q "model.safetensors: tensor 'emb': chunk 0: object $blob: the chunk is damaged: the loose object is truncated" "$T/.stdout"
rm -f "$obj"
expect 1 "" "fsck finds a missing chunk" env MVC_DIR="$T/damaged.mvc" "$MVC" fsck
check "and names it" grep -q "tensor 'emb': chunk 0: object $blob: the chunk's object is missing" "$T/.stdout"
env MVC_DIR="$T/damaged.mvc" "$MVC" fsck --json >"$T/f.json"
check "fsck --json names the damage" test "$("$JGET" problems.0.tensor "$T/f.json")/$("$JGET" problems.0.chunk "$T/f.json")/$("$JGET" problems.0.object "$T/f.json")" = "emb/0/$blob"
expect 129 "" "fsck takes no arguments" "$MVC" fsck HEAD

# ---- hooks ----
cp "$HOOKS/pre-commit" .mvc/hooks/pre-commit
chmod +x .mvc/hooks/pre-commit
model 1 model.safetensors
before=$(git --git-dir=.mvc rev-parse HEAD)
expect 0 "" "pre-commit passes a good model" "$MVC" commit -q -m "clean again"
after=$(git --git-dir=.mvc rev-parse HEAD)
check "the branch moved" test "$before" != "$after"
poke_last model.safetensors
snap=$(git --git-dir=.mvc for-each-ref)
expect 1 "the pre-commit hook refused version" "pre-commit refuses a NaN" "$MVC" commit -m "with NaN"
check "the hook's reason reaches the user" grep -q "tensor 'dense.bias': 1 NaN" "$T/.stderr"
check "the branch stayed where it was" test "$(git --git-dir=.mvc rev-parse HEAD)" = "$after"
check "no ref moved" test "$(git --git-dir=.mvc for-each-ref)" = "$snap"
model 1 model.safetensors 64x17
expect 1 "refused" "pre-commit refuses a shape change" "$MVC" commit -m "wider"
check "the shape change is named" grep -q "tensor 'emb': shape \[64, 17\], not \[64, 16\]" "$T/.stderr"
expect 0 "" "--no-verify skips pre-commit" "$MVC" commit -q --no-verify -m "wider, on purpose"
model 1 model.safetensors
cat >.mvc/hooks/pre-commit <<EOF
#!/bin/sh
echo "hook says hello on stdout"
{ echo "\$MVC_COMMIT"; echo "\$MVC_DIR"; echo "\$GIT_DIR"; pwd; git rev-parse HEAD; } >"$T/hook.env"
EOF
cat >.mvc/hooks/post-commit <<EOF
#!/bin/sh
git rev-parse HEAD >"$T/post.head"
echo "\$MVC_COMMIT" >"$T/post.env"
exit 3
EOF
chmod +x .mvc/hooks/pre-commit .mvc/hooks/post-commit
prev=$(git --git-dir=.mvc rev-parse HEAD)
"$MVC" commit -m "hooks see" --json >"$T/c.json" 2>"$T/c.err"
id=$("$JGET" id "$T/c.json")
check "hook output does not spoil --json" test "$id" = "$(git --git-dir=.mvc rev-parse HEAD)"
check "hook stdout goes to stderr" grep -q "hook says hello" "$T/c.err"
check "pre-commit: MVC_COMMIT is the new version" test "$(sed -n 1p "$T/hook.env")" = "$id"
check "pre-commit: MVC_DIR is the store" test "$(sed -n 2p "$T/hook.env")" = "$(cd .mvc && pwd -P)"
check "pre-commit: GIT_DIR is the store" test "$(sed -n 3p "$T/hook.env")" = "$(cd .mvc && pwd -P)"
check "pre-commit: runs in the working directory" test "$(sed -n 4p "$T/hook.env")" = "$(pwd -P)"
check "pre-commit: the branch has not moved yet" test "$(sed -n 5p "$T/hook.env")" = "$prev"
check "post-commit: after the branch moved" test "$(cat "$T/post.head")" = "$id"
check "post-commit: MVC_COMMIT" test "$(cat "$T/post.env")" = "$id"
chmod -x .mvc/hooks/pre-commit
expect 0 "not executable" "a hook that is not executable is skipped with a hint" "$MVC" commit -q --allow-empty -m "no hook"
rm -f .mvc/hooks/pre-commit .mvc/hooks/post-commit

# ---- a server that refuses bad models (pre-receive, quarantine) ----
git init -q --bare "$T/server.git"
cp "$HOOKS/pre-receive" "$T/server.git/hooks/pre-receive"
chmod +x "$T/server.git/hooks/pre-receive"
git --git-dir="$T/server.git" config mvc.trustedKeys "$T/trusted"
cd "$T"
"$MVC" init -q site
cd site
model 1 model.safetensors
"$MVC" commit -q --sign -m "site v1" model.safetensors
expect 0 "" "push of a signed clean version is accepted" git --git-dir=.mvc push -q "$T/server.git" main
check "the server has it" test "$(git --git-dir="$T/server.git" rev-parse main)" = "$(git --git-dir=.mvc rev-parse main)"
good=$(git --git-dir=.mvc rev-parse main)
"$MVC" switch -q -c nan
poke_last model.safetensors
"$MVC" commit -q --sign -m "signed, but NaN"
expect 1 "pre-receive hook declined" "push of a NaN model is refused" git --git-dir=.mvc push "$T/server.git" nan
check "with the hook's message" grep -q "tensor 'dense.bias': 1 NaN" "$T/.stderr"
check "the server has no such branch" sh -c "! git --git-dir='$T/server.git' rev-parse -q --verify refs/heads/nan"
check "nor the version" sh -c "! git --git-dir='$T/server.git' cat-file -e $(git --git-dir=.mvc rev-parse nan) 2>/dev/null"
"$MVC" switch -q -c unsigned main
model 2 model.safetensors
"$MVC" commit -q -m "clean, but unsigned"
git --git-dir=.mvc push -q "$T/server.git" unsigned:main >"$T/.stdout" 2>"$T/.stderr"
check "push of an unsigned version is refused" grep -q "not signed" "$T/.stderr"
check "the server's main is unchanged" test "$(git --git-dir="$T/server.git" rev-parse main)" = "$good"
"$MVC" switch -q -c bobs main
model 3 model.safetensors
"$MVC" commit -q --key "$T/bob.key" --passphrase-fd 3 -m "signed by bob" 3<"$T/pass"
git --git-dir=.mvc push -q "$T/server.git" bobs:main >"$T/.stdout" 2>"$T/.stderr"
check "push of a version by an untrusted key is refused" grep -q "not a trusted key" "$T/.stderr"
check "the server's main is still unchanged" test "$(git --git-dir="$T/server.git" rev-parse main)" = "$good"
"$MVC" switch -q main
model 2 model.safetensors
"$MVC" commit -q --sign -m "site v2"
expect 0 "" "push of the next signed clean version is accepted" git --git-dir=.mvc push -q "$T/server.git" main
check "the server's main moved" test "$(git --git-dir="$T/server.git" rev-parse main)" = "$(git --git-dir=.mvc rev-parse main)"
"$MVC" channel set -q production main
git --git-dir=.mvc push -q "$T/server.git" refs/mvc/channels/production >"$T/.stdout" 2>"$T/.stderr"
check "an unsigned channel move is refused" sh -c "! git --git-dir='$T/server.git' rev-parse -q --verify refs/mvc/channels/production"
"$MVC" channel delete production
"$MVC" channel set -q --sign production main
expect 0 "" "a signed channel move is accepted" git --git-dir=.mvc push -q "$T/server.git" refs/mvc/channels/production
expect 0 "good signature" "mvc verify runs against a bare server repository" sh -c "cd '$T/server.git' && GIT_DIR=. '$MVC' verify main >&2"
expect 0 "" "mvc fsck runs against it too" sh -c "cd '$T/server.git' && GIT_DIR=. '$MVC' fsck --full"

finish
