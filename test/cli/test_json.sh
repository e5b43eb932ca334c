#!/bin/sh
# Every command that reports takes --json: its output parses as one JSON
# value whose "schema" is 1 (the version its man page lists), whatever
# the exit status (0, or 1 for "no").  A command of `mvc help` that has
# --json must be run here; one without must be listed as a command that
# only acts, so that a new reporting command cannot ship without JSON.
. "$(dirname "$0")/lib.sh"
JGET="$(dirname "$MVC")/tools/jget"

# commands that act and report nothing worth a schema (their exit status
# and messages say what happened)
ACTS_ONLY="init checkout switch clone fetch pull push key gc help"

cd "$T" && "$MVC" init -q repo && cd repo
"$MKMODEL" --tensor 'emb:F32:64x8' --tensor 'bias:F32:8' m.safetensors
"$MVC" commit -q -m one --meta num-examples=10 m.safetensors
"$MKMODEL" --seed 2 --tensor 'emb:F32:64x8' --tensor 'bias:F32:8' m.safetensors
"$MVC" commit -q -m two --meta num-examples=30 m.safetensors
"$MVC" tag v1 HEAD~1
"$MVC" channel set -q production HEAD~1
"$MVC" channel set -q production HEAD
"$MVC" score HEAD~1 -q --record auc=0.7
git init -q --bare "$T/server.git"
"$MVC" remote add origin "$T/server.git"
"$MVC" key generate -o "$T/key" --name tester >/dev/null
printf 'tester %s\n' "$("$MVC" key public "$T/key")" >"$T/trusted"
"$MKMODEL" --seed 3 --tensor 'emb:F32:64x8' --tensor 'bias:F32:8' m.safetensors

# command|arguments (the first word is the command)
cat >"$T/cases" <<EOF
commit|commit --json -m three m.safetensors
status|status --json
log|log --json
log|log --json --channel production
show|show --json HEAD~1
diff|diff --json HEAD~2 HEAD
diff|diff --stat --json HEAD~2 HEAD
score|score --json HEAD~2
score|score --json HEAD --record auc=0.8 --min auc=0.9
branch|branch --json
tag|tag --json
channel|channel list --json
channel|channel log --json production
rollback|rollback --json production
aggregate|aggregate --dry-run --json HEAD~1 HEAD~2
remote|remote list --json
verify|verify --json --trusted $T/trusted HEAD
check|check --json --no-nan HEAD
fsck|fsck --json
du|du --json
prune|prune --json --keep-last 1 --dry-run
EOF

n=0
while IFS='|' read -r name args; do
	n=$((n + 1))
	# shellcheck disable=SC2086
	"$MVC" $args >"$T/out.$n" 2>"$T/err.$n"
	rc=$?
	if [ $rc -gt 1 ]; then
		not_ok "mvc $args: exit $rc"; sed 's/^/#   /' "$T/err.$n"
		continue
	fi
	schema=$("$JGET" schema "$T/out.$n" 2>"$T/jget.err")
	case $? in
	0) if [ "$schema" = 1 ]; then ok "mvc $args: JSON of schema 1 (exit $rc)"
	   else not_ok "mvc $args: schema is '$schema', not 1"; fi ;;
	1) not_ok "mvc $args: JSON without a schema member" ;;
	*) not_ok "mvc $args: not JSON ($(cat "$T/jget.err"))"; head -n 5 "$T/out.$n" | sed 's/^/#   /' ;;
	esac
	if [ -s "$T/out.$n" ] && [ "$(tail -c 1 "$T/out.$n" | od -An -c | tr -d ' ')" != '\n' ]; then
		not_ok "mvc $args: output does not end with a newline"
	fi
done <"$T/cases"

# every command is either run above with --json or only acts
"$MVC" help | awk '/^commands:/ { f = 1; next } f && /^$/ { f = 0 } f && NF { print $1 }' >"$T/cmds"
while read -r cmd; do
	if "$MVC" "$cmd" --help 2>&1 | grep -q -- '--json'; then
		if grep -q "^$cmd|" "$T/cases"; then ok "mvc $cmd --json is tested"
		else not_ok "mvc $cmd has --json but no case here"; fi
		if sed -n '/^\.SH "*JSON OUTPUT"*$/,/^\.SH/p' "$MVC_SRC/man/mvc-$cmd.1" 2>/dev/null |
		    grep -q '"schema": 1'; then ok "mvc-$cmd(1) lists its schema version"
		else not_ok "mvc-$cmd(1) does not show \"schema\": 1 under JSON OUTPUT"; fi
	else
		case " $ACTS_ONLY " in
		*" $cmd "*) ok "mvc $cmd only acts: no --json needed" ;;
		*) not_ok "mvc $cmd has no --json and is not listed as a command that only acts" ;;
		esac
	fi
done <"$T/cmds"

finish
