#!/bin/sh
# Formats beyond one safetensors file: GGUF, NumPy .npy and .npz, and any
# other file (content-defined chunks).  Each round-trips bit for bit, a
# second version that changes one tensor (or, for an opaque file, a few
# bytes in the middle) grows the store by about that much, broken files
# are refused (exit 2, store unchanged), and parts of a version export as
# safetensors files equal to references built here.
. "$(dirname "$0")/lib.sh"

JGET="$(dirname "$MVC")/tools/jget"
# Bytes of every object file in a store.
store_bytes() { find "$1/objects" -type f -exec cat {} + | wc -c; }
# The offset of tensor $2 (index) of file $1 in HEAD, from show --json.
tensor_offset() {
	"$MVC" show --json HEAD -- "$1" >"$T/.show.json" 2>/dev/null || "$MVC" show --json HEAD >"$T/.show.json"
	i=0
	while [ "$("$JGET" "files.$i.path" "$T/.show.json")" != "$1" ]; do i=$((i + 1)); done
	"$JGET" "files.$i.tensors.$2.offset" "$T/.show.json"
}
# Overwrite $3 bytes of file $1 at offset $2 with bytes from the noise file.
poke() { dd if="$T/noise" of="$1" bs=1 seek="$2" count="$3" conv=notrunc 2>/dev/null; }
# Commit $1 with message $2 and check the store grew by at most $3 bytes.
grows_at_most() { # file msg limit desc
	b=$(store_bytes .mvc)
	"$MVC" commit -q -m "$2" "$1"
	a=$(store_bytes .mvc)
	check "$4: the store grew by $((a - b)) bytes (at most $3)" test $((a - b)) -le "$3"
	check "$4: the store grew" test $((a - b)) -gt 0
}
le32() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '; }
# A byte at offset $2 of file $1 set to $3 (decimal).
setbyte() { printf "\\$(printf %03o "$3")" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null; }

"$MKMODEL" --seed 99 --format npy --tensor 'n:F32:64x256' "$T/noise.npy" >/dev/null
tail -c 65536 "$T/noise.npy" >"$T/noise"

cd "$T" && "$MVC" init -q repo && cd repo
git --git-dir=.mvc config mvc.chunkSize 16384

# ---- GGUF ----
GG="--tensor tok_embd:F32:256x64 --tensor out:F16:64x64 --tensor norm:BF16:64 \
--tensor blk.0.attn_q:Q8_0:256x256 --tensor blk.0.ffn:Q4_0:128x256 --tensor blk.0.k:Q4_K:64x256 \
--tensor steps:I32:4"
# shellcheck disable=SC2086
"$MKMODEL" --seed 1 --format gguf $GG m.gguf >/dev/null
cp m.gguf "$T/g1"
check "gguf: commit" "$MVC" commit -q -m g1 m.gguf
"$MVC" tag g1
check "gguf: stored as gguf" sh -c "'$MVC' show --json | '$JGET' files.0.format | grep -qx gguf"
"$MVC" show --json >"$T/g.json"
check "gguf: Q8_0 recorded with its row-major shape" \
    test "$("$JGET" files.0.tensors.3.dtype "$T/g.json") $("$JGET" files.0.tensors.3.shape "$T/g.json")" = "Q8_0 [256,256]"
check "gguf: status is clean" sh -c "'$MVC' status | grep -q 'clean *m.gguf'"
# one Q8_0 tensor changed in place: about its changed bytes are stored
off=$(tensor_offset m.gguf 3)
poke m.gguf $((off + 20000)) 3000
cp m.gguf "$T/g2"
grows_at_most m.gguf g2 $((3000 + 16384)) "gguf: 3000 bytes of one Q8_0 tensor"
"$MVC" diff --json HEAD~1 HEAD >"$T/gd.json"
check "gguf: one tensor changed" test "$("$JGET" summary.tensors_changed "$T/gd.json")" = 1
check "gguf: Q8_0 is compared as dequantised floats" test "$("$JGET" files.0.tensors.0.compared "$T/gd.json")" = float
# a Q4_K tensor: compared by bytes, and the diff says so
off=$(tensor_offset m.gguf 5)
poke m.gguf $((off + 100)) 200
"$MVC" commit -q -m g3 m.gguf
"$MVC" diff HEAD~1 HEAD >"$T/gd.txt"
check "gguf: other block types are compared by bytes" grep -q "no numeric comparison for Q4_K" "$T/gd.txt"
"$MVC" checkout HEAD~2 -o "$T/g1.out"
"$MVC" checkout HEAD~1 -o "$T/g2.out"
check "gguf: version 1 round-trips" same_file "$T/g1.out" "$T/g1"
check "gguf: version 2 round-trips" same_file "$T/g2.out" "$T/g2"
# broken GGUF files: refused, the store untouched
base=$(snapshot .mvc)
head -c 700 "$T/g1" >bad.gguf
expect 2 "truncated" "gguf: a truncated file is refused" "$MVC" commit -m bad bad.gguf
check "gguf: truncated: store unchanged" test "$(snapshot .mvc)" = "$base"
{ printf 'GGUF\001\000\000\000'; head -c 100 /dev/zero; } >bad.gguf
expect 2 "GGUF version 1 is not supported" "gguf: version 1 is refused" "$MVC" commit -m bad bad.gguf
check "gguf: version 1: store unchanged" test "$(snapshot .mvc)" = "$base"
{ printf 'GGUF\003\000\000\000'; printf '\377\377\377\377\377\377\377\377'; head -c 16 /dev/zero; } >bad.gguf
expect 2 "tensor count" "gguf: a huge tensor count is refused" "$MVC" commit -m bad bad.gguf
check "gguf: huge count: store unchanged" test "$(snapshot .mvc)" = "$base"
check "gguf: --format opaque stores a file mvc cannot parse" "$MVC" commit -q -m v1 --format opaque bad.gguf
check "gguf: and it stays opaque" "$MVC" commit -q -m again --allow-empty bad.gguf
"$MVC" checkout HEAD -o "$T/bad.out" bad.gguf
check "gguf: the opaque file round-trips" same_file "$T/bad.out" bad.gguf

# the real files, when ../shared/data is present
if [ -f "$SHARED_DATA/movenet_v3_f16.gguf" ]; then
	cd "$T" && "$MVC" init -q real && cd real
	cp "$SHARED_DATA/movenet_v3_f16.gguf" model.gguf
	check "real gguf: commit v3" "$MVC" commit -q -m v3 model.gguf
	cp "$SHARED_DATA/movenet_v4_f16.gguf" model.gguf
	"$MVC" commit -m v4 --json >"$T/v4.json"
	check "real gguf: v4 reuses v3's unchanged tensors" \
	    test "$("$JGET" chunks_written "$T/v4.json")" -lt "$("$JGET" chunks "$T/v4.json")"
	"$MVC" checkout HEAD~1 -o "$T/v3.out"
	"$MVC" checkout HEAD -o "$T/v4.out"
	check "real gguf: v3 round-trips" same_file "$T/v3.out" "$SHARED_DATA/movenet_v3_f16.gguf"
	check "real gguf: v4 round-trips" same_file "$T/v4.out" "$SHARED_DATA/movenet_v4_f16.gguf"
	if [ -f "$SHARED_DATA/movenet_v3_f16.safetensors" ]; then
		# the same model as safetensors: the GGUF export is tensor for tensor equal
		"$MVC" checkout HEAD~1 --dtype f16 -o "$T/v3.gguf.st"
		"$MVC" diff --no-index --json "$SHARED_DATA/movenet_v3_f16.safetensors" "$T/v3.gguf.st" >"$T/rd.json"
		check "real gguf: exported, every tensor equals the safetensors release" \
		    test "$("$JGET" summary.tensors_changed "$T/rd.json")" = 0
	fi
	check "real gguf: git fsck" git --git-dir=.mvc fsck --full --strict
	cd "$T/repo"
else
	skip "real gguf: $SHARED_DATA is absent"
fi

# ---- NumPy .npy ----
for v in 1 2 3; do
	"$MKMODEL" --seed 4 --format npy --npy-version $v --tensor 'a:F32:512x32' "a$v.npy" >/dev/null
done
"$MKMODEL" --seed 4 --format npy --big-endian --tensor 'a:F32:512x32' be.npy >/dev/null
"$MKMODEL" --seed 4 --format npy --fortran --tensor 'a:I64:32x16' f.npy >/dev/null
check "npy: commit versions 1.0, 2.0, 3.0, big-endian, Fortran" \
    "$MVC" commit -q -m npy a1.npy a2.npy a3.npy be.npy f.npy
"$MVC" tag npy1
"$MVC" show --json >"$T/n.json"
check "npy: stored as npy" test "$("$JGET" files.0.format "$T/n.json")" = npy
for f in a1 a2 a3 be f; do
	"$MVC" checkout HEAD -o "$T/$f.out" $f.npy
	check "npy: $f.npy round-trips" same_file "$T/$f.out" $f.npy
done
cp be.npy "$T/be1"
off=$(tensor_offset be.npy 0)
poke be.npy $((off + 30000)) 2000
grows_at_most be.npy be2 $((2000 + 16384)) "npy: 2000 bytes of a big-endian array"
"$MVC" diff --json HEAD~1 HEAD -- be.npy >"$T/nd.json"
check "npy: a big-endian array is compared as floats" test "$("$JGET" files.0.tensors.0.compared "$T/nd.json")" = float
base=$(snapshot .mvc)
head -c 100 a1.npy >bad.npy
expect 2 "truncated .npy file" "npy: a truncated file is refused" "$MVC" commit -m bad bad.npy
check "npy: truncated: store unchanged" test "$(snapshot .mvc)" = "$base"
printf "\223NUMPY\001\000\072\000{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }" >bad.npy
expect 2 "bad .npy header" "npy: a negative dimension is refused" "$MVC" commit -m bad bad.npy
check "npy: negative dimension: store unchanged" test "$(snapshot .mvc)" = "$base"

# ---- NumPy .npz (numpy.savez: stored members, ZIP64 extra fields) ----
"$MKMODEL" --seed 6 --format npz --tensor 'emb:F32:512x64' --tensor 'ids:I64:1000' m.npz >/dev/null
cp m.npz "$T/z1"
check "npz: commit" "$MVC" commit -q -m z1 m.npz
"$MVC" show --json >"$T/z.json"
i=0; while [ "$("$JGET" "files.$i.path" "$T/z.json")" != m.npz ]; do i=$((i + 1)); done
check "npz: stored as npz with its arrays" \
    test "$("$JGET" "files.$i.format" "$T/z.json") $("$JGET" "files.$i.tensor_count" "$T/z.json")" = "npz 2"
off=$(tensor_offset m.npz 0)
poke m.npz $((off + 50000)) 1000
grows_at_most m.npz z2 $((1000 + 16384)) "npz: 1000 bytes of one member"
"$MVC" diff --json HEAD~1 HEAD -- m.npz >"$T/zd.json"
check "npz: one of two arrays changed" test "$("$JGET" summary.tensors_changed "$T/zd.json")" = 1
"$MVC" checkout HEAD~1 -o "$T/z1.out" m.npz
check "npz: version 1 round-trips" same_file "$T/z1.out" "$T/z1"
# a compressed archive (method 8 in both headers): kept whole, as opaque
cp "$T/z1" c.npz
size=$(wc -c <c.npz)
cd_off=$(le32 c.npz $((size - 6)))
setbyte c.npz 8 8
setbyte c.npz $((cd_off + 10)) 8
check "npz: a compressed archive is stored" "$MVC" commit -q -m compressed c.npz
check "npz: as an opaque file" sh -c "'$MVC' show --json | grep -q '\"format\": \"opaque\"'"
"$MVC" checkout HEAD -o "$T/c.out" c.npz
check "npz: the compressed archive round-trips" same_file "$T/c.out" c.npz
base=$(snapshot .mvc)
expect 2 "is compressed" "npz: --format npz refuses a compressed archive" \
    "$MVC" commit -m bad --format npz c.npz
check "npz: compressed: store unchanged" test "$(snapshot .mvc)" = "$base"
head -c 3000 "$T/z1" >bad.npz
expect 2 "not a zip archive" "npz: --format npz refuses a truncated archive" \
    "$MVC" commit -m bad --format npz bad.npz
check "npz: truncated: store unchanged" test "$(snapshot .mvc)" = "$base"

# ---- any other file: content-defined chunks ----
# 1 MiB of float bytes without the .npy header: nothing mvc parses
"$MKMODEL" --seed 8 --format npy --tensor 'x:F32:1024x256' "$T/x.npy" >/dev/null
tail -c 1048576 "$T/x.npy" >blob.bin
cp blob.bin "$T/o1"
check "opaque: commit" "$MVC" commit -q -m o1 blob.bin
"$MVC" show --json HEAD -- blob.bin >"$T/o.json" 2>/dev/null || "$MVC" show --json >"$T/o.json"
check "opaque: stored as opaque" grep -q '"format": "opaque"' "$T/o.json"
# a few bytes changed and ten inserted in the middle: the rest is shared
{ head -c 500000 "$T/o1"; printf 'inserted!!'; tail -c +500001 "$T/o1"; } >blob.bin
poke blob.bin 700000 16
cp blob.bin "$T/o2"
# chunks are 4 KiB to 64 KiB (mvc.chunkSize 16384): two or three new ones
grows_at_most blob.bin o2 $((3 * 65536)) "opaque: an insertion and an edit in the middle"
"$MVC" diff --json HEAD~1 HEAD -- blob.bin >"$T/od.json"
check "opaque: compared by chunks" test "$("$JGET" files.0.tensors.0.compared "$T/od.json")" = chunks
shared=$("$JGET" files.0.tensors.0.bytes_shared "$T/od.json")
check "opaque: most bytes are shared ($shared of 1048586)" test "$shared" -gt 800000
"$MVC" diff HEAD~1 HEAD -- blob.bin >"$T/od.txt"
check "opaque: diff says how many bytes are shared" grep -q "bytes shared with the old side" "$T/od.txt"
"$MVC" checkout HEAD~1 -o "$T/o1.out" blob.bin
"$MVC" checkout HEAD -o "$T/o2.out" blob.bin
check "opaque: version 1 round-trips" same_file "$T/o1.out" "$T/o1"
check "opaque: version 2 round-trips" same_file "$T/o2.out" "$T/o2"
check "opaque: status is clean" sh -c "'$MVC' status | grep -q 'clean *blob.bin'"
: >empty.txt
echo "a tokenizer, a config, any text" >notes.txt
check "opaque: an empty file and a text file are stored" "$MVC" commit -q -m small empty.txt notes.txt
"$MVC" checkout HEAD -o "$T/e.out" empty.txt
check "opaque: the empty file round-trips" same_file "$T/e.out" empty.txt
base=$(snapshot .mvc)
expect 2 "is not a safetensors file" "--format safetensors refuses a text file" \
    "$MVC" commit -m bad --format safetensors notes.txt
check "--format safetensors: store unchanged" test "$(snapshot .mvc)" = "$base"
expect 129 "takes safetensors, gguf, npy, npz or opaque" "--format with an unknown name" \
    "$MVC" commit -m bad --format onnx notes.txt
# a tracked model file that became something else is refused, not stored as bytes
cp m.gguf "$T/keep.gguf"
echo "not a model any more" >m.gguf
expect 2 "not a model file mvc can read as gguf" "a tracked gguf file that became text" \
    "$MVC" commit -m bad m.gguf
check "a tracked gguf file that became text: store unchanged" test "$(snapshot .mvc)" = "$base"
cp "$T/keep.gguf" m.gguf
# diff --no-index reads files as asked
expect 0 "" "diff --no-index --format opaque of two gguf files" \
    "$MVC" diff --no-index --format opaque "$T/g1" "$T/g2"
check "... compares their bytes by chunks" grep -q "bytes shared" "$T/.stdout"
expect 129 "--format is for --no-index" "diff --format needs --no-index" "$MVC" diff --format gguf

# ---- exporting part of a version as safetensors ----
# GGUF: the float tensors, as a safetensors file of the same generator
"$MVC" checkout g1 --tensor tok_embd --tensor out --tensor norm -o "$T/gx.st" m.gguf
"$MKMODEL" --seed 1 --tensor tok_embd:F32:256x64 --tensor out:F16:64x64 --tensor norm:BF16:64 \
    "$T/gx.ref" >/dev/null
check "export: GGUF float tensors equal the reference safetensors file" same_file "$T/gx.st" "$T/gx.ref"
expect 2 "'blk.0.attn_q' is Q8_0, a ggml block type" "export: a GGUF block type is refused by name" \
    "$MVC" checkout g1 --tensor 'blk.*' -o "$T/gq.st" m.gguf
check "export: nothing is written when refused" test ! -e "$T/gq.st"
# NumPy: a big-endian array comes out little-endian
"$MVC" checkout npy1 --tensor array -o "$T/bex.st" be.npy
"$MKMODEL" --seed 4 --tensor array:F32:512x32 "$T/bex.ref" >/dev/null
check "export: a big-endian array equals the little-endian reference" same_file "$T/bex.st" "$T/bex.ref"
expect 2 "opaque file" "export: an opaque file has no tensors" \
    "$MVC" checkout HEAD --tensor '*' -o "$T/ox.st" blob.bin
expect 2 "no tensor of 'm.gguf' matches" "export: no tensor matching" \
    "$MVC" checkout g1 --tensor 'nosuch*' -o "$T/nx.st" m.gguf
expect 129 "give it with -o" "export: --tensor needs -o" "$MVC" checkout g1 --tensor out
expect 129 "takes bf16, f16 or f32" "export: --dtype f8" "$MVC" checkout g1 --dtype f8 -o "$T/x.st" m.gguf

# safetensors: a tower of a model, converted, reading only its chunks
cd "$T" && "$MVC" init -q ex && cd ex
git --git-dir=.mvc config mvc.chunkSize 4096
"$MKMODEL" --seed 21 --tensor item_emb.weight:F32:256x16 --tensor item_bias:F32:256 \
    --tensor step:I64:1 --tensor user_emb.weight:F32:256x16 --tensor mlp.0.weight:F32:32x16 \
    m.safetensors >/dev/null
"$MVC" commit -q -m tower m.safetensors
"$MVC" checkout HEAD --tensor 'item*' --tensor step -o "$T/t32.st"
"$MKMODEL" --seed 21 --tensor item_emb.weight:F32:256x16 --tensor item_bias:F32:256 \
    --tensor step:I64:1 "$T/t32.ref" >/dev/null
check "export: the matching tensors equal the reference" same_file "$T/t32.st" "$T/t32.ref"
for t in bf16 f16; do
	T_=$(echo $t | tr a-z A-Z)
	"$MVC" checkout HEAD --tensor 'item*' --tensor step --dtype $t -o "$T/t$t.st"
	"$MKMODEL" --seed 21 --tensor "item_emb.weight:$T_:256x16" --tensor "item_bias:$T_:256" \
	    --tensor step:I64:1 "$T/t$t.ref" >/dev/null
	check "export: --dtype $t rounds to nearest even, as the reference" same_file "$T/t$t.st" "$T/t$t.ref"
done
"$MVC" checkout HEAD --tensor 'item*' --tensor step --dtype f32 -o "$T/tf32.st"
check "export: --dtype f32 of f32 tensors changes nothing" same_file "$T/tf32.st" "$T/t32.ref"
"$MVC" checkout HEAD --dtype f16 -o "$T/all16.st"
"$MVC" diff --no-index --json "$T/tf16.st" "$T/all16.st" >"$T/x.json"
check "export: the whole file, converted, holds the same tensors" \
    test "$("$JGET" summary.tensors_changed "$T/x.json")" = 2
# a damaged chunk of a tensor not exported is never read
blob=$(git --git-dir=.mvc rev-parse HEAD:m.safetensors/t/000003/000000)
explode_packs .mvc
obj=.mvc/objects/$(echo "$blob" | cut -c1-2)/$(echo "$blob" | cut -c3-)
chmod u+w "$obj" && printf 'garbage' >"$obj"
expect 2 "user_emb.weight" "export: the damaged chunk fails a whole checkout" \
    "$MVC" checkout HEAD -o "$T/whole.st"
"$MVC" checkout HEAD --tensor 'item*' --tensor step --dtype bf16 -o "$T/tb2.st"
check "export: other tensors still export, verified, equal to the reference" \
    same_file "$T/tb2.st" "$T/tbf16.ref"
expect 2 "user_emb.weight" "export: exporting the damaged tensor fails" \
    "$MVC" checkout HEAD --tensor 'user*' -o "$T/u.st"
check "export: and writes nothing" test ! -e "$T/u.st"


# ---- sharded safetensors: one model in several files ----
cd "$T" && "$MVC" init -q shards && cd shards
S1=model-00001-of-00002.safetensors S2=model-00002-of-00002.safetensors
"$MKMODEL" --seed 1 --tensor a:F32:64x16 --tensor b:F32:32x16 $S1 >/dev/null
"$MKMODEL" --seed 1 --tensor c:F32:64x16 $S2 >/dev/null
printf '{"metadata":{},"weight_map":{"a":"%s","b":"%s","c":"%s"}}\n' $S1 $S1 $S2 \
    >model.safetensors.index.json
check "shards: the shards and their index commit as one version" \
    "$MVC" commit -q -m v1 $S1 $S2 model.safetensors.index.json
mkdir "$T/v1" && cp $S1 $S2 model.safetensors.index.json "$T/v1/"
# v2: tensor b moves to the second shard, bytes unchanged (same generator
# stream: seed 1, second tensor), a and c as they were
"$MKMODEL" --seed 1 --tensor a:F32:64x16 $S1 >/dev/null
"$MKMODEL" --seed 1 --tensor c:F32:64x16 --tensor b:F32:32x16 $S2 >/dev/null
printf '{"metadata":{},"weight_map":{"a":"%s","b":"%s","c":"%s"}}\n' $S1 $S2 $S2 \
    >model.safetensors.index.json
"$MVC" commit -q -m v2
mkdir "$T/v2" && cp $S1 $S2 model.safetensors.index.json "$T/v2/"
"$MVC" diff --json HEAD~1 HEAD >"$T/sd.json"
check "shards: a tensor that moved between shards is not a change" \
    test "$("$JGET" summary.tensors_changed "$T/sd.json")" = 1
check "shards: ... only the index changed" \
    test "$("$JGET" files.2.tensors.0.name "$T/sd.json")" = bytes
"$MVC" diff -v HEAD~1 HEAD >"$T/sd.txt"
check "shards: diff says where it moved from" grep -q "unchanged *b .*(moved from $S1)" "$T/sd.txt"
"$MVC" diff --json -v HEAD~1 HEAD >"$T/sdv.json"
check "shards: --json names the old shard" grep -q "\"moved_from\": \"$S1\"" "$T/sdv.json"
# the working files against v1: b moved, and changed on the way
poke $S2 $(($(wc -c <$S2) - 100)) 16
"$MVC" diff --json HEAD~1 >"$T/sw.json"
check "shards: moved and changed is one changed tensor (and the index)" \
    test "$("$JGET" summary.tensors_changed "$T/sw.json")/$("$JGET" summary.tensors_total "$T/sw.json")" = 2/4
check "shards: ... found by name in the other shard" grep -q "\"moved_from\": \"$S1\"" "$T/sw.json"
cp "$T/v2/$S2" .
# a serving directory replaced as a whole
"$MVC" checkout --dir "$T/serve" HEAD~1
for f in $S1 $S2 model.safetensors.index.json; do
	check "shards: --dir writes $f of v1" same_file "$T/serve/$f" "$T/v1/$f"
done
ino1=$(ls -di "$T/serve" | cut -d' ' -f1)
"$MVC" checkout -q --dir "$T/serve/" HEAD
for f in $S1 $S2 model.safetensors.index.json; do
	check "shards: --dir replaces $f with v2's" same_file "$T/serve/$f" "$T/v2/$f"
done
check "shards: by swapping in a new directory" test "$(ls -di "$T/serve" | cut -d' ' -f1)" != "$ino1"
check "shards: and the old one is gone" sh -c "! ls -a '$T' | grep -q '^\.serve\.mvc-'"
ln -s serve "$T/current"
"$MVC" checkout -q --dir "$T/current" HEAD~1
check "shards: a symlink is pointed at a new directory" test -L "$T/current"
check "shards: ... holding v1" same_file "$T/current/$S1" "$T/v1/$S1"
check "shards: ... and its old target is left as it was" same_file "$T/serve/$S1" "$T/v2/$S1"
"$MVC" checkout -q --dir "$T/one" HEAD $S2
check "shards: --dir with named files writes only those" test "$(ls "$T/one")" = $S2
: >"$T/afile"
expect 2 "is not a directory or a symlink" "shards: --dir onto a file is refused" \
    "$MVC" checkout --dir "$T/afile" HEAD
expect 2 "is not tracked" "shards: --dir with an untracked file writes nothing" \
    "$MVC" checkout --dir "$T/none" HEAD nosuch.safetensors
check "shards: ... nothing at all" test ! -e "$T/none"
expect 129 "--dir writes whole files" "shards: --dir with -o" "$MVC" checkout --dir "$T/x" -o "$T/y" HEAD

finish
