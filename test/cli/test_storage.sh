#!/bin/sh
# Storage: tensor names are data, every dtype round-trips, chunks are
# deduplicated, corruption is caught, and the real models round-trip.
. "$(dirname "$0")/lib.sh"
JGET="$(dirname "$MVC")/tools/jget"

cd "$T" && "$MVC" init -q repo && cd repo

# names that must never become paths
long=$(printf 'n%.0s' $(seq 1 200))
"$MKMODEL" --tensor '../x:F32:4x2' --tensor 'a/b/c:F32:3' --tensor 'c:d:F16:2' \
    --tensor 'with space:F32:1' --tensor "$long:F32:2" --tensor 'héllo_вес_模型:BF16:4' \
    --tensor '.git:U8:3' --tensor 'quote"back\slash:I32:2' names.safetensors >/dev/null
expect 0 "" "commit of hostile tensor names" "$MVC" commit -m names names.safetensors
check "no tensor name became a tree entry" sh -c \
    "git --git-dir=.mvc ls-tree -r --name-only HEAD | grep -Ev '^names.safetensors/(MANIFEST|header|t/[0-9]{6}/[0-9]{6})$' | grep -q . && exit 1 || exit 0"
"$MVC" checkout HEAD -o "$T/names.out"
check "hostile names round-trip bit for bit" same_file "$T/names.out" names.safetensors
"$MVC" show --json >"$T/names.json"
check "show lists the 200-byte name" grep -q "$long" "$T/names.json"
check "show lists the non-ASCII name" grep -q 'héllo_вес_模型' "$T/names.json"
check "show lists '../x' as a name" grep -q '"\.\./x"' "$T/names.json"
check "git fsck --strict accepts the trees" git --git-dir=.mvc fsck --full --strict

# every dtype of the safetensors specification
set --
for dt in BOOL U8 I8 F8_E5M2 F8_E4M3 F8_E8M0 I16 U16 F16 BF16 I32 U32 F32 F64 I64 U64 C64 F4 F6_E2M3 F6_E3M2; do
	set -- "$@" --tensor "t_$dt:$dt:8x4"
done
"$MKMODEL" "$@" --tensor 'scalar:F32:-' --tensor 'empty:F32:0x4' dtypes.safetensors >/dev/null
expect 0 "" "commit of every dtype, a scalar and an empty tensor" "$MVC" commit -m dtypes dtypes.safetensors
"$MVC" checkout HEAD -o "$T/dtypes.out" dtypes.safetensors
check "every dtype round-trips" same_file "$T/dtypes.out" dtypes.safetensors
check "show names each dtype" test "$("$MVC" show --json HEAD -- dtypes.safetensors | "$JGET" files.0.tensor_count)" = 22

# dedup: a version that changes one tensor stores about that tensor
git --git-dir=.mvc config mvc.chunkSize 4096
"$MKMODEL" --seed 3 --tensor 'big:F32:1024x64' --tensor 'small:F32:16x16' m.safetensors >/dev/null
"$MVC" commit -q -m m1 m.safetensors
objs1=$(git --git-dir=.mvc count-objects -v | awk '/^(count|in-pack):/ { n += $2 } END { print n }')
"$MKMODEL" --seed 4 --tensor 'small:F32:16x16' s.st >/dev/null
# same big tensor (seed 3), new small tensor: rebuild by generating both with seed 3 and patching small
"$MKMODEL" --seed 3 --version 2 --retrain 0 --tensor 'big:F32:1024x64' --tensor 'small:F32:16x16' --dense-nudge 0 m2.st >/dev/null
cp m.safetensors m2.st
# change one row of 'small' in place (its data is the last 1 KiB of the file)
sz=$(wc -c <m2.st)
printf 'abcd' | dd of=m2.st bs=1 seek=$((sz - 8)) conv=notrunc 2>/dev/null
cp m2.st m.safetensors
"$MVC" commit -m m2 --json m.safetensors >"$T/m2.json"
check "chunked at mvc.chunkSize: big tensor has 64 chunks" test "$("$MVC" show --json | "$JGET" files.1.tensors.0.chunks 2>/dev/null || "$MVC" show --json HEAD -- m.safetensors | "$JGET" files.0.tensors.0.chunks)" = 64
check "only the changed chunk is stored again" test "$("$JGET" chunks_written "$T/m2.json")" = 1
check "all chunks were considered" test "$("$JGET" chunks "$T/m2.json")" = 65
objs2=$(git --git-dir=.mvc count-objects -v | awk '/^(count|in-pack):/ { n += $2 } END { print n }')
# new: 1 chunk, its tensor tree, the t tree, MANIFEST, file tree, root tree, commit
check "a one-chunk change adds a handful of objects ($((objs2 - objs1)))" test $((objs2 - objs1)) -le 8
"$MVC" checkout HEAD~1 -o "$T/m1.out" m.safetensors
"$MKMODEL" --seed 3 --tensor 'big:F32:1024x64' --tensor 'small:F32:16x16' "$T/m1.ref" >/dev/null
check "the older version still reads back" same_file "$T/m1.out" "$T/m1.ref"
# identical chunks anywhere are stored once
"$MKMODEL" --seed 5 --tensor 'a:F32:256x16' one.st >/dev/null
"$MKMODEL" --seed 5 --tensor 'a:F32:256x16' --tensor 'b:F32:8' two.safetensors >/dev/null
cp one.st dup1.safetensors; cp one.st dup2.safetensors
"$MVC" commit -m dup --json dup1.safetensors dup2.safetensors >"$T/dup.json"
check "identical files share their chunks" test "$("$JGET" chunks_written "$T/dup.json")" -le "$(( $("$JGET" chunks "$T/dup.json") / 2 ))"

# corruption: a chunk object replaced by another valid object
git --git-dir=.mvc config mvc.chunkSize 1048576
"$MKMODEL" --seed 11 --tensor 'victim:F32:256x64' --tensor 'other:F32:256x64' c.safetensors >/dev/null
"$MVC" commit -q -m victim c.safetensors
blob=$(git --git-dir=.mvc rev-parse HEAD:c.safetensors/t/000000/000000)
donor=$(git --git-dir=.mvc rev-parse HEAD:c.safetensors/t/000001/000000)
obj=.mvc/objects/$(echo "$blob" | cut -c1-2)/$(echo "$blob" | cut -c3-)
dobj=.mvc/objects/$(echo "$donor" | cut -c1-2)/$(echo "$donor" | cut -c3-)
"$MKMODEL" --seed 12 --tensor 'x:F32:4' c.safetensors >/dev/null   # the working copy is another model
"$MVC" commit -q -m other c.safetensors
cp c.safetensors "$T/c.before"
explode_packs .mvc
chmod u+w "$obj" && cp "$dobj" "$obj"
expect 2 "victim" "a swapped chunk fails checkout, naming the tensor" "$MVC" checkout --force HEAD~1 c.safetensors
check "the message names the file" grep -q "c.safetensors" "$T/.stderr"
check "the message names the digest failure" grep -q "BLAKE2b" "$T/.stderr"
check "the working file is untouched" same_file c.safetensors "$T/c.before"
check "no temporary file is left behind" sh -c "! ls -a | grep -q 'mvc-'"
printf 'garbage' >"$obj"
expect 2 "victim" "an unreadable chunk fails checkout, naming the tensor" "$MVC" checkout HEAD~1 -o "$T/c.out" c.safetensors
check "no output file is created" test ! -e "$T/c.out"

# the real models, when ../shared/data is present
if [ -f "$SHARED_DATA/movenet_v3_f16.safetensors" ]; then
	cd "$T" && "$MVC" init -q real && cd real
	cp "$SHARED_DATA/movenet_v3_f16.safetensors" model.safetensors
	check "commit real v3" "$MVC" commit -q -m v3 model.safetensors
	cp "$SHARED_DATA/movenet_v4_f16.safetensors" model.safetensors
	"$MVC" commit -m v4 --json >"$T/v4.json"
	check "v4 reuses v3's unchanged tensors" test "$("$JGET" chunks_written "$T/v4.json")" -lt "$("$JGET" chunks "$T/v4.json")"
	"$MVC" checkout HEAD~1 -o "$T/v3.out"
	"$MVC" checkout HEAD -o "$T/v4.out"
	check "real v3 round-trips" same_file "$T/v3.out" "$SHARED_DATA/movenet_v3_f16.safetensors"
	check "real v4 round-trips" same_file "$T/v4.out" "$SHARED_DATA/movenet_v4_f16.safetensors"
	check "git fsck on the real store" git --git-dir=.mvc fsck --full --strict
else
	skip "real models: $SHARED_DATA is absent"
fi
finish
