# bash completion for mvc(1)
#
# Install as mvc in bash-completion's completions directory, or source it.
# The option lists mirror the option tables of cmd/*.c; test/cli/test_docs.sh
# checks them against `mvc <command> --help`.

# The store (.mvc) of the repository around directory $1 (default: $PWD),
# found as mvc finds it: $MVC_DIR, else .mvc in the directory or a parent.
_mvc_store()
{
	local d=${1:-$PWD}

	if [[ -n ${MVC_DIR-} ]]; then
		printf '%s\n' "$MVC_DIR"
		return 0
	fi
	[[ $d == /* ]] || d=$PWD/$d
	while :; do
		if [[ -d $d/.mvc ]]; then
			printf '%s\n' "$d/.mvc"
			return 0
		fi
		[[ -z $d || $d == / ]] && return 1
		d=${d%/*}
	done
}

# Branches, tags and channels of the repository around directory $1.
_mvc_revs()
{
	local store

	store=$(_mvc_store "$1") || return 0
	printf '%s\n' HEAD
	git --git-dir="$store" for-each-ref --format='%(refname:short)' \
		refs/heads refs/tags 2>/dev/null
	git --git-dir="$store" for-each-ref --format='%(refname:strip=3)' \
		refs/mvc/channels 2>/dev/null
}

# Channels (refs/mvc/channels/*) of the repository around directory $1.
_mvc_channels()
{
	local store

	store=$(_mvc_store "$1") || return 0
	git --git-dir="$store" for-each-ref --format='%(refname:strip=3)' \
		refs/mvc/channels 2>/dev/null
}

# Refs under $2 ("refs/heads", "refs/tags") of the repository around $1.
_mvc_refs()
{
	local store

	store=$(_mvc_store "$1") || return 0
	git --git-dir="$store" for-each-ref --format='%(refname:strip=2)' "$2" 2>/dev/null
}

# Remotes of the repository around directory $1 (remote.<name>.url).
_mvc_remotes()
{
	local store

	store=$(_mvc_store "$1") || return 0
	git --git-dir="$store" config --get-regexp '^remote\..*\.url$' 2>/dev/null |
		sed -e 's/^remote\.//' -e 's/\.url .*//'
}

# The branch names of the remotes, as last fetched (pull's <branch>).
_mvc_remote_branches()
{
	local store

	store=$(_mvc_store "$1") || return 0
	git --git-dir="$store" for-each-ref --format='%(refname:strip=3)' refs/remotes 2>/dev/null |
		sort -u
}

# The tensor names of version $2 (default HEAD) in the repository around
# directory $1, from `mvc show --json`: for score's --items and --users
# and aggregate's --exclude.  The mvc run is the one being completed.
_mvc_tensors()
{
	local mvc=${COMP_WORDS[0]:-mvc} args=()

	[[ -n $1 ]] && args=(-C "$1")
	"$mvc" "${args[@]}" show --json "${2:-HEAD}" 2>/dev/null | awk '
		/^ *"name": / { n = $0; next }
		/^ *"dtype": / && n != "" {
			sub(/^ *"name": "/, "", n); sub(/",?$/, "", n)
			gsub(/\\"/, "\"", n); gsub(/\\\\/, "\\", n)
			print n
		}
		{ n = "" }'
}

# The first argument after the command (skipping options and their
# values): the revision whose tensors --items or --exclude names.
_mvc_first_arg()
{
	local i=$((cmdi + 1)) w

	while ((i < COMP_CWORD)); do
		w=${COMP_WORDS[i]}
		if [[ $w == = ]]; then
			i=$((i + 1))
		elif [[ $argopts == *" $w "* ]]; then
			[[ ${COMP_WORDS[i+1]-} == = ]] && i=$((i + 1))
			i=$((i + 1))
		elif [[ $w == -- ]]; then
			return 0
		elif [[ $w != -* ]]; then
			printf '%s\n' "$w"
			return 0
		fi
		i=$((i + 1))
	done
}

# Options of each command (long and short), and those that take a value.
_mvc_opts()
{
	case $1 in
	init)     echo "--quiet -q --help -h" ;;
	commit)   echo "--message -m --file -F --meta --allow-empty --rehash --format --retry --sign --key --passphrase-fd --passphrase-env --no-verify --quiet -q --json --progress --no-progress --help -h" ;;
	status)   echo "--json --rehash --exit-code --quiet -q --help -h" ;;
	log)      echo "--oneline --max-count -n --channel --json --help -h" ;;
	show)     echo "--summary -s --json --help -h" ;;
	diff)     echo "--stat --json --exit-code --tolerance --sort --top --verbose -v --quiet -q --no-index --format --help -h" ;;
	score)    echo "--eval --test --file --items --users --history --k --dot --layers --layout --cmd --record --source --min --max --compare --resamples --seed --fail-if-worse --dry-run -n --quiet -q --json --help -h" ;;
	checkout) echo "--output -o --dir --tensor --dtype --force -f --quiet -q --progress --no-progress --help -h" ;;
	branch)   echo "--delete -d --force -f --json --help -h" ;;
	switch)   echo "--create -c --force -f --quiet -q --help -h" ;;
	tag)      echo "--message -m --delete -d --json --help -h" ;;
	channel)  echo "--message -m --retry --max-count -n --quiet -q --json --sign --key --passphrase-fd --passphrase-env --help -h" ;;
	rollback) echo "--to --steps --to-last-good --min --max --test --message -m --retry --force -f --sign --key --passphrase-fd --passphrase-env --quiet -q --json --help -h" ;;
	aggregate) echo "--method --weights --trim --byzantine --alpha --lambda --base --clip --noise-multiplier --seed --exclude --int-policy --dry-run --no-checkout --json --message -m --sign --key --passphrase-fd --passphrase-env --quiet -q --help -h" ;;
	clone)    echo "--branch -b --quiet -q --progress --no-progress --help -h" ;;
	fetch)    echo "--quiet -q --progress --no-progress --help -h" ;;
	pull)     echo "--force -f --quiet -q --progress --no-progress --help -h" ;;
	push)     echo "--dry-run -n --quiet -q --progress --no-progress --help -h" ;;
	remote)   echo "--json --help -h" ;;
	key)      echo "--output -o --name --passphrase-fd --passphrase-env --help -h" ;;
	verify)   echo "--trusted --quiet -q --json --help -h" ;;
	check)    echo "--no-nan --same-shapes-as --max-relative-change --against --json --help -h" ;;
	fsck)     echo "--full --progress --no-progress --quiet -q --json --help -h" ;;
	du)       echo "--json --help -h" ;;
	gc)       echo "--prune --quiet -q --help -h" ;;
	prune)    echo "--keep-last --keep-channels --keep-tagged --dry-run -n --json --help -h" ;;
	help)     echo "--help -h" ;;
	esac
}

_mvc_argopts()
{
	case $1 in
	commit)   echo "--message -m --file -F --meta --format --key --passphrase-fd --passphrase-env" ;;
	log)      echo "--max-count -n --channel" ;;
	diff)     echo "--tolerance --sort --top --format" ;;
	score)    echo "--eval --test --file --items --users --history --k --layers --layout --cmd --record --source --min --max --resamples --seed" ;;
	checkout) echo "--output -o --dir --tensor --dtype" ;;
	tag)      echo "--message -m" ;;
	channel)  echo "--message -m --max-count -n --key --passphrase-fd --passphrase-env" ;;
	rollback) echo "--to --steps --min --max --test --message -m --key --passphrase-fd --passphrase-env" ;;
	aggregate) echo "--method --weights --trim --byzantine --alpha --lambda --base --clip --noise-multiplier --seed --exclude --int-policy --message -m --key --passphrase-fd --passphrase-env" ;;
	clone)    echo "--branch -b" ;;
	key)      echo "--output -o --name --passphrase-fd --passphrase-env" ;;
	verify)   echo "--trusted" ;;
	check)    echo "--same-shapes-as --max-relative-change --against" ;;
	gc)       echo "--prune" ;;
	prune)    echo "--keep-last" ;;
	esac
}

_mvc_commands="init commit status log show diff score checkout branch switch tag channel rollback aggregate clone fetch pull push remote key verify check fsck du gc prune help"

# _mvc_reply WORD...: COMPREPLY becomes the words matching $cur.
_mvc_reply()
{
	local IFS=$'\n'
	COMPREPLY=($(compgen -W "$*" -- "$cur"))
}

# Files and directories, leaving out the store.
_mvc_files()
{
	local f

	compopt -o filenames 2>/dev/null
	COMPREPLY=()
	while IFS= read -r f; do
		[[ $f == .mvc || $f == */.mvc ]] || COMPREPLY+=("$f")
	done < <(compgen "${1:--f}" -- "$cur")
}

_mvc_dirs()
{
	_mvc_files -d
}

_mvc()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev= optword=
	local i=1 w cmd= cmdi=0 cdir= npos=0 dashdash=0 argopts

	COMPREPLY=()
	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD-1]}

	# global options, then the command
	while ((i < COMP_CWORD)); do
		w=${COMP_WORDS[i]}
		case $w in
		-C)
			if ((i + 1 < COMP_CWORD)); then
				case ${COMP_WORDS[i+1]} in
				/*) cdir=${COMP_WORDS[i+1]} ;;
				*) cdir=${cdir:+$cdir/}${COMP_WORDS[i+1]} ;;
				esac
			fi
			i=$((i + 2)) ;;
		-*)
			i=$((i + 1)) ;;
		*)
			cmd=$w
			cmdi=$i
			break ;;
		esac
	done
	case $cdir in
	"~") cdir=$HOME ;;
	"~/"*) cdir=$HOME/${cdir#"~/"} ;;
	esac

	if [[ -z $cmd ]]; then
		if [[ $prev == -C ]]; then
			_mvc_dirs
		elif [[ $cur == -* ]]; then
			_mvc_reply -C --version --help -h
		else
			_mvc_reply $_mvc_commands
		fi
		return 0
	fi

	# the value of an option: "--opt value", "--opt=value" (bash splits
	# the latter into "--opt" "=" "value")
	argopts=" $(_mvc_argopts "$cmd") "
	if [[ $cur == = ]]; then
		optword=$prev
		cur=
	elif [[ $prev == = ]] && ((COMP_CWORD >= 2)); then
		optword=${COMP_WORDS[COMP_CWORD-2]}
	elif [[ $argopts == *" $prev "* ]]; then
		optword=$prev
	fi
	if [[ -n $optword && $argopts == *" $optword "* ]]; then
		case $optword in
		--file|-F|--output|-o|--key|--trusted|--dir) _mvc_files ;;
		--sort) _mvc_reply name relative max ;;
		--format) _mvc_reply safetensors gguf npy npz opaque ;;
		--dtype) _mvc_reply bf16 f16 f32 ;;
		--to|--base|--same-shapes-as|--against) _mvc_reply $(_mvc_revs "$cdir") ;;
		--method) _mvc_reply fedavg mean median trimmed-mean krum interpolate task-arithmetic ;;
		--int-policy) _mvc_reply first max error ;;
		--channel) _mvc_reply $(_mvc_channels "$cdir") ;;
		--test|--history) _mvc_files ;;
		--items|--users|--exclude) _mvc_reply $(_mvc_tensors "$cdir" "$(_mvc_first_arg)") ;;
		--prune) _mvc_reply now never 2.weeks.ago 1.month.ago ;;
		--eval) _mvc_reply retrieval classifier command ;;
		--layout) _mvc_reply torch keras ;;
		esac
		return 0
	fi

	# count the arguments before the cursor
	i=$((cmdi + 1))
	while ((i < COMP_CWORD)); do
		w=${COMP_WORDS[i]}
		if ((dashdash)); then
			npos=$((npos + 1))
		elif [[ $w == -- ]]; then
			dashdash=1
		elif [[ $w == = ]]; then
			i=$((i + 1))        # the value after "=" goes with the option
		elif [[ $argopts == *" $w "* ]]; then
			if [[ ${COMP_WORDS[i+1]-} == = ]]; then
				i=$((i + 2))
			else
				i=$((i + 1))
			fi
		elif [[ $w != -* ]]; then
			npos=$((npos + 1))
		fi
		i=$((i + 1))
	done

	if [[ $cur == -* ]] && ((!dashdash)); then
		_mvc_reply $(_mvc_opts "$cmd")
		return 0
	fi

	case $cmd in
	init)
		((npos == 0)) && _mvc_dirs ;;
	commit)
		_mvc_files ;;
	log)
		((npos == 0 && !dashdash)) && [[ " ${COMP_WORDS[*]} " != *" --channel "* ]] &&
			_mvc_reply $(_mvc_revs "$cdir") ;;
	show)
		if ((npos == 0 && !dashdash)); then
			_mvc_reply $(_mvc_revs "$cdir")
		else
			_mvc_files
		fi ;;
	diff)
		if ((dashdash)) || [[ " ${COMP_WORDS[*]} " == *" --no-index "* ]]; then
			_mvc_files
		elif ((npos < 2)); then
			_mvc_reply $(_mvc_revs "$cdir")
		fi ;;
	checkout)
		if ((npos == 0)); then
			_mvc_reply $(_mvc_revs "$cdir")
		else
			_mvc_files
		fi ;;
	branch|switch|tag)
		# the name (an existing one to delete or switch to), then a revision
		if ((npos == 0)) && [[ $cmd == switch || " ${COMP_WORDS[*]} " == *" -d "* ||
		    " ${COMP_WORDS[*]} " == *" --delete "* ]]; then
			if [[ $cmd == tag ]]; then
				_mvc_reply $(_mvc_refs "$cdir" refs/tags)
			else
				_mvc_reply $(_mvc_refs "$cdir" refs/heads)
			fi
		elif ((npos == 1)); then
			_mvc_reply $(_mvc_revs "$cdir")
		fi ;;
	channel)
		local sub=
		i=$((cmdi + 1))
		while ((i < COMP_CWORD)); do
			[[ ${COMP_WORDS[i]} == -* ]] || { sub=${COMP_WORDS[i]}; break; }
			[[ $argopts == *" ${COMP_WORDS[i]} "* ]] && i=$((i + 1))
			i=$((i + 1))
		done
		if ((npos == 0)); then
			_mvc_reply set list log delete
		elif ((npos == 1)) && [[ $sub != list ]]; then
			_mvc_reply $(_mvc_channels "$cdir")
		elif ((npos == 2)) && [[ $sub == set ]]; then
			_mvc_reply $(_mvc_revs "$cdir")
		fi ;;
	score)
		# a version; two with --compare
		if [[ " ${COMP_WORDS[*]} " == *" --compare "* ]]; then
			((npos < 2)) && _mvc_reply $(_mvc_revs "$cdir")
		else
			((npos == 0)) && _mvc_reply $(_mvc_revs "$cdir")
		fi ;;
	rollback)
		((npos == 0)) && _mvc_reply $(_mvc_channels "$cdir") ;;
	key)
		if ((npos == 0)); then
			_mvc_reply generate public
		elif ((npos == 1)) && [[ " ${COMP_WORDS[*]} " == *" public "* ]]; then
			_mvc_files
		fi ;;
	verify)
		_mvc_reply $(_mvc_revs "$cdir") ;;
	check)
		((npos == 0)) && _mvc_reply $(_mvc_revs "$cdir") ;;
	aggregate)
		# revisions, then the files after "--"
		if ((dashdash)); then
			_mvc_files
		else
			_mvc_reply $(_mvc_revs "$cdir")
		fi ;;
	clone)
		((npos == 1)) && _mvc_dirs ;;
	fetch)
		((npos == 0)) && _mvc_reply $(_mvc_remotes "$cdir") ;;
	pull)
		if ((npos == 0)); then
			_mvc_reply $(_mvc_remotes "$cdir")
		elif ((npos == 1)); then
			_mvc_reply $(_mvc_remote_branches "$cdir")
		fi ;;
	push)
		# the remote, then what to push (HEAD, branches, tags, channels)
		if ((npos == 0)); then
			_mvc_reply $(_mvc_remotes "$cdir")
		else
			_mvc_reply $(_mvc_revs "$cdir")
		fi ;;
	remote)
		local sub=
		i=$((cmdi + 1))
		while ((i < COMP_CWORD)); do
			[[ ${COMP_WORDS[i]} == -* ]] || { sub=${COMP_WORDS[i]}; break; }
			i=$((i + 1))
		done
		if ((npos == 0)); then
			_mvc_reply add remove list
		elif ((npos == 1)) && [[ $sub == remove ]]; then
			_mvc_reply $(_mvc_remotes "$cdir")
		fi ;;
	du)
		_mvc_reply $(_mvc_revs "$cdir") ;;
	help)
		((npos == 0)) && _mvc_reply $_mvc_commands ;;
	esac
	return 0
}

complete -F _mvc mvc
