#!/bin/sh
# make bench: mvc against `git add && git commit` and Git LFS on generated
# models, with `cat` and `b2sum` as the floor, all measured in this run.
#
#   BENCH_SIZE=1G       model size (k/M/G suffixes)
#   BENCH_DIR=/tmp/...  scratch directory (needs ~8x BENCH_SIZE free)
#   BENCH_ONLY="first retrain5 finetune bf16 append chain unchanged real big"
#   BENCH_BIG=4G        model size of the "big" scenario (peak RSS, mvc only)
#   BENCH_TOOLS="mvc git lfs"
#
# Times are wall seconds (files in the page cache), RSS is peak resident
# memory, "growth" is what the version added to the store on disk.
set -eu
build=${MVC_BUILD:-$(pwd)/build}
mvc=$build/mvc
mkmodel=$build/tools/mkmodel
size=${BENCH_SIZE:-1G}
dir=${BENCH_DIR:-${TMPDIR:-/tmp}/mvc-bench}
only=${BENCH_ONLY:-first retrain5 finetune bf16 append chain unchanged real big}
big=${BENCH_BIG:-4G}
tools=${BENCH_TOOLS:-mvc git lfs}
shared=$(pwd)/../shared/data
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
TIME=/usr/bin/time

rm -rf "$dir"
mkdir -p "$dir/bin"
# run private copies: a rebuild during the run must not change what is measured
cp "$mvc" "$mkmodel" "$dir/bin/"
mvc=$dir/bin/mvc
mkmodel=$dir/bin/mkmodel
want() { case " $only " in *" $1 "*) return 0 ;; esac; return 1; }
has_tool() { case " $tools " in *" $1 "*) return 0 ;; esac; return 1; }

# measure LABEL cmd...: sets SECS (wall), CPU (user + sys) and RSS_MB
measure() {
	$TIME -f '%e %M %U %S' -o "$dir/.time" "$@" >/dev/null 2>"$dir/.err" || {
		echo "bench: '$*' failed:" >&2; cat "$dir/.err" >&2; exit 1; }
	SECS=$(cut -d' ' -f1 "$dir/.time")
	RSS_MB=$(awk '{printf "%.0f", $2 / 1024}' "$dir/.time")
	CPU=$(awk '{printf "%.2f", $3 + $4}' "$dir/.time")
}
store_bytes() { du -sb "$1" | cut -f1; }
row() { # scenario tool commit_s checkout_s growth raw rss_c rss_o commit_cpu checkout_cpu [cp+sync_s]
	pct=$(awk -v g="$5" -v r="$6" 'BEGIN { printf "%.2f", 100 * g / r }')
	printf '%-22s %-5s %9s %9s %8s %8s %14s %8s%% %7s %7s %8s\n' "$1" "$2" "$3" "$4" "$9" "${10}" "$5" "$pct" "$7" "$8" "${11:-}"
	echo "$1 $2 $3 $4 $5 $6 $7 $8 ${11:--}" >>"$dir/results"
}

gen() { # out, extra mkmodel args
	out=$1; shift
	"$mkmodel" --seed 42 --preset recsys --size "$size" "$@" "$out"
	sync # no writeback of the generated model left to slow what is measured
}

header() {
	printf '\n%-22s %-5s %9s %9s %8s %8s %14s %9s %7s %7s %8s\n' scenario tool commit_s ckout_s cpuC_s cpuO_s growth_bytes "%raw" rssC_MB rssO_MB cpsync_s
}

# Commit v1 (and then each later version) with a tool; checkout the last one.
# run_tool TOOL SCENARIO FILE...
run_tool() {
	tool=$1 scen=$2; shift 2
	repo=$dir/$tool-$scen
	rm -rf "$repo"; mkdir -p "$repo"
	case $tool in
	mvc) "$mvc" init -q "$repo" ;;
	git) git init -q "$repo" ;;
	lfs) git init -q "$repo" && (cd "$repo" && git lfs install --local >/dev/null && git lfs track '*.safetensors' >/dev/null && git add .gitattributes && git commit -qm attrs) ;;
	esac
	n=0 prev=""
	for f in "$@"; do
		n=$((n + 1))
		before=$(store_bytes "$repo/$( [ $tool = mvc ] && echo .mvc || echo .git)")
		# a version equal to the last one is not copied again: the file
		# stays untouched, as in a nightly job that found nothing new
		if [ "$f" != "${prev:-}" ]; then
			cp "$f" "$repo/model.safetensors"
			# let the copy's mtime age past the racy window of the stat cache
			sleep 2
		fi
		prev=$f
		# an unchanged re-commit is refused by both unless asked for
		empty=""
		[ "$scen" = unchanged ] && empty=--allow-empty
		case $tool in
		mvc) measure sh -c "cd '$repo' && '$mvc' commit -q $empty -m v$n model.safetensors" ;;
		git|lfs) measure sh -c "cd '$repo' && git add model.safetensors && git commit -q $empty -m v$n" ;;
		esac
		csecs=$SECS crss=$RSS_MB ccpu=$CPU
		after=$(store_bytes "$repo/$( [ $tool = mvc ] && echo .mvc || echo .git)")
		growth=$((after - before))
		raw=$(wc -c <"$f")
		sync
		case $tool in
		mvc)	# -o: the same work, and the working file stays as it was
			rm -f "$repo/out.safetensors"
			measure sh -c "cd '$repo' && '$mvc' checkout -q HEAD -o out.safetensors && sync"
			out=$repo/out.safetensors ;;
		git|lfs)
			rm -f "$repo/model.safetensors"
			measure sh -c "cd '$repo' && git checkout -q -- model.safetensors && sync"
			out=$repo/model.safetensors ;;
		esac
		cmp -s "$out" "$f" || { echo "bench: $tool $scen v$n: checkout differs" >&2; exit 1; }
		rm -f "$repo/out.safetensors"
		osecs=$SECS orss=$RSS_MB ocpu=$CPU cps=""
		if [ "$tool" = mvc ]; then
			# the checkout's yardstick, measured right beside it (the
			# disk's speed at writeback varies from minute to minute)
			measure sh -c "cp '$f' '$repo/cp.st' && sync"
			cps=$SECS
			rm -f "$repo/cp.st"
		fi
		label=$scen
		[ $# -gt 1 ] && label="$scen v$n"
		row "$label" "$tool" "$csecs" "$osecs" "$growth" "$raw" "$crss" "$orss" "$ccpu" "$ocpu" "$cps"
	done
	# the figures are kept; the disk is not
	rm -rf "$repo"
}

bench_set() { # scenario files...
	scen=$1; shift
	for t in $tools; do run_tool "$t" "$scen" "$@"; done
}

echo "mvc bench: model size $size, $(nproc) cores, scratch $dir"
echo "generating models..."
gen "$dir/v1.st"
raw=$(wc -c <"$dir/v1.st"); floor_raw=$raw
cat "$dir/v1.st" >/dev/null
measure cat "$dir/v1.st"; cat_s=$SECS
measure b2sum "$dir/v1.st"; b2_s=$SECS
measure sh -c "cp '$dir/v1.st' '$dir/cp.st' && sync"; cp_s=$SECS; rm -f "$dir/cp.st"
echo "floor: cat $cat_s s, b2sum $b2_s s, cp+sync $cp_s s for $raw bytes"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
header

want first && bench_set first "$dir/v1.st"
if want retrain5; then
	gen "$dir/v2.st" --version 2 --retrain 0.05
	bench_set retrain5 "$dir/v1.st" "$dir/v2.st"
	rm -f "$dir/v2.st"
fi
if want finetune; then
	gen "$dir/ft.st" --nudge 1e-4
	bench_set finetune "$dir/v1.st" "$dir/ft.st"
	rm -f "$dir/ft.st"
fi
if want bf16; then
	gen "$dir/b1.st" --dtype BF16
	gen "$dir/b2.st" --dtype BF16 --nudge 1e-2
	bench_set bf16 "$dir/b1.st" "$dir/b2.st"
	rm -f "$dir/b1.st" "$dir/b2.st"
fi
if want append; then
	gen "$dir/ap.st" --append-items 50000
	bench_set append "$dir/v1.st" "$dir/ap.st"
	rm -f "$dir/ap.st"
fi
if want unchanged; then
	bench_set unchanged "$dir/v1.st" "$dir/v1.st"
fi
if want chain; then
	set --
	for d in 1 2 3 4 5 6 7 8 9 10; do
		gen "$dir/c$d.st" --version "$d" --retrain 0.05
		set -- "$@" "$dir/c$d.st"
	done
	tools_save=$tools; tools=mvc
	bench_set chain "$@"
	tools=$tools_save
	rm -f "$dir"/c*.st
fi
if want real && [ -f "$shared/movenet_v3_f16.safetensors" ]; then
	bench_set real-movenet "$shared/movenet_v3_f16.safetensors" "$shared/movenet_v4_f16.safetensors"
fi

if want big; then
	"$mkmodel" --seed 42 --preset recsys --size "$big" "$dir/big.st"
	"$mkmodel" --seed 42 --preset recsys --size "$big" --version 2 --retrain 0.05 "$dir/big2.st"
	sync
	tools_save=$tools; tools=mvc
	bench_set "big-$big" "$dir/big.st" "$dir/big2.st"
	tools=$tools_save
	rm -f "$dir/big.st" "$dir/big2.st"
fi

echo
echo "ratios (same run):"
awk -v cat="$cat_s" -v b2="$b2_s" -v cp="$cp_s" -v fraw="$floor_raw" '
	# the floor was measured on the first model: scaled by size for others
	function fl(t, bytes) { return (t > 0 ? t : 0.01) * bytes / fraw }
	{ k = $1; for (i = 2; i <= NF - 8; i++) k = k " " $i
	  tool = $(NF-7); c[k, tool] = $(NF-6); o[k, tool] = $(NF-5); g[k, tool] = $(NF-4); r[k, tool] = $(NF-3)
	  if ($NF != "-") cps[k] = $NF
	  keys[k] = 1 }
	END {
	  for (k in keys) if ((k, "mvc") in c) {
	    ot = o[k, "mvc"] > 0 ? o[k, "mvc"] : 0.01
	    cpr = r[k, "mvc"] / 1e6 / ((k in cps) && cps[k] > 0 ? cps[k] : fl(cp, r[k, "mvc"]))
	    line = sprintf("%-22s mvc commit %.2fx cat, %.3fx b2sum", k, c[k, "mvc"] / fl(cat, r[k, "mvc"]), c[k, "mvc"] / fl(b2, r[k, "mvc"]))
	    if ((k, "lfs") in c) line = line sprintf(", %.2fx lfs time (lfs/mvc %.2f)", c[k, "mvc"] / c[k, "lfs"], c[k, "lfs"] / c[k, "mvc"])
	    if ((k, "git") in c) line = line sprintf(", %.2fx git time", c[k, "mvc"] / c[k, "git"])
	    line = line sprintf("; checkout %.0f MB/s = %.2f of cp+sync beside it (%.0f MB/s)", r[k, "mvc"] / 1e6 / ot, r[k, "mvc"] / 1e6 / ot / cpr, cpr)
	    if ((k, "lfs") in o) line = line sprintf(", %.2fx lfs checkout speed (%.0f MB/s)", o[k, "lfs"] / ot, r[k, "lfs"] / 1e6 / (o[k, "lfs"] > 0 ? o[k, "lfs"] : 0.01))
	    if ((k, "lfs") in g && g[k, "lfs"] > 0) line = line sprintf("; growth %.3f of lfs", g[k, "mvc"] / g[k, "lfs"])
	    print line
	  }
	}' "$dir/results" | sort
rm -f "$dir"/*.st
echo
echo "results in $dir/results"
