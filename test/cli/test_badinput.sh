#!/bin/sh
# Bad model files: each is refused with a clear message and exit 2, and
# the repository's refs and objects stay exactly as they were.
. "$(dirname "$0")/lib.sh"

le64() { # print a number as 8 little-endian bytes
	v=$1 i=0
	while [ $i -lt 8 ]; do
		printf "\\$(printf %03o $((v & 255)))"
		v=$((v >> 8)) i=$((i + 1))
	done
}
mkst() { # out header-json data-bytes [header-length]
	n=$(printf %s "$2" | wc -c)
	{ le64 "${4:-$n}"; printf %s "$2"; head -c "$3" /dev/zero; } >"$1"
}

cd "$T" && "$MVC" init -q repo && cd repo
"$MKMODEL" --tensor 'a:F32:4x4' good.safetensors >/dev/null
"$MVC" commit -q -m base good.safetensors
base=$(snapshot .mvc)

refused() { # desc, message, file
	cp "$3" bad.safetensors
	expect 2 "$2" "$1: refused" "$MVC" commit -m bad bad.safetensors
	check "$1: repository unchanged" test "$(snapshot .mvc)" = "$base"
	rm -f bad.safetensors
}
# Files of no format mvc parses are stored as opaque files (test_formats.sh);
# asked to be safetensors, they are refused.
refused_as() { # desc, message, file
	cp "$3" bad.safetensors
	expect 2 "$2" "$1: refused" "$MVC" commit -m bad --format safetensors bad.safetensors
	check "$1: repository unchanged" test "$(snapshot .mvc)" = "$base"
	rm -f bad.safetensors
}

: >"$T/empty"
refused_as "empty file" "is not a safetensors file" "$T/empty"
echo "hello, world, this is text" >"$T/text"
refused_as "a text file" "is not a safetensors file" "$T/text"
mkst "$T/arr" '[1,2]' 0
refused_as "header that is not an object" "is not a safetensors file" "$T/arr"
head -c 100 good.safetensors >"$T/trunc"
refused "truncated file" "out of bounds" "$T/trunc"
mkst "$T/long" '{}' 0 1000
refused "header length beyond the file" "beyond the end" "$T/long"
mkst "$T/huge" '{"a":1}' 0 200000000
truncate -s 300000000 "$T/huge"
refused "header over 100 MB" "over the" "$T/huge"
rm -f "$T/huge"
mkst "$T/json" '{"a":{"dtype":"F32",' 0
refused "invalid JSON" "bad safetensors header JSON" "$T/json"
mkst "$T/dup" '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}' 8
refused "duplicate tensor names" "duplicate" "$T/dup"
mkst "$T/dtype" '{"a":{"dtype":"F7","shape":[1],"data_offsets":[0,4]}}' 4
refused "unknown dtype" "unknown dtype 'F7'" "$T/dtype"
mkst "$T/neg" '{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}' 4
refused "negative shape" "non-negative integers" "$T/neg"
mkst "$T/frac" '{"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,4]}}' 4
refused "non-integer shape" "non-negative integers" "$T/frac"
mkst "$T/ovf" '{"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,4]}}' 4
refused "shape product overflow" "overflows" "$T/ovf"
mkst "$T/oob" '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}' 4
refused "data_offsets out of bounds" "out of bounds" "$T/oob"
mkst "$T/overlap" '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}' 12
refused "overlapping tensors" "overlaps" "$T/overlap"
mkst "$T/gap" '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}}' 20
refused "a gap between tensors" "belong to no tensor" "$T/gap"
mkst "$T/short" '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}' 16
refused "data not covered" "cover 8 of the 16" "$T/short"
mkst "$T/size" '{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}' 8
refused "size that disagrees with the shape" "give 12 bytes" "$T/size"
mkst "$T/meta" '{"__metadata__":{"k":1},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}' 4
refused "non-string metadata" "__metadata__ value" "$T/meta"
mkst "$T/f4" '{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,1]}}' 1
refused "sub-byte tensor not filling bytes" "whole bytes" "$T/f4"
mkst "$T/noname" '{"":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}' 4
refused "empty tensor name" "empty name" "$T/noname"

# one bad file among good ones: nothing is stored at all
"$MKMODEL" --seed 9 --tensor 'b:F32:8x8' other.safetensors >/dev/null
cp "$T/dup" bad.safetensors
expect 2 "duplicate" "a bad file among good ones fails the commit" "$MVC" commit -m mixed other.safetensors bad.safetensors
check "no object of the good file was written" test "$(snapshot .mvc)" = "$base"
rm -f bad.safetensors

expect 2 "not a regular file" "a directory is refused" sh -c "mkdir -p d.safetensors && '$MVC' commit -m x d.safetensors"
expect 2 "No such file" "a missing file is refused" "$MVC" commit -m x missing.safetensors
check "after all that, the repository is unchanged" test "$(snapshot .mvc)" = "$base"
check "and git fsck passes" git --git-dir=.mvc fsck --full --strict
finish
