#!/bin/sh
# make bench-score: users per second of mvc score's retrieval evaluator on
# a 1,000,000 x 64 item table, beside an optimised BLAS sgemm (Debian's
# OpenBLAS) doing the same users x items product in the same run.
#
#   BENCH_ITEMS=1000000  BENCH_DIM=64  BENCH_USERS=2048  BENCH_ROUNDS=3
#   BENCH_DIR=/tmp/...   scratch directory (needs ~1 GB)
#
# Two measurements:
#  1. the scoring core (bench/score_bench.c, linked with libmvc.a and
#     OpenBLAS): mvc's blocked product + top-50 + every metric, against
#     cblas_sgemm computing the same product tile by tile into a buffer
#     that stays in cache, alternating, best of BENCH_ROUNDS each, on all
#     cores and then on one;
#  2. mvc score end to end on a committed model: reading and checking the
#     item table from the store, the data files, the scoring.
set -eu
build=${MVC_BUILD:-$(pwd)/build}
items=${BENCH_ITEMS:-1000000}
dim=${BENCH_DIM:-64}
users=${BENCH_USERS:-2048}
rounds=${BENCH_ROUNDS:-3}
dir=${BENCH_DIR:-${TMPDIR:-/tmp}/mvc-bench-score}

# OpenBLAS is a benchmark dependency only: installed here when missing, as
# .ci/deps installs what the build needs
if ! dpkg-query -W -f='${Status}' libopenblas-dev 2>/dev/null | grep -q 'install ok installed'; then
	if [ "$(id -u)" = 0 ]; then
		echo "installing: libopenblas-dev" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q libopenblas-dev >&2 ||
		    { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q libopenblas-dev >&2; }
	else
		echo "bench: missing libopenblas-dev; run:" >&2
		echo "  sudo apt-get update && sudo apt-get install -y libopenblas-dev" >&2
		exit 1
	fi
fi

rm -rf "$dir"
mkdir -p "$dir"
trap 'rm -rf "$dir"' EXIT
pkgs="libgit2 libsodium libzstd jansson libcrypto zlib"
# shellcheck disable=SC2046
cc -std=c11 -D_GNU_SOURCE -O2 -Iinclude -Ilib $(pkg-config --cflags openblas $pkgs) \
    bench/score_bench.c "$build/libmvc.a" $(pkg-config --libs $pkgs openblas) -lpthread -lm \
    -o "$dir/score_bench"
cp "$build/mvc" "$build/tools/mkmodel" "$dir/"

echo "== scoring core: mvc beside OpenBLAS sgemm ($(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"
"$dir/score_bench" "$items" "$dim" "$users" "$rounds"
echo
echo "== the same on one core (MVC_THREADS=1, OPENBLAS_NUM_THREADS=1)"
MVC_THREADS=1 OPENBLAS_NUM_THREADS=1 "$dir/score_bench" "$items" "$dim" $((users / 2)) "$rounds"

echo
echo "== mvc score end to end: a committed ${items} x ${dim} F32 item table"
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
cd "$dir"
./mvc init -q repo
cd repo
../mkmodel --seed 1 --tensor "items:F32:${items}x${dim}" --tensor "users:F32:${users}x${dim}" \
    model.safetensors >/dev/null
../mvc commit -q -m bench model.safetensors
awk -v u="$users" -v n="$items" 'BEGIN { srand(7); for (i = 0; i < u; i++) for (k = 0; k < 10; k++) print i "," int(rand() * n) }' >../test.csv
start=$(date +%s.%N)
../mvc score --eval retrieval --items items --users users --test ../test.csv --dry-run >../out
end=$(date +%s.%N)
cat ../out
awk -v s="$start" -v e="$end" -v u="$users" 'BEGIN { printf "end to end: %.2f s, %.0f users/s (the table read from the store and checked included)\n", e - s, u / (e - s) }'
