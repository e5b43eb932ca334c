#!/bin/sh
# A federated round, end to end, through a git server.
#
#   examples/federated/round.sh [URL]
#
# A coordinator creates the global model (a matrix-factorisation
# recommender) and pushes it; three sites clone it, each trains it on its
# own ratings (examples/federated/trainer.c), commits with its
# num-examples and pushes to sites/<name>; the coordinator fetches,
# averages the three with FedAvg (mvc aggregate), scores the result
# against the previous global model on held-out ratings, moves the
# production channel only if it is not worse (else rolls the branch
# back), and pushes; the sites pull the new global model.
#
# With no URL the script serves an empty repository with git daemon on
# 127.0.0.1 itself, and stops it at the end.  Nothing else is contacted.
#
#   MVC      the mvc binary            (default: build/mvc of this tree)
#   TRAINER  the trainer               (default: build/examples/trainer)
#   WORK     where the repositories go (default: a new directory in $TMPDIR)
#   POISON   a site (a, b or c) whose ratings come from another world:
#            its model makes the average worse, and the round is refused
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
MVC=${MVC:-$root/build/mvc}
TRAINER=${TRAINER:-$root/build/examples/trainer}
WORK=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/mvc-federated.XXXXXX")}
POISON=${POISON:-}
URL=${1:-}
export GIT_AUTHOR_NAME="${GIT_AUTHOR_NAME:-federated example}"
export GIT_AUTHOR_EMAIL="${GIT_AUTHOR_EMAIL:-fl@example.com}"
export GIT_COMMITTER_NAME="$GIT_AUTHOR_NAME" GIT_COMMITTER_EMAIL="$GIT_AUTHOR_EMAIL"
export GIT_TERMINAL_PROMPT=0

USERS=300 ITEMS=200 DIM=8
# held-out ratings: every user, a seed no site trains with
EVAL_ARGS="eval --seed 99 --examples 3000"

step() { printf '\n== %s\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
say() { printf '%s\n' "$*"; }

for f in "$MVC" "$TRAINER"; do
	[ -x "$f" ] || { echo "round.sh: '$f' is missing; run make first" >&2; exit 2; }
done
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)

# ---- the server ----
daemon_pid=
stop_daemon() {
	if [ -n "$daemon_pid" ]; then
		kill "$daemon_pid" 2>/dev/null || :
		wait "$daemon_pid" 2>/dev/null || :
		daemon_pid=
	fi
}
trap stop_daemon EXIT
trap 'stop_daemon; exit 130' INT TERM
if [ -z "$URL" ]; then
	step "A git server: git daemon on 127.0.0.1, pushes enabled"
	mkdir -p "$WORK/server"
	git init -q --bare --initial-branch=main "$WORK/server/models.git"
	gd="$(git --exec-path)/git-daemon"
	port=$((20000 + ($$ * 41) % 40000)) try=0
	while [ -z "$daemon_pid" ] && [ $try -lt 25 ]; do
		"$gd" --reuseaddr --informative-errors --base-path="$WORK/server" --export-all \
		    --enable=receive-pack --listen=127.0.0.1 --port=$port "$WORK/server" \
		    2>"$WORK/server/daemon.log" &
		pid=$! n=0
		while [ $n -lt 50 ] && kill -0 $pid 2>/dev/null; do
			if git ls-remote "git://127.0.0.1:$port/models.git" >/dev/null 2>&1; then
				daemon_pid=$pid
				break
			fi
			sleep 0.1
			n=$((n + 1))
		done
		if [ -z "$daemon_pid" ]; then
			kill $pid 2>/dev/null || :
			wait $pid 2>/dev/null || :
			port=$((port + 1)) try=$((try + 1))
		fi
	done
	[ -n "$daemon_pid" ] || { echo "round.sh: cannot start git daemon on 127.0.0.1" >&2; exit 2; }
	URL="git://127.0.0.1:$port/models.git"
	say "serving $WORK/server/models.git at $URL"
fi

# ---- scoring: mvc score when this mvc has it ----
if "$MVC" score --help >/dev/null 2>&1; then
	SCORE=mvc
else
	SCORE=trainer
fi
# score REV: print the held-out RMSE of version REV (recorded in history by mvc score)
score() {
	if [ $SCORE = mvc ]; then
		"$MVC" score "$1" --eval command --cmd "'$TRAINER' $EVAL_ARGS {model}" --json |
		    sed -n 's/^ *"rmse": *\([-+0-9.eE]*\),*$/\1/p' | head -n 1
	else
		"$MVC" checkout -q -o "$WORK/score.safetensors" "$1"
		# shellcheck disable=SC2086
		"$TRAINER" $EVAL_ARGS "$WORK/score.safetensors" | sed -n 's/.*"rmse": *\([-+0-9.eE]*\).*/\1/p'
		rm -f "$WORK/score.safetensors"
	fi
}

# ---- round 0: the coordinator ----
step "Coordinator: a new global model ($USERS users, $ITEMS items, $DIM dimensions), committed and pushed"
run "$MVC" init -q "$WORK/coordinator"
cd "$WORK/coordinator"
"$TRAINER" init --users $USERS --items $ITEMS --dim $DIM --seed 1 model.safetensors
run "$MVC" commit -m "global model, round 0" model.safetensors
run "$MVC" channel set production HEAD -m "round 0: the initial model"
run "$MVC" remote add origin "$URL"
run "$MVC" push

# ---- the sites ----
# name, seed, ratings, first user, last user + 1: each site its own data
for site in "a 11 3000 0 150" "b 12 5000 75 225" "c 13 8000 150 300"; do
	set -- $site
	name=$1
	world=1
	if [ "$name" = "$POISON" ]; then
		world=7
	fi
	step "Site $name: clone, train on its own $3 ratings (users $4..$(($5 - 1))), commit, push to sites/$name"
	[ $world = 1 ] || say "(site $name is poisoned: its ratings come from another world)"
	run "$MVC" clone -q "$URL" "$WORK/site-$name"
	cd "$WORK/site-$name"
	out=$("$TRAINER" train --site-seed "$2" --examples "$3" --users-from "$4" --users-to "$5" \
	    --world-seed $world model.safetensors model.safetensors)
	say "$out"
	n=$(printf '%s\n' "$out" | sed -n 's/^num-examples=//p')
	run "$MVC" commit -m "site $name, round 1: $n ratings" --meta num-examples="$n"
	run "$MVC" push origin HEAD:sites/"$name"
done

# ---- the coordinator aggregates ----
step "Coordinator: fetch the sites' versions, average them (FedAvg, weighted by num-examples)"
cd "$WORK/coordinator"
run "$MVC" fetch
run "$MVC" aggregate -m "round 1: FedAvg of sites a, b, c" origin/sites/a origin/sites/b origin/sites/c

step "Coordinator: score the new global model against the previous one on held-out ratings"
if [ $SCORE = mvc ]; then
	say "(mvc score --eval command runs the trainer's evaluator; the scores go into history as notes)"
else
	say "(this mvc has no 'mvc score' (issue 8): the trainer's evaluator scores the models;"
	say " the scores are not recorded in history, and mvc diff shows how far the model moved)"
fi
old=$(score HEAD~1)
new=$(score HEAD)
old4=$(awk -v x="$old" 'BEGIN { printf "%.4f", x }')
new4=$(awk -v x="$new" 'BEGIN { printf "%.4f", x }')
say "held-out RMSE: previous global $old4, new global $new4 (lower is better)"
run "$MVC" diff HEAD~1 HEAD
if awk -v o="$old" -v n="$new" 'BEGIN { exit !(n != "" && o != "" && n + 0 <= o + 0) }'; then
	step "Not worse: production moves to the new global model"
	run "$MVC" channel set production HEAD -m "round 1: held-out RMSE $old4 -> $new4"
	decision=deployed
else
	step "Worse: production stays; the branch goes back to the previous global model"
	run "$MVC" rollback -m "round 1: held-out RMSE $old4 -> $new4, worse"
	decision=refused
fi
run "$MVC" push

# ---- the sites take the new global model ----
for name in a b c; do
	step "Site $name: pull the global model for the next round"
	cd "$WORK/site-$name"
	run "$MVC" pull
	if cmp -s model.safetensors "$WORK/coordinator/model.safetensors"; then
		say "site $name has the coordinator's model, bit for bit"
	else
		say "site $name's model differs from the coordinator's" >&2
		exit 1
	fi
done

step "History on the coordinator"
cd "$WORK/coordinator"
run git --git-dir=.mvc log --graph --oneline main
run "$MVC" channel log production
if [ $SCORE = mvc ]; then
	run "$MVC" score HEAD~1
	run "$MVC" score main
fi
say
say "round 1: $decision (held-out RMSE $old4 -> $new4); repositories in $WORK"
