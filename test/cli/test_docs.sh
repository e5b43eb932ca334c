#!/bin/sh
# The manual pages and shell completions against the binary: every command
# of `mvc help` has a page whose SYNOPSIS holds its usage lines verbatim,
# every long option of `mvc <command> --help` is documented and completed,
# and the completion scripts load and complete commands, options and
# revisions.
. "$(dirname "$0")/lib.sh"

S=$MVC_SRC
MAN=$S/man
BASHC=$S/completions/mvc.bash
ZSHC=$S/completions/_mvc
FISHC=$S/completions/mvc.fish

# A page's text with roff's escaped hyphen "\-" turned into "-".
unescape() { sed 's/\\-/-/g' "$1"; }
# Does file $2 hold the option $1 as a whole word ("--file", not "--file-x")?
has_opt() { grep -qE -- "$1([^a-zA-Z0-9-]|\$)" "$2"; }

"$MVC" help >"$T/help.txt"
awk '/^commands:/ { f = 1; next } f && /^$/ { f = 0 } f && NF { print $1 }' \
    "$T/help.txt" >"$T/cmds"
if [ -s "$T/cmds" ]; then ok "mvc help lists commands"; else not_ok "mvc help lists commands"; fi

for f in "$BASHC" "$ZSHC" "$FISHC" "$MAN/mvc.1" "$MAN/mvc-format.5"; do
	check "$(basename "$f") exists" test -s "$f"
done

# mvc.1: the main synopsis, and a reference to every command's page.
unescape "$MAN/mvc.1" >"$T/mvc.1.txt"
sed -n 's/^usage: //p' "$T/help.txt" >"$T/main.syn"
while IFS= read -r line; do
	if grep -qxF -- "$line" "$T/mvc.1.txt"; then ok "mvc.1 synopsis: $line"
	else not_ok "mvc.1 synopsis lacks: $line"; fi
done <"$T/main.syn"
while read -r cmd; do
	if grep -qF -- "mvc-$cmd (1)" "$T/mvc.1.txt"; then ok "mvc.1 refers to mvc-$cmd(1)"
	else not_ok "mvc.1 does not refer to mvc-$cmd(1)"; fi
done <"$T/cmds"

# Each command: its page, synopsis lines, sections and options.
while read -r cmd; do
	page=$MAN/mvc-$cmd.1
	if [ ! -f "$page" ]; then
		not_ok "man/mvc-$cmd.1 exists"
		continue
	fi
	ok "man/mvc-$cmd.1 exists"
	unescape "$page" >"$T/page.txt"
	sed -n '/^\.SH "*OPTIONS"*$/,/^\.SH/p' "$T/page.txt" >"$T/page.opts"
	"$MVC" "$cmd" --help >"$T/cmd.help" 2>&1
	sed -n 's/^usage: //p; s/^ *or: //p' "$T/cmd.help" >"$T/cmd.syn"
	if [ -s "$T/cmd.syn" ]; then ok "mvc $cmd --help has a synopsis"
	else not_ok "mvc $cmd --help has a synopsis"; fi
	while IFS= read -r line; do
		if grep -qxF -- "$line" "$T/page.txt"; then ok "mvc-$cmd.1 synopsis: $line"
		else not_ok "mvc-$cmd.1 synopsis lacks the line: $line"; fi
	done <"$T/cmd.syn"
	for sec in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" EXAMPLES "SEE ALSO"; do
		if grep -qx ".SH \"*$sec\"*" "$T/page.txt"; then ok "mvc-$cmd.1 has $sec"
		else not_ok "mvc-$cmd.1 lacks the section $sec"; fi
	done
	if has_opt --json "$T/cmd.help"; then
		if grep -qx '.SH "*JSON OUTPUT"*' "$T/page.txt"; then ok "mvc-$cmd.1 documents --json"
		else not_ok "mvc-$cmd.1 has --json but no JSON OUTPUT section"; fi
	fi
	grep -oE -- '--[a-z][a-z0-9-]*' "$T/cmd.help" | sort -u >"$T/cmd.opts"
	while read -r opt; do
		if has_opt "$opt" "$T/page.opts"; then ok "mvc-$cmd.1 documents $opt"
		else not_ok "mvc-$cmd.1 does not document $opt under OPTIONS"; fi
		if has_opt "$opt" "$BASHC"; then ok "mvc.bash has $cmd $opt"
		else not_ok "mvc.bash lacks $cmd $opt"; fi
		if has_opt "$opt" "$ZSHC"; then ok "_mvc has $cmd $opt"
		else not_ok "_mvc lacks $cmd $opt"; fi
		if grep -qE -- "-l ${opt#--}([^a-zA-Z0-9-]|\$)" "$FISHC"; then ok "mvc.fish has $cmd $opt"
		else not_ok "mvc.fish lacks $cmd $opt"; fi
	done <"$T/cmd.opts"
done <"$T/cmds"

# Every page renders without warnings, and its mvc references exist.
for page in "$MAN"/*.[0-9]; do
	name=$(basename "$page")
	if command -v groff >/dev/null 2>&1; then
		groff -man -ww -z "$page" >"$T/groff.out" 2>&1
		if [ -s "$T/groff.out" ]; then not_ok "$name renders without warnings"; sed 's/^/#   /' "$T/groff.out"
		else ok "$name renders without warnings"; fi
	fi
	unescape "$page" | grep -oE '^\.BR mvc(-[a-z]+)? \([0-9]\)' | sort -u >"$T/refs"
	while read -r _ ref sect; do
		sect=${sect#(}; sect=${sect%)}
		if [ -f "$MAN/$ref.$sect" ]; then ok "$name: $ref($sect) exists"
		else not_ok "$name refers to $ref($sect), which does not exist"; fi
	done <"$T/refs"
done
command -v groff >/dev/null 2>&1 || skip "groff is not installed: pages not rendered"

# A repository with a branch and a tag, for revision completion (git
# plumbing only: completion needs refs, not models).
cd "$T"
"$MVC" init -q repo
git --git-dir=repo/.mvc config user.name t && git --git-dir=repo/.mvc config user.email t@e
tree=$(git --git-dir=repo/.mvc mktree </dev/null)
c=$(echo v | git --git-dir=repo/.mvc commit-tree "$tree")
git --git-dir=repo/.mvc update-ref refs/heads/main "$c"
git --git-dir=repo/.mvc tag v1 "$c"
git --git-dir=repo/.mvc branch staging "$c"
mkdir -p repo/sub
: >repo/model.safetensors

# bash: drive _mvc as bash would, then read COMPREPLY.
if command -v bash >/dev/null 2>&1; then
	check "bash -n mvc.bash" bash -n "$BASHC"
	# comp DIR WORD...: the completions of the words (the last is the cursor's)
	comp() {
		cdir=$1; shift
		(cd "$cdir" && bash -c '
			. "$1"; shift
			COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=()
			_mvc
			for w in "${COMPREPLY[@]}"; do printf "%s\n" "$w"; done' _ "$BASHC" "$@")
	}
	# want DESC EXPECTED... -- DIR WORD...
	want() {
		desc=$1; shift
		exp=""
		while [ "$1" != -- ]; do exp="$exp $1"; shift; done
		shift
		comp "$@" >"$T/comp.out" 2>"$T/comp.err"
		miss=""
		for e in $exp; do grep -qxF -- "$e" "$T/comp.out" || miss="$miss $e"; done
		if [ -z "$miss" ]; then ok "bash: $desc"
		else not_ok "bash: $desc (missing:$miss; got: $(tr '\n' ' ' <"$T/comp.out"))"; fi
	}
	want "mvc c completes checkout and commit" checkout commit -- "$T" mvc c
	want "mvc commit --me completes --message and --meta" --message --meta -- "$T" mvc commit --me
	want "mvc <TAB> lists every command" $(cat "$T/cmds") -- "$T" mvc ""
	want "mvc help <TAB> lists every command" $(cat "$T/cmds") -- "$T" mvc help ""
	while read -r cmd; do
		"$MVC" "$cmd" --help 2>&1 | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u >"$T/cmd.opts"
		want "mvc $cmd -- completes its options" $(cat "$T/cmd.opts") -- "$T" mvc "$cmd" --
	done <"$T/cmds"
	want "checkout completes branches and tags" HEAD main staging v1 -- "$T/repo/sub" mvc checkout ""
	want "log completes a revision prefix" v1 -- "$T/repo" mvc log v
	want "log -n <count> still completes revisions" main -- "$T/repo" mvc log -n 3 m
	want "-C finds the repository" main v1 -- "$T" mvc -C repo show ""
	want "checkout completes files after the revision" model.safetensors -- "$T/repo" mvc checkout main m
	want "commit completes files" model.safetensors -- "$T/repo" mvc commit -m x m
	want "--file=<TAB> completes files" model.safetensors -- "$T/repo" mvc commit --file = m
	comp "$T/repo" mvc commit "" >"$T/comp.out"
	if grep -qx '.mvc' "$T/comp.out"; then not_ok "bash: files leave out .mvc"
	else ok "bash: files leave out .mvc"; fi
	comp "$T/repo" mvc log main "" >"$T/comp.out"
	if [ -s "$T/comp.out" ]; then not_ok "bash: log takes one revision only"
	else ok "bash: log takes one revision only"; fi
	(cd "$T/repo" && MVC_DIR="$T/repo/.mvc" && export MVC_DIR && cd / && bash -c '
		. "$1"; COMP_WORDS=(mvc log ""); COMP_CWORD=2; _mvc
		for w in "${COMPREPLY[@]}"; do printf "%s\n" "$w"; done' _ "$BASHC") >"$T/comp.out"
	if grep -qx staging "$T/comp.out"; then ok "bash: MVC_DIR names the store"
	else not_ok "bash: MVC_DIR names the store"; fi
else
	skip "bash is not installed: bash completion not driven"
fi

# zsh: the script loads after compinit and registers _mvc.
if command -v zsh >/dev/null 2>&1; then
	check "zsh -n _mvc" zsh -n "$ZSHC"
	out=$(cd "$T" && zsh -f -c 'autoload -U compinit; compinit -u -d "$1/.zcompdump"; source "$2"; print -r -- ${_comps[mvc]}' _ "$T" "$ZSHC" 2>&1)
	if [ "$out" = _mvc ]; then ok "zsh: _mvc loads and completes mvc"
	else not_ok "zsh: _mvc loads and completes mvc"; echo "$out" | sed 's/^/#   /'; fi
	while read -r cmd; do
		if grep -qE "^ +$cmd\)" "$ZSHC" && grep -qE "'$cmd:" "$ZSHC"; then ok "_mvc handles $cmd"
		else not_ok "_mvc does not handle $cmd"; fi
	done <"$T/cmds"
else
	skip "zsh is not installed: _mvc not loaded"
fi

# fish: the script parses, and fish's own engine completes from it.
if command -v fish >/dev/null 2>&1; then
	check "fish -n mvc.fish" fish -n "$FISHC"
	fcomp() { # dir, command line
		(cd "$1" && fish -c 'source $argv[1]; complete -C $argv[2]' "$FISHC" "$2" 2>&1) |
		    cut -f1 >"$T/fcomp.out"
	}
	while read -r cmd; do
		fcomp "$T" "mvc $cmd --"
		"$MVC" "$cmd" --help 2>&1 | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u >"$T/cmd.opts"
		miss=""
		while read -r opt; do grep -qxF -- "$opt" "$T/fcomp.out" || miss="$miss $opt"; done <"$T/cmd.opts"
		if [ -z "$miss" ]; then ok "fish: mvc $cmd -- completes its options"
		else not_ok "fish: mvc $cmd -- lacks$miss"; fi
		fcomp "$T" "mvc "
		if grep -qxF -- "$cmd" "$T/fcomp.out"; then ok "fish: mvc completes $cmd"
		else not_ok "fish: mvc does not complete $cmd"; fi
	done <"$T/cmds"
	fcomp "$T/repo/sub" "mvc checkout "
	if grep -qx main "$T/fcomp.out" && grep -qx v1 "$T/fcomp.out"; then ok "fish: checkout completes branches and tags"
	else not_ok "fish: checkout completes branches and tags (got: $(tr '\n' ' ' <"$T/fcomp.out"))"; fi
	fcomp "$T/repo" "mvc checkout main m"
	if grep -qx model.safetensors "$T/fcomp.out"; then ok "fish: checkout completes files after the revision"
	else not_ok "fish: checkout completes files after the revision"; fi
else
	skip "fish is not installed: mvc.fish not checked"
fi

finish
