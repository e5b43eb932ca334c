#!/bin/sh
# mvc clone, fetch, pull, push and remote against a real git daemon on
# 127.0.0.1 (started and stopped here) and a file:// remote: byte-identical
# clones, branches, channels (kept apart), tags, score notes (merged, never
# dropped) and signatures travelling, refused pushes (non-fast-forward, a
# server hook) with the server's message and nothing changed here, a
# one-tensor push that sends about that tensor, and bad input.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
JGET="$(dirname "$MVC")/tools/jget"
trap 'stop_daemon; rm -rf "$T"' EXIT
export GIT_TERMINAL_PROMPT=0

cd "$T"
mkdir srv
git init -q --bare --initial-branch=main srv/models.git
if start_daemon "$T/srv"; then ok "git daemon serves on 127.0.0.1:$DAEMON_PORT"
else not_ok "git daemon starts on 127.0.0.1"; finish; fi
URL="git://127.0.0.1:$DAEMON_PORT/models.git"
SRV="$T/srv/models.git"
sg() { git --git-dir="$SRV" "$@"; }            # the server's store
# the bytes of the server's objects, loose and packed (apparent sizes)
srv_bytes() { find "$SRV/objects" -type f -exec cat {} + | wc -c; }

# a model of four 256 KiB tensors; chunks of 64 KiB
TENSORS="--tensor t0:F32:256x256 --tensor t1:F32:256x256 --tensor t2:F32:256x256 --tensor t3:F32:256x256"
model() { # out seed version
	# shellcheck disable=SC2086
	"$MKMODEL" --seed "$2" --version "$3" --retrain 0.2 $TENSORS "$1" >/dev/null
}

"$MVC" init -q alice
git --git-dir=alice/.mvc config mvc.chunkSize 65536
cd alice
model model.safetensors 1 1
"$MVC" commit -q -m "v1" --meta num-examples=100 model.safetensors
"$MVC" channel set -q production HEAD -m "first deployment"
"$MVC" tag v1
v1=$(git --git-dir=.mvc rev-parse HEAD)

# ---- remote add / list ----
expect 0 "" "remote add origin" "$MVC" remote add origin "$URL"
expect 0 "" "remote list" "$MVC" remote list
check "remote list: name and URL" grep -qx "origin	$URL" "$T/.stdout"
"$MVC" remote list --json >"$T/rl.json"
check "remote list --json: the name" test "$("$JGET" remotes.0.name "$T/rl.json")" = origin
check "remote list --json: the URL" test "$("$JGET" remotes.0.url "$T/rl.json")" = "$URL"
check "remote add: the channel refspec" sh -c "git --git-dir=.mvc config --get-all remote.origin.fetch | grep -qx '+refs/mvc/channels/\*:refs/mvc/remotes/origin/channels/\*'"
check "remote add: the notes refspec" sh -c "git --git-dir=.mvc config --get-all remote.origin.fetch | grep -qx '+refs/notes/mvc/\*:refs/mvc/remotes/origin/notes/\*'"
expect 2 "already exists" "remote add of an existing name" "$MVC" remote add origin "$URL"

# ---- push: branch, channel, tag ----
expect 0 "" "push to an empty server" "$MVC" push
check "push: says what it sent" grep -q 'new *refs/heads/main' "$T/.stdout"
check "server: main" test "$(sg rev-parse main)" = "$v1"
check "server: the channel" test "$(sg rev-parse refs/mvc/channels/production)" = "$(git --git-dir=.mvc rev-parse refs/mvc/channels/production)"
check "server: the tag" test "$(sg rev-parse v1)" = "$v1"
check "push updated the remote-tracking refs" test "$(git --git-dir=.mvc rev-parse refs/remotes/origin/main)" = "$v1"
check "server: git fsck" git --git-dir="$SRV" fsck --full --strict
expect 0 "" "push again" "$MVC" push
check "push again: up to date" grep -q 'up to date *refs/heads/main' "$T/.stdout"
cd "$T"

# ---- clone ----
expect 0 "" "clone over git://" "$MVC" clone "$URL" bob
check "clone: says where" grep -q "^cloned $URL into bob: branch main at ${v1%????????????????????????????}, 1 file written" "$T/.stdout"
check "clone: the file, byte for byte" same_file alice/model.safetensors bob/model.safetensors
check "clone: status clean" sh -c "cd bob && '$MVC' status --exit-code -q"
check "clone: the channel, with its history" test "$(git --git-dir=bob/.mvc rev-parse refs/mvc/channels/production)" = "$(sg rev-parse refs/mvc/channels/production)"
check "clone: the channel as a revision" sh -c "cd bob && '$MVC' checkout -q -o '$T/prod.st' production && cmp -s '$T/prod.st' model.safetensors"
check "clone: the remote's channel kept apart" git --git-dir=bob/.mvc rev-parse -q --verify refs/mvc/remotes/origin/channels/production
check "clone: the tag" test "$(git --git-dir=bob/.mvc rev-parse v1)" = "$v1"
check "clone: remote-tracking branch" test "$(git --git-dir=bob/.mvc rev-parse refs/remotes/origin/main)" = "$v1"
check "clone: mvc's config" test "$(git --git-dir=bob/.mvc config mvc.formatVersion)/$(git --git-dir=bob/.mvc config pack.window)/$(git --git-dir=bob/.mvc config core.logAllRefUpdates)" = "1/0/true"
check "clone: mvc's fetch refspecs" test "$(git --git-dir=bob/.mvc config --get-all remote.origin.fetch | wc -l)" = 3
check "clone: metadata travelled" sh -c "cd bob && '$MVC' show --json HEAD | grep -q num-examples"
check "clone: git fsck" git --git-dir=bob/.mvc fsck --full --strict
expect 0 "" "clone over file://" "$MVC" clone -q "file://$SRV" carol
check "file:// clone: the file, byte for byte" same_file alice/model.safetensors carol/model.safetensors
check "clone -q prints nothing" test ! -s "$T/.stdout"
expect 0 "" "clone of a local path, directory named after it" sh -c "mkdir -p p && cd p && '$MVC' clone -q '$SRV'"
check "the directory is named after the URL" same_file alice/model.safetensors p/models/model.safetensors
git init -q --bare srv/empty.git
expect 0 "" "clone of an empty repository" "$MVC" clone "git://127.0.0.1:$DAEMON_PORT/empty.git" empty
check "empty clone: says so" grep -q 'no versions yet' "$T/.stdout"
# a server made by a plain `git init --bare` names master in HEAD
git init -q --bare --initial-branch=master srv/master.git
git --git-dir=alice/.mvc push -q "$T/srv/master.git" main 2>/dev/null
expect 0 "" "clone of a server whose HEAD names master" "$MVC" clone -q "file://$T/srv/master.git" m2
check "... checks out main" same_file alice/model.safetensors m2/model.safetensors

# a plain git mirror clone is a working mvc store
expect 0 "" "git clone --mirror into DIR/.mvc" git clone -q --mirror "$URL" dave/.mvc
expect 0 "" "mvc checkout HEAD in the mirror" sh -c "cd dave && '$MVC' checkout -q HEAD"
check "mirror clone: the file, byte for byte" same_file alice/model.safetensors dave/model.safetensors

# ---- only missing objects travel: a one-tensor change ----
cd alice
model "$T/other.st" 7 1
size=$(wc -c <model.safetensors)
{ head -c $((size - 262144)) model.safetensors; tail -c 262144 "$T/other.st"; } >"$T/v2.st"
mv "$T/v2.st" model.safetensors
"$MVC" commit -m "v2: t3 retrained" --json >"$T/c2.json"
stored=$("$JGET" bytes_stored "$T/c2.json")
check "v2 changed one tensor" test "$("$JGET" tensors_reused "$T/c2.json" 2>/dev/null || echo 3)" = 3
before=$(srv_bytes)
expect 0 "" "push the one-tensor change" "$MVC" push
after=$(srv_bytes)
grew=$((after - before))
echo "# one-tensor push: the server grew by $grew bytes; the tensor's chunks are $stored bytes; the model is $size bytes"
check "the server grew by about the tensor (<= its chunks + 32 KiB)" test "$grew" -le $((stored + 32768))
check "the server grew by at least half the tensor's chunks" test "$grew" -ge $((stored / 2))
check "the server grew by less than a third of the model" test $((grew * 3)) -lt "$size"
v2=$(git --git-dir=.mvc rev-parse HEAD)
cd "$T"

# ---- fetch and pull ----
expect 0 "" "fetch in bob" sh -c "cd bob && '$MVC' fetch"
check "fetch: says the branch moved" grep -Eq "branch +origin/main +${v1%????????????????????????????} -> ${v2%????????????????????????????}" "$T/.stdout"
check "fetch: main did not move" test "$(git --git-dir=bob/.mvc rev-parse main)" = "$v1"
expect 0 "" "pull in bob" sh -c "cd bob && '$MVC' pull"
check "pull: a fast-forward" grep -q 'fast-forward to origin/main' "$T/.stdout"
check "pull: main moved" test "$(git --git-dir=bob/.mvc rev-parse main)" = "$v2"
check "pull: the new file, byte for byte" same_file alice/model.safetensors bob/model.safetensors
check "pull: status clean" sh -c "cd bob && '$MVC' status --exit-code -q"
expect 0 "" "pull when up to date" sh -c "cd bob && '$MVC' pull"
check "pull: up to date" grep -q 'main: up to date with origin/main' "$T/.stdout"
# carol has a modified file: pull refuses before anything moves
printf 'x' >>carol/model.safetensors
cp carol/model.safetensors "$T/carol.mod"
expect 1 "uncommitted" "pull refuses to overwrite a modified file" sh -c "cd carol && '$MVC' pull"
check "refused pull: the branch did not move" test "$(git --git-dir=carol/.mvc rev-parse main)" = "$v1"
check "refused pull: the file is untouched" same_file carol/model.safetensors "$T/carol.mod"
expect 0 "" "pull --force" sh -c "cd carol && '$MVC' pull -q --force"
check "pull --force: the new file" same_file alice/model.safetensors carol/model.safetensors
# a mirror store fetches into remote-tracking refs, never over its branches
git --git-dir=dave/.mvc update-ref refs/heads/main "$v1"
expect 0 "" "fetch in a git mirror clone" sh -c "cd dave && '$MVC' fetch -q origin"
check "mirror fetch: the remote-tracking ref moved" test "$(git --git-dir=dave/.mvc rev-parse refs/remotes/origin/main)" = "$v2"
check "mirror fetch: the local branch did not" test "$(git --git-dir=dave/.mvc rev-parse refs/heads/main)" = "$v1"

# ---- refused pushes: nothing changes here (or there) ----
cd bob
model model.safetensors 1 3
"$MVC" commit -q -m "v3 from bob"
expect 0 "" "bob pushes v3" "$MVC" push -q
v3=$(git --git-dir=.mvc rev-parse HEAD)
cd ../alice
model model.safetensors 1 4
"$MVC" commit -q -m "v3 from alice"
before=$(snapshot .mvc)
srv_before=$(snapshot "$SRV")
expect 1 "refused" "a non-fast-forward push: exit 1" "$MVC" push
check "non-fast-forward: git's reason shown" grep -Eq 'REFUSED +refs/heads/main .*(fetch first|non-fast-forward)' "$T/.stdout"
check "non-fast-forward: a hint to fetch" grep -q "hint: 'origin' has versions you do not have" "$T/.stderr"
check "non-fast-forward: nothing changed here" test "$(snapshot .mvc)" = "$before"
check "non-fast-forward: nothing changed on the server" test "$(snapshot "$SRV")" = "$srv_before"
expect 1 "not a fast-forward" "pull of diverged history: exit 1" "$MVC" pull
check "refused pull: main did not move" test "$(git --git-dir=.mvc rev-parse main)" = "$(git --git-dir=.mvc rev-parse HEAD)"
check "refused pull: the branch still has alice's v3" sh -c "'$MVC' log -n 1 --oneline | grep -q 'v3 from alice'"
check "refused pull: the remote-tracking ref did move" test "$(git --git-dir=.mvc rev-parse refs/remotes/origin/main)" = "$v3"
# alice gives up her v3: back to the server's
git --git-dir=.mvc update-ref refs/heads/main "$v2"
"$MVC" checkout -q --force HEAD
expect 0 "" "pull after resetting" "$MVC" pull -q
check "alice is at bob's v3" test "$(git --git-dir=.mvc rev-parse main)" = "$v3"

# a server hook says no
cat >"$SRV/hooks/pre-receive" <<'EOF'
#!/bin/sh
echo "policy: unsigned models are not accepted here" >&2
exit 1
EOF
chmod +x "$SRV/hooks/pre-receive"
model model.safetensors 1 5
"$MVC" commit -q -m "v4, unsigned"
before=$(snapshot .mvc)
srv_before=$(snapshot "$SRV")
expect 1 "policy: unsigned models are not accepted here" "a hook's refusal: exit 1 with the server's message" "$MVC" push
check "hook refusal: reported per ref" grep -q 'REFUSED *refs/heads/main.*remote rejected' "$T/.stdout"
check "hook refusal: nothing changed here" test "$(snapshot .mvc)" = "$before"
check "hook refusal: nothing changed on the server" test "$(sg rev-parse main)" = "$v3"
rm "$SRV/hooks/pre-receive"
expect 0 "" "the same push once the hook is gone" "$MVC" push -q
v4=$(git --git-dir=.mvc rev-parse HEAD)

# ---- channels: travel, and remote ones are kept apart ----
"$MVC" channel set -q production HEAD -m "v4 is better"
expect 0 "" "push a channel move" "$MVC" push -q
check "server: production moved" test "$(git --git-dir="$SRV" log -1 --format=%P refs/mvc/channels/production | cut -d' ' -f2)" = "$v4"
cd ../bob
bob_prod=$(git --git-dir=.mvc rev-parse refs/mvc/channels/production)
expect 0 "" "bob fetches" "$MVC" fetch
check "fetch: says the channel moved" grep -Eq 'channel +origin/production' "$T/.stdout"
check "fetch: the remote's channel" test "$(git --git-dir=.mvc rev-parse refs/mvc/remotes/origin/channels/production)" = "$(sg rev-parse refs/mvc/channels/production)"
check "fetch: bob's own channel is untouched" test "$(git --git-dir=.mvc rev-parse refs/mvc/channels/production)" = "$bob_prod"
check "the remote's channel reads as a version" sh -c "'$MVC' checkout -q -o '$T/rp.st' refs/mvc/remotes/origin/channels/production && '$MVC' checkout -q -o '$T/v4.st' '$v4' && cmp -s '$T/rp.st' '$T/v4.st'"
expect 0 "" "pull bob" "$MVC" pull -q
# bob's stale channel is not offered to the server
expect 0 "" "default push with a stale local channel" "$MVC" push
check "the stale channel was left out" sh -c "! grep -q 'refs/mvc/channels/production' '$T/.stdout'"
expect 0 "" "push HEAD:sites/bob" "$MVC" push origin HEAD:sites/bob
check "push HEAD:sites/bob: the server's branch" test "$(sg rev-parse refs/heads/sites/bob)" = "$v4"
expect 0 "" "push a channel by name to another name" "$MVC" push -q origin production:staging
check "the channel landed as a channel" test "$(sg rev-parse refs/mvc/channels/staging)" = "$bob_prod"
expect 0 "" "--dry-run" "$MVC" push --dry-run origin HEAD:sites/dry
check "--dry-run: says would" grep -q '^would push to origin' "$T/.stdout"
check "--dry-run: nothing sent" sh -c "! git --git-dir='$SRV' rev-parse -q --verify refs/heads/sites/dry"

# ---- score notes: merged, never dropped ----
cd ../alice
"$MVC" pull -q
git --git-dir=.mvc notes --ref=refs/notes/mvc/scores add -m '{"metric":"rmse","value":0.50,"by":"alice"}' "$v1"
git --git-dir=.mvc notes --ref=refs/notes/mvc/scores add -m '{"metric":"rmse","value":0.40,"by":"alice"}' "$v2"
expect 0 "" "alice pushes her scores" "$MVC" push -q
cd ../bob
git --git-dir=.mvc notes --ref=refs/notes/mvc/scores add -m '{"metric":"ndcg@10","value":0.31,"by":"bob"}' "$v1"
git --git-dir=.mvc notes --ref=refs/notes/mvc/scores add -m '{"metric":"rmse","value":0.30,"by":"bob"}' "$v3"
before=$(snapshot .mvc)
expect 1 "refused" "bob's notes push is refused (the server has alice's)" "$MVC" push
check "notes refusal: nothing changed here" test "$(snapshot .mvc)" = "$before"
expect 0 "" "bob fetches: notes merged" "$MVC" fetch
check "fetch: says the notes were merged" grep -Eq 'notes +mvc/scores +merged: 1 note added, 1 combined' "$T/.stdout"
git --git-dir=.mvc notes --ref=refs/notes/mvc/scores show "$v1" >"$T/n1"
check "merged note: bob's line kept" grep -qx '{"metric":"ndcg@10","value":0.31,"by":"bob"}' "$T/n1"
check "merged note: alice's line added" grep -qx '{"metric":"rmse","value":0.50,"by":"alice"}' "$T/n1"
check "merged note: two lines, nothing else" test "$(grep -c . "$T/n1")" = 2
check "alice's note on v2 arrived" sh -c "git --git-dir=.mvc notes --ref=refs/notes/mvc/scores show '$v2' | grep -q alice"
check "bob's note on v3 stayed" sh -c "git --git-dir=.mvc notes --ref=refs/notes/mvc/scores show '$v3' | grep -q bob"
check "the merge has both sides as parents" test "$(git --git-dir=.mvc rev-list --parents -n 1 refs/notes/mvc/scores | wc -w)" = 3
merged=$(git --git-dir=.mvc rev-parse refs/notes/mvc/scores)
expect 0 "" "fetch again" "$MVC" fetch
check "fetch again: nothing to merge" test "$(git --git-dir=.mvc rev-parse refs/notes/mvc/scores)" = "$merged"
expect 0 "" "bob pushes the merged notes" "$MVC" push -q
check "server: the merged notes" test "$(sg rev-parse refs/notes/mvc/scores)" = "$merged"
cd ../alice
expect 0 "" "alice fetches: a fast-forward of her notes" "$MVC" fetch
check "alice has bob's score on v1" sh -c "git --git-dir=.mvc notes --ref=refs/notes/mvc/scores show '$v1' | grep -q ndcg"
check "git log shows the scores" sh -c "git --git-dir=.mvc log --notes=mvc/scores -1 '$v1' | grep -q alice"
cd "$T"

# ---- signatures travel inside their commits ----
tree=$(git --git-dir=alice/.mvc rev-parse "$v4^{tree}")
{ printf 'tree %s\nparent %s\n' "$tree" "$v4"
  printf 'author mvc test <test@example.com> 1700000000 +0000\n'
  printf 'committer mvc test <test@example.com> 1700000000 +0000\n'
  printf 'mvcsig mvc-ed25519 0123456789abcdef c2lnbmF0dXJl\n\nsigned\n'; } >"$T/signed.txt"
signed=$(git --git-dir=alice/.mvc hash-object -t commit -w "$T/signed.txt")
git --git-dir=alice/.mvc update-ref refs/heads/signed "$signed"
expect 0 "" "push a signed version" sh -c "cd alice && '$MVC' push -q origin signed"
expect 0 "" "clone it" "$MVC" clone -q -b signed "$URL" erin
check "the clone's commit is byte-identical, signature header and all" sh -c "git --git-dir=erin/.mvc cat-file commit '$signed' | cmp -s - '$T/signed.txt'"
check "clone -b: the branch" test "$(git --git-dir=erin/.mvc symbolic-ref HEAD)" = refs/heads/signed

# a version signed with mvc's own key verifies in a clone (when this mvc signs)
if "$MVC" key --help >/dev/null 2>&1; then
	# the trusted keys: "<name> mvc-ed25519 <key>" per line (mvc-verify(1))
	"$MVC" key generate -o "$T/alice.key" --name alice@test 2>/dev/null |
	    awk '{ print $3, $1, $2 }' >"$T/trusted"
	cd alice
	model model.safetensors 1 6
	expect 0 "" "a signed commit" "$MVC" commit -q --sign --key "$T/alice.key" -m "v5, signed"
	v5=$(git --git-dir=.mvc rev-parse HEAD)
	expect 0 "" "push the signed version" "$MVC" push -q
	cd "$T"
	expect 0 "" "clone it" "$MVC" clone -q "$URL" frank
	expect 0 "" "the signature verifies in the clone" sh -c "cd frank && '$MVC' verify --trusted '$T/trusted' '$v5'"
	git --git-dir=frank/.mvc cat-file commit "$v5" >"$T/frank.commit"
	check "the clone's signed commit is byte-identical" sh -c \
	    "git --git-dir=alice/.mvc cat-file commit '$v5' | cmp -s - '$T/frank.commit'"
	check "the clone's commit carries the mvcsig header" grep -q '^mvcsig mvc-ed25519 ' "$T/frank.commit"
else
	skip "mvc verify in a clone: this mvc does not sign"
fi

# ---- remove ----
cd bob
"$MVC" remote add other "file://$SRV"
"$MVC" fetch -q other
check "fetch of a second remote: its own namespace" git --git-dir=.mvc rev-parse -q --verify refs/mvc/remotes/other/channels/production
expect 0 "" "remote remove" "$MVC" remote remove other
check "remove: the remote-tracking refs are gone" test -z "$(git --git-dir=.mvc for-each-ref refs/remotes/other refs/mvc/remotes/other)"
check "remove: origin's are not" git --git-dir=.mvc rev-parse -q --verify refs/mvc/remotes/origin/channels/production
check "remove: local channels, tags and notes stay" sh -c "git --git-dir=.mvc rev-parse -q --verify refs/mvc/channels/production && git --git-dir=.mvc rev-parse -q --verify v1 && git --git-dir=.mvc rev-parse -q --verify refs/notes/mvc/scores"
check "remove: the config is gone" sh -c "! git --git-dir=.mvc config --get remote.other.url"
cd "$T"

# ---- secrets never printed ----
cd bob
"$MVC" remote add sec "https://user:s3cret-token@127.0.0.1:1/models.git"
expect 0 "" "remote list with a password in a URL" "$MVC" remote list
check "remote list hides the password" sh -c "! grep -q s3cret '$T/.stdout' && grep -q 'https://user:\*\*\*@127.0.0.1:1/models.git' '$T/.stdout'"
expect 2 "fetch from 'sec' failed" "an unreachable remote: exit 2" "$MVC" fetch sec
check "git's error does not show the password" sh -c "! grep -q s3cret '$T/.stderr'"
"$MVC" remote remove sec
cd "$T"

# ---- bad input ----
cd bob
"$MVC" fetch -q
before=$(snapshot .mvc)
expect 2 "no remote 'nosuch'" "push to an unknown remote" "$MVC" push nosuch
expect 2 "no remote 'nosuch'" "fetch from an unknown remote" "$MVC" fetch nosuch
expect 2 "no remote 'nosuch'" "pull from an unknown remote" "$MVC" pull nosuch
expect 2 "has no branch 'nope'" "pull of a branch the remote lacks" "$MVC" pull origin nope
expect 2 "no ref 'refs/heads/nope'" "push of a ref that does not exist" "$MVC" push origin refs/heads/nope
expect 2 "unknown revision" "push of an unknown revision" "$MVC" push origin nope~3:x
expect 2 "say where it goes" "push of an id with no destination" "$MVC" push origin "$v1"
expect 2 "remote name" "remote add with a bad name" "$MVC" remote add "a/b" "$URL"
expect 2 "must not start with '-'" "remote add with an option for a URL" "$MVC" remote add x -- "-oProxyCommand=touch x"
expect 2 "unsupported URL scheme 'foo'" "remote add with an unknown scheme" "$MVC" remote add x "foo://host/x"
expect 2 "no remote 'nosuch'" "remote remove of an unknown remote" "$MVC" remote remove nosuch
check "bad input: nothing changed" test "$(snapshot .mvc)" = "$before"
cd "$T"
expect 2 "unsupported URL scheme" "clone with an unknown scheme" "$MVC" clone "foo://host/x" bad1
check "bad URL: no directory left" test ! -e bad1
expect 2 "names no host" "clone of http:// with no host" "$MVC" clone "http:///x" bad2
expect 2 "transport helpers" "clone through a transport helper" "$MVC" clone "ext::sh -c touch% /tmp/x" bad3
expect 2 "clone of" "clone of a repository the server does not have" "$MVC" clone "git://127.0.0.1:$DAEMON_PORT/none.git" bad4
check "failed clone: no directory left" test ! -e bad4
mkdir full && echo keep >full/file
expect 2 "not an empty directory" "clone into a non-empty directory" "$MVC" clone "$URL" full
check "non-empty directory: untouched" sh -c "test \"\$(ls -A full)\" = file && test \"\$(cat full/file)\" = keep"
mkdir emptydir
expect 0 "" "clone into an existing empty directory" "$MVC" clone -q "$URL" emptydir
expect 2 "not in an mvc repository" "push outside a repository" "$MVC" push
expect 129 "which subcommand" "remote without a subcommand" sh -c "cd bob && '$MVC' remote"
expect 129 "unknown option" "push with an unknown option" "$MVC" push --bogus
expect 129 "clone needs a URL" "clone without a URL" "$MVC" clone
expect 129 "takes one remote" "fetch with two remotes" sh -c "cd bob && '$MVC' fetch a b"

finish
