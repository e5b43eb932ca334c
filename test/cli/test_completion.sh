#!/bin/sh
# What the completion scripts offer where a command takes a revision, a
# branch, a tag, a channel or a tensor name, against a real repository:
# bash's _mvc driven through COMP_WORDS and COMP_CWORD, fish's engine
# through complete -C; zsh and fish load their scripts without error.
# (test_docs.sh checks commands and options against --help.)
. "$(dirname "$0")/lib.sh"

S=$MVC_SRC
BASHC=$S/completions/mvc.bash
ZSHC=$S/completions/_mvc
FISHC=$S/completions/mvc.fish
# tensor names come from the mvc being completed: put it on PATH
PATH=$(cd "$(dirname "$MVC")" && pwd):$PATH
export PATH

cd "$T" && "$MVC" init -q repo && cd repo
"$MKMODEL" --tensor 'encoder/emb.weight:F32:16x4' --tensor 'decoder.out:F32:4' m.safetensors
"$MVC" commit -q -m one m.safetensors
"$MKMODEL" --tensor 'encoder/emb.weight:F32:16x4' --tensor 'head.w:F32:4' m.safetensors
"$MVC" commit -q -m two m.safetensors
"$MVC" tag v1 HEAD~1
"$MVC" branch staging HEAD~1
"$MVC" channel set -q production HEAD~1
"$MVC" channel set -q canary/eu HEAD
mkdir sub

# comp DIR WORD...: bash's answers for the last word, one per line
comp() {
	cdir=$1; shift
	(cd "$cdir" && bash -c '
		. "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=()
		_mvc
		for w in "${COMPREPLY[@]}"; do printf "%s\n" "$w"; done' _ "$BASHC" "$@")
}
# want DESC EXPECTED... [! UNWANTED...] -- DIR WORD...
want() {
	desc=$1; shift
	exp="" unexp="" neg=0
	while [ "$1" != -- ]; do
		if [ "$1" = ! ]; then neg=1
		elif [ $neg = 1 ]; then unexp="$unexp $1"
		else exp="$exp $1"; fi
		shift
	done
	shift
	comp "$@" >"$T/comp.out" 2>"$T/comp.err"
	bad=""
	for e in $exp; do grep -qxF -- "$e" "$T/comp.out" || bad="$bad missing:$e"; done
	for e in $unexp; do grep -qxF -- "$e" "$T/comp.out" && bad="$bad unwanted:$e"; done
	[ -s "$T/comp.err" ] && bad="$bad stderr:$(head -c 200 "$T/comp.err")"
	if [ -z "$bad" ]; then ok "bash: $desc"
	else not_ok "bash: $desc ($bad; got: $(tr '\n' ' ' <"$T/comp.out"))"; fi
}
R=$T/repo

if command -v bash >/dev/null 2>&1; then
	# revisions: HEAD, branches, tags and channels
	want "du completes revisions" HEAD main staging v1 production canary/eu -- "$R" mvc du ""
	want "du completes more than one revision" main v1 -- "$R" mvc du main ""
	want "du completes a prefix" staging ! main v1 -- "$R" mvc du st
	want "show completes revisions, from a subdirectory" HEAD main v1 production -- "$R/sub" mvc show ""
	want "diff completes two revisions" staging production -- "$R" mvc diff main ""
	want "score completes the version to score" main production -- "$R" mvc score ""
	want "check completes the version to check" v1 -- "$R" mvc check ""
	want "check --against completes revisions" main staging -- "$R" mvc check --against ""
	want "aggregate completes its inputs" main staging canary/eu -- "$R" mvc aggregate main ""
	want "rollback --to completes revisions" v1 -- "$R" mvc rollback production --to ""
	# branches only, tags only, channels only
	want "switch completes branches" main staging ! v1 production -- "$R" mvc switch ""
	want "branch -d completes branches" staging ! v1 -- "$R" mvc branch -d ""
	want "tag -d completes tags" v1 ! main -- "$R" mvc tag -d ""
	want "rollback completes channels" production canary/eu ! main v1 -- "$R" mvc rollback ""
	want "channel set completes channels" production canary/eu ! main -- "$R" mvc channel set ""
	want "channel set <name> completes revisions" main v1 -- "$R" mvc channel set production ""
	want "channel log completes channels" canary/eu -- "$R" mvc channel log c
	want "log --channel completes channels" production ! main -- "$R" mvc log --channel ""
	want "log --channel=<TAB> completes channels" production -- "$R" mvc log --channel = ""
	# tensor names, from the version the command names first
	want "score --items completes HEAD's tensors" encoder/emb.weight head.w ! decoder.out -- "$R" mvc score --eval retrieval --items ""
	want "score --users completes the named version's tensors" decoder.out ! head.w -- "$R" mvc score v1 --eval retrieval --users ""
	want "score --items completes a prefix" encoder/emb.weight ! head.w -- "$R" mvc score --items enc
	want "aggregate --exclude completes the first input's tensors" decoder.out encoder/emb.weight ! head.w -- "$R" mvc aggregate staging main --exclude ""
	want "aggregate --exclude=<TAB> too" head.w -- "$R" mvc aggregate --exclude = ""
	want "-C finds the repository for tensors" head.w -- "$T" mvc -C repo score --items ""
	want "no tensors outside a repository" ! head.w -- "$T" mvc score --items ""
	# option values of gc; nothing after prune's options
	want "gc --prune completes dates" now never 2.weeks.ago -- "$R" mvc gc --prune ""
	want "gc --prune=<TAB> completes dates" now -- "$R" mvc gc --prune = n
	comp "$R" mvc prune --keep-last "" >"$T/comp.out"
	if [ -s "$T/comp.out" ]; then not_ok "bash: prune --keep-last <n> completes nothing"
	else ok "bash: prune --keep-last <n> completes nothing"; fi
	comp "$R" mvc gc "" >"$T/comp.out"
	if [ -s "$T/comp.out" ]; then not_ok "bash: gc takes no arguments"
	else ok "bash: gc takes no arguments"; fi
else
	skip "bash is not installed: bash completion not driven"
fi

# zsh: the script parses, loads after compinit and registers _mvc.
if command -v zsh >/dev/null 2>&1; then
	check "zsh -n _mvc" zsh -n "$ZSHC"
	out=$(cd "$T" && zsh -f -c 'autoload -U compinit; compinit -u -d "$1/.zcompdump"; source "$2"; print -r -- ${_comps[mvc]}; (( $+functions[_mvc_tensors] )) && print tensors' _ "$T" "$ZSHC" 2>&1)
	if [ "$out" = "_mvc
tensors" ]; then ok "zsh: _mvc loads without error, with its tensor completer"
	else not_ok "zsh: _mvc loads without error"; echo "$out" | sed 's/^/#   /'; fi
else
	skip "zsh is not installed: _mvc not loaded"
fi

# fish: the script parses and loads, and its engine completes from it.
if command -v fish >/dev/null 2>&1; then
	check "fish -n mvc.fish" fish -n "$FISHC"
	out=$(fish -c 'source $argv[1]' "$FISHC" 2>&1)
	if [ -z "$out" ]; then ok "fish: mvc.fish loads without error"
	else not_ok "fish: mvc.fish loads without error"; echo "$out" | sed 's/^/#   /'; fi
	# fwant DESC DIR LINE EXPECTED...
	fwant() {
		d=$1 dir=$2 line=$3; shift 3
		(cd "$dir" && fish -c 'source $argv[1]; complete -C $argv[2]' "$FISHC" "$line" 2>&1) |
		    cut -f1 >"$T/fcomp.out"
		miss=""
		for e in "$@"; do grep -qxF -- "$e" "$T/fcomp.out" || miss="$miss $e"; done
		if [ -z "$miss" ]; then ok "fish: $d"
		else not_ok "fish: $d (missing:$miss; got: $(tr '\n' ' ' <"$T/fcomp.out"))"; fi
	}
	fwant "du completes revisions" "$R" "mvc du " HEAD main v1 production
	fwant "rollback completes channels" "$R" "mvc rollback " production canary/eu
	fwant "switch completes branches" "$R" "mvc switch " main staging
	fwant "score --items completes tensors" "$R" "mvc score --items " encoder/emb.weight head.w
	fwant "score --users completes the named version's tensors" "$R" "mvc score v1 --users " decoder.out
	fwant "aggregate --exclude completes tensors" "$R" "mvc aggregate staging main --exclude " decoder.out
	fwant "gc --prune completes dates" "$R" "mvc gc --prune " now never
else
	skip "fish is not installed: mvc.fish not checked"
fi

finish
