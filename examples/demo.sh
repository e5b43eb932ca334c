#!/bin/sh
# The built-in demo (make demo): a small e-commerce recommender retrained
# over a few days, versioned with mvc.  It leaves the repository in
# ./demo/models (or $DEMO_DIR/models) for you to explore.
set -eu
build=${MVC_BUILD:-$(pwd)/build}
mvc="$build/mvc"
mkmodel="$build/tools/mkmodel"
base=${DEMO_DIR:-$(pwd)/demo}
dir=$base/models
export GIT_AUTHOR_NAME="${GIT_AUTHOR_NAME:-mvc demo}" GIT_AUTHOR_EMAIL="${GIT_AUTHOR_EMAIL:-demo@example.com}"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

rm -rf "$base"
mkdir -p "$base/serving"
step "A new model repository (a bare git repository in .mvc/)"
run "$mvc" init "$dir"
cd "$dir"

step "Day 1: train a recommender (user/item embeddings + MLP, 16 MiB float32) and commit it"
"$mkmodel" --seed 42 --preset recsys --size 16M model.safetensors
run "$mvc" status
run "$mvc" commit model.safetensors -m "day 1: initial training" --meta num-examples=1200000 --meta run-id=day1

for day in 2 3 4; do
	step "Day $day: retrain 5% of the embedding rows and the MLP, commit"
	"$mkmodel" --seed 42 --preset recsys --size 16M --version "$day" --retrain 0.05 model.safetensors
	run "$mvc" status
	run "$mvc" commit -m "day $day: nightly retrain" --meta num-examples=$((50000 * day)) --meta run-id="day$day"
done

step "History: every version, newest first"
run "$mvc" log --oneline
run "$mvc" log -n 1

step "One version in detail: files, tensors, metadata"
run "$mvc" show HEAD~1

step "Deploy yesterday's model elsewhere, bit for bit (HEAD does not move)"
run "$mvc" checkout HEAD~1 -o "$base/serving/model.safetensors"
"$mkmodel" --seed 42 --preset recsys --size 16M --version 3 --retrain 0.05 "$base/expected.safetensors"
if cmp -s "$base/serving/model.safetensors" "$base/expected.safetensors"; then
	echo "deployed file is identical to day 3's model"
else
	echo "deployed file differs from day 3's model" >&2
	exit 1
fi
rm -f "$base/expected.safetensors"

step "Restore day 1 in the working directory, then come back"
run "$mvc" checkout HEAD~3
run "$mvc" status
run "$mvc" checkout HEAD

step "It is plain git underneath"
run git --git-dir=.mvc log --oneline
run git --git-dir=.mvc fsck --full --strict
raw=$(wc -c <model.safetensors)
store=$(du -sb .mvc | cut -f1)
echo "4 versions of a $raw-byte model take $store bytes in .mvc/ ($((store * 100 / raw))% of one raw copy, $((store * 100 / (raw * 4)))% of four)"

step "Done. Explore the repository: cd $dir && $mvc log"
