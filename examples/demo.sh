#!/bin/sh
# The built-in demo (make demo): a recommender retrained every night and
# versioned with mvc.  Every step is real: the model is trained
# (examples/federated/trainer.c: user and item embeddings, a rating is
# their dot product, learnt by SGD on a day's ratings), every score is
# measured on held-out ratings, and what each command prints is what it
# did.  It leaves the repository in ./demo/models (or $DEMO_DIR/models).
#
#   day 1      train, commit, score, deploy to the production channel
#   days 2-5   the users active that day retrain their rows; each version
#              is committed with its metadata, compared with the day
#              before, measured in storage, scored, and deployed only if
#              not worse than production
#   day 6      a corrupted run (ratings joined to the wrong items): the
#              score gate refuses it; deployed by hand anyway, it is
#              rolled back
#   a round    three sites train on their own users, the coordinator
#              averages them (FedAvg) into the next version
set -eu
build=${MVC_BUILD:-$(pwd)/build}
MVC=$build/mvc
TRAINER=$build/examples/trainer
JGET=$build/tools/jget
base=${DEMO_DIR:-$(pwd)/demo}
dir=$base/models
export GIT_AUTHOR_NAME="${GIT_AUTHOR_NAME:-mvc demo}" GIT_AUTHOR_EMAIL="${GIT_AUTHOR_EMAIL:-demo@example.com}"
export GIT_COMMITTER_NAME="$GIT_AUTHOR_NAME" GIT_COMMITTER_EMAIL="$GIT_AUTHOR_EMAIL"
unset MVC_DIR MVC_WORK_TREE

for f in "$MVC" "$TRAINER" "$JGET"; do
	[ -x "$f" ] || { echo "demo.sh: '$f' is missing; run make demo" >&2; exit 2; }
done
start=$(date +%s)

# The recommender: 50,000 users and 5,000 items, 16 dimensions (3.5 MB of
# float32).  Each day, the 10,000 users active that day (a band of rows)
# rate 50 items each.  Held-out ratings of every user, never trained on,
# score it: the root mean squared error, lower is better.
USERS=50000 ITEMS=5000 DIM=16 BAND=10000
RATINGS=$((BAND * 50))
SCORE_CMD="'$TRAINER' eval --seed 99 --examples 20000 {model}"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
say() { printf '%s\n' "$*"; }
# show: print a command as a user would type it (quoted where needed)
show() {
	line='$'
	for a in "$@"; do
		case $a in
		*[!A-Za-z0-9_./:=,@%+~-]* | '') a="'$(printf '%s' "$a" | sed "s/'/'\\\\''/g")'" ;;
		esac
		line="$line $a"
	done
	printf '%s\n' "$line"
}
# run: show a command, then run it
run() { show "$@"; "$@"; }
mvc() { "$MVC" "$@"; }
trainer() { "$TRAINER" "$@"; }
# train DAY FIRST-USER [OPTION...]: a day of training on the model file in place
train() {
	d=$1 u=$2; shift 2
	show trainer train --site-seed $((100 + d)) --examples "$RATINGS" --users-from "$u" \
	    --users-to $((u + BAND)) "$@" model.safetensors model.safetensors
	trainer train --site-seed $((100 + d)) --examples "$RATINGS" --users-from "$u" \
	    --users-to $((u + BAND)) "$@" model.safetensors model.safetensors | sed -n 1p
}
# score REV [GATE...]: evaluate and record; prints the RMSE on the last line
score() {
	rev=$1; shift
	show mvc score "$rev" --eval command --cmd "trainer eval --seed 99 --examples 20000 {model}" "$@"
	if "$MVC" score "$rev" --eval command --cmd "$SCORE_CMD" --json "$@" >"$base/score.json"; then
		rc=0
	else
		rc=$?
	fi
	rmse=$(printf '%.6f' "$("$JGET" score.metrics.rmse "$base/score.json")")
	say "held-out RMSE of $rev: $rmse (recorded with the version)"
	return $rc
}
deploy() {
	run mvc channel set production HEAD -m "$1"
	run mvc checkout -q production -o "$base/serving/model.safetensors"
}

rm -rf "$base"
mkdir -p "$base/serving"

step "A new model repository (a bare git repository in .mvc/)"
run mvc init "$dir"
cd "$dir"
say "(chunks of 256 KiB instead of 1 MiB: a small model still gets many)"
run git --git-dir=.mvc config mvc.chunkSize 262144

step "Day 1: train a new recommender on the first day's ratings, commit, score, deploy"
run trainer init --users "$USERS" --items "$ITEMS" --dim "$DIM" --seed 1 model.safetensors
train 1 0
run mvc commit -m "day 1: first training run" --meta num-examples=$RATINGS --meta users=0-$((BAND - 1)) model.safetensors
score HEAD
prod=$rmse
deploy "day 1: the first model"

day=2
while [ $day -le 5 ]; do
	first=$(((day - 1) * BAND))
	step "Day $day: the users active today retrain their rows; commit, compare, measure, score"
	train $day $first
	run mvc commit -m "day $day: nightly retrain" --meta num-examples=$RATINGS \
	    --meta users=$first-$((first + BAND - 1)) model.safetensors
	say "# what changed since yesterday, from the chunk digests alone:"
	run mvc diff --stat HEAD~1 HEAD
	say "# what today's version cost in storage, against the model's size:"
	run mvc du HEAD
	say "# the gate: deploy only if not worse than production ($prod)"
	if score HEAD --max rmse="$prod"; then
		prod=$rmse
		deploy "day $day: RMSE $rmse"
	else
		say "refused: production stays where it is"
	fi
	day=$((day + 1))
done

step "Day 6: a corrupted run (the day's ratings were joined to the wrong items)"
train 6 0 --world-seed 7
run mvc commit -m "day 6: nightly retrain" --meta num-examples=$RATINGS --meta users=0-$((BAND - 1)) model.safetensors
say "# every tensor moved far more than a day of training moves it:"
run mvc diff HEAD~1 HEAD || :
say "# the gate: deploy only if not worse than production ($prod)"
if score HEAD --max rmse="$prod"; then
	say "the gate let a corrupted model through" >&2
	exit 1
else
	say "refused (exit 1): production stays on day 5"
fi
step "Had someone deployed day 6 by hand anyway: roll production back"
run mvc channel set production HEAD -m "manual deploy of tonight's model"
run mvc rollback production -m "day 6 was trained on corrupted ratings"
run mvc checkout -q production -o "$base/serving/model.safetensors"
run mvc channel log production -n 3
say "# and the branch, so that tomorrow trains on day 5's model, not day 6's:"
run mvc rollback -m "day 6 was trained on corrupted ratings"
run mvc log --oneline -n 4

step "A federated round: three sites train on their own users, the coordinator averages"
say "(each site is a branch of this repository here; examples/federated/round.sh"
say " runs the same round through a git server)"
for site in "a 211 0 16667" "b 212 16667 33334" "c 213 33334 50000"; do
	set -- $site
	run mvc switch -q --create "sites/$1" main
	show trainer train --site-seed "$2" --examples 300000 --users-from "$3" --users-to "$4" \
	    --epochs 3 model.safetensors model.safetensors
	trainer train --site-seed "$2" --examples 300000 --users-from "$3" --users-to "$4" \
	    --epochs 3 model.safetensors model.safetensors | sed -n 1p
	run mvc commit -q -m "site $1: local training" --meta num-examples=300000 model.safetensors
done
run mvc switch -q main
run mvc aggregate -m "round 1: FedAvg of sites a, b, c" sites/a sites/b sites/c
say "# (an input whose update is far from the others' is flagged; FedAvg still"
say "#  weighs it by its num-examples: see mvc-aggregate(1) for robust methods)"
if score HEAD --max rmse="$prod"; then
	prod=$rmse
	deploy "round 1: RMSE $rmse"
else
	say "refused: production stays where it is"
fi

step "History: versions, deployments, scores"
run mvc log --oneline
run git --git-dir=.mvc log --graph --oneline -n 8
run mvc channel log production -n 4
run mvc score production

step "Storage: what each version cost, and the upkeep a nightly job runs"
run mvc du
run mvc gc
say "# a retention policy, tried first: keep the data of each branch's last 2 versions"
say "# and of what production serves; the others keep their history and scores"
run mvc prune --keep-last 2 --dry-run
run mvc fsck --full
run git --git-dir=.mvc fsck --full --strict

step "Production, bit for bit"
if cmp -s "$base/serving/model.safetensors" model.safetensors; then
	say "the served file equals the current version's model.safetensors, byte for byte"
else
	say "production serves $(mvc log --oneline -n 1 production | cut -c1-12), an earlier version than HEAD"
fi
rm -f "$base/score.json"

step "Done in $(($(date +%s) - start)) s. Explore: cd $dir && $MVC log"
