# fish completion for mvc(1)
#
# Install as mvc.fish in a directory of $fish_complete_path, or source it.
# The option lists mirror the option tables of cmd/*.c; test/cli/test_docs.sh
# checks them against `mvc <command> --help`.

# Options that take a value, as they may appear before the cursor.
set -g __mvc_argopts -m --message -F --file --meta --format --tensor --dtype --dir -n --max-count -o --output --tolerance --sort --top --to --steps --channel --method --weights --trim --byzantine --alpha --lambda --base --clip --noise-multiplier --seed --exclude --int-policy -b --branch --key --passphrase-fd --passphrase-env --name --trusted --same-shapes-as --max-relative-change --against
# ... and those of score and rollback --to-last-good
set -g __mvc_argopts $__mvc_argopts --eval --test --items --users --history --k --layers --layout --cmd --record --source --min --max --resamples
# ... and of gc and prune
set -g __mvc_argopts $__mvc_argopts --prune --keep-last

# The words before the cursor: prints the command, then the -C directory
# (possibly empty), then the number of arguments after the command, then
# 1 if "--" was seen (else 0).
function __mvc_parse
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l cmd
    set -l cdir
    set -l npos 0
    set -l dashdash 0
    while set -q tokens[1]
        set -l w $tokens[1]
        set -e tokens[1]
        if test -z "$cmd"
            switch $w
                case -C
                    if set -q tokens[1]
                        switch $tokens[1]
                            case '/*'
                                set cdir $tokens[1]
                            case '*'
                                if test -n "$cdir"
                                    set cdir $cdir/$tokens[1]
                                else
                                    set cdir $tokens[1]
                                end
                        end
                        set -e tokens[1]
                    end
                case '-*'
                case '*'
                    set cmd $w
            end
        else if test $dashdash = 1
            set npos (math $npos + 1)
        else if test "$w" = --
            set dashdash 1
        else if contains -- $w $__mvc_argopts
            set -e tokens[1]
        else if not string match -q -- '-*' $w
            set npos (math $npos + 1)
        end
    end
    printf '%s\n' "$cmd" "$cdir" $npos $dashdash
end

function __mvc_needs_command
    set -l p (__mvc_parse)
    test -z "$p[1]"
end

function __mvc_using
    set -l p (__mvc_parse)
    test "$p[1]" = "$argv[1]"
end

# Does the cursor stand where a command expects a revision?
function __mvc_want_rev
    set -l p (__mvc_parse)
    switch $p[1]
        case log
            test $p[3] -eq 0; and not contains -- --channel (commandline -opc)
        case checkout
            test $p[3] -eq 0
        case show
            test $p[3] -eq 0 -a $p[4] -eq 0
        case diff
            test $p[3] -lt 2 -a $p[4] -eq 0; and not __mvc_has_no_index
        case branch tag
            test $p[3] -eq 1; and not __mvc_has_delete
        case switch
            test $p[3] -eq 1
        case channel
            test $p[3] -eq 2; and test (__mvc_first_arg) = set
        case aggregate
            test $p[4] -eq 0
        case push
            test $p[3] -ge 1
        case verify
            return 0
        case check
            test $p[3] -eq 0
        case du
            return 0
        case score
            if contains -- --compare (commandline -opc)
                test $p[3] -lt 2
            else
                test $p[3] -eq 0
            end
        case '*'
            return 1
    end
end

# ... or a remote?
function __mvc_want_remote
    set -l p (__mvc_parse)
    switch $p[1]
        case fetch pull push
            test $p[3] -eq 0
        case remote
            test $p[3] -eq 1; and contains -- (__mvc_arg_of remote) remove rm
        case '*'
            return 1
    end
end

# The first argument after command $argv[1] (a subcommand).
function __mvc_arg_of
    set -l tokens (commandline -opc)
    set -l seen 0
    while set -q tokens[1]
        set -l w $tokens[1]
        set -e tokens[1]
        if test $seen = 0
            contains -- $w $argv[1]; and set seen 1
        else if not string match -q -- '-*' $w
            echo $w
            return 0
        end
    end
    echo ''
end

function __mvc_remotes
    set -l store (__mvc_store)
    or return
    git --git-dir=$store config --get-regexp '^remote\..*\.url$' 2>/dev/null | string replace -r '^remote\.(.*)\.url .*$' '$1'
end

function __mvc_remote_branches
    set -l store (__mvc_store)
    or return
    git --git-dir=$store for-each-ref --format='%(refname:strip=3)' refs/remotes 2>/dev/null | sort -u
end

function __mvc_want_remote_branch
    set -l p (__mvc_parse)
    test "$p[1]" = pull -a $p[3] -eq 1
end

function __mvc_want_dir
    set -l p (__mvc_parse)
    test "$p[1]" = clone -a $p[3] -eq 1
end

# ... or a channel?
function __mvc_want_channel
    set -l p (__mvc_parse)
    switch $p[1]
        case rollback
            test $p[3] -eq 0
        case channel
            test $p[3] -eq 1; and contains -- (__mvc_first_arg) set log delete
        case '*'
            return 1
    end
end

# ... or the name of an existing branch (tag) to switch to or delete?
function __mvc_want_branch
    set -l p (__mvc_parse)
    switch $p[1]
        case switch
            test $p[3] -eq 0; and not contains -- --create (commandline -opc); and not contains -- -c (commandline -opc)
        case branch
            test $p[3] -eq 0; and __mvc_has_delete
        case '*'
            return 1
    end
end

function __mvc_want_tag
    set -l p (__mvc_parse)
    test "$p[1]" = tag -a $p[3] -eq 0; and __mvc_has_delete
end

function __mvc_has_delete
    set -l w (commandline -opc)
    contains -- -d $w; or contains -- --delete $w
end

# The first argument after the command (a subcommand of channel).
function __mvc_first_arg
    set -l tokens (commandline -opc)
    set -l seen 0
    while set -q tokens[1]
        set -l w $tokens[1]
        set -e tokens[1]
        if test $seen = 0
            contains -- $w channel; and set seen 1
        else if contains -- $w $__mvc_argopts
            set -e tokens[1]
        else if not string match -q -- '-*' $w
            echo $w
            return 0
        end
    end
    echo ''
end

# ... or a file?
function __mvc_want_file
    set -l p (__mvc_parse)
    switch $p[1]
        case commit
            return 0
        case checkout
            test $p[3] -gt 0
        case show
            test $p[3] -gt 0 -o $p[4] -eq 1
        case diff
            test $p[4] -eq 1; or __mvc_has_no_index
        case aggregate
            test $p[4] -eq 1
        case '*'
            return 1
    end
end

function __mvc_has_no_index
    contains -- --no-index (commandline -opc)
end

function __mvc_npos_zero
    set -l p (__mvc_parse)
    test $p[3] -eq 0
end

# The store (.mvc) of the repository, found as mvc finds it: $MVC_DIR,
# else .mvc in the (-C) directory or a parent.
function __mvc_store
    if test -n "$MVC_DIR"
        echo $MVC_DIR
        return 0
    end
    set -l p (__mvc_parse)
    set -l d $PWD
    switch "$p[2]"
        case ''
        case '/*'
            set d $p[2]
        case '*'
            set d $PWD/$p[2]
    end
    while true
        if test -d "$d/.mvc"
            echo "$d/.mvc"
            return 0
        end
        if test -z "$d" -o "$d" = /
            return 1
        end
        set d (string replace -r '/[^/]*$' '' -- $d)
    end
end

function __mvc_revs
    set -l store (__mvc_store)
    or return
    echo HEAD
    git --git-dir=$store for-each-ref --format='%(refname:short)' refs/heads refs/tags 2>/dev/null
    git --git-dir=$store for-each-ref --format='%(refname:strip=3)' refs/mvc/channels 2>/dev/null
end

# Tensor names of the revision the command names first (default HEAD),
# from `mvc show --json`: score's --items and --users, aggregate's
# --exclude.
function __mvc_tensors
    set -l tokens (commandline -opc)
    set -l mvc $tokens[1]
    set -l p (__mvc_parse)
    set -l rev HEAD
    set -l seen 0
    set -e tokens[1]
    while set -q tokens[1]
        set -l w $tokens[1]
        set -e tokens[1]
        if test $seen = 0
            test "$w" = "$p[1]"; and set seen 1
            contains -- $w -C; and set -e tokens[1]
        else if contains -- $w $__mvc_argopts
            set -e tokens[1]
        else if not string match -q -- '-*' $w
            set rev $w
            break
        end
    end
    set -l args
    test -n "$p[2]"; and set args -C $p[2]
    $mvc $args show --json $rev 2>/dev/null | awk '
        /^ *"name": / { n = $0; next }
        /^ *"dtype": / && n != "" {
            sub(/^ *"name": "/, "", n); sub(/",?$/, "", n)
            gsub(/\\\\"/, "\"", n); gsub(/\\\\\\\\/, "\\\\", n)
            print n
        }
        { n = "" }'
end

function __mvc_channels
    set -l store (__mvc_store)
    or return
    git --git-dir=$store for-each-ref --format='%(refname:strip=3)' refs/mvc/channels 2>/dev/null
end

# Branches or tags ($argv[1]: refs/heads or refs/tags).
function __mvc_refnames
    set -l store (__mvc_store)
    or return
    git --git-dir=$store for-each-ref --format='%(refname:strip=2)' $argv[1] 2>/dev/null
end

complete -c mvc -f

# global options and the commands
complete -c mvc -n __mvc_needs_command -s C -x -a '(__fish_complete_directories (commandline -ct))' -d 'run as if mvc had been started in <path>'
complete -c mvc -n __mvc_needs_command -l version -d 'print the version'
complete -c mvc -n __mvc_needs_command -s h -l help -d 'show the list of commands'
complete -c mvc -n __mvc_needs_command -a init -d 'create a model repository'
complete -c mvc -n __mvc_needs_command -a commit -d 'record a new version of model files'
complete -c mvc -n __mvc_needs_command -a status -d 'show which model files changed'
complete -c mvc -n __mvc_needs_command -a log -d 'list versions, newest first'
complete -c mvc -n __mvc_needs_command -a show -d 'describe one version: files, tensors, metadata'
complete -c mvc -n __mvc_needs_command -a diff -d 'show what changed, tensor by tensor, in numbers'
complete -c mvc -n __mvc_needs_command -a score -d 'evaluate a version; record, gate on and compare scores'
complete -c mvc -n __mvc_needs_command -a checkout -d 'write the files of a version'
complete -c mvc -n __mvc_needs_command -a branch -d 'list, create or delete branches'
complete -c mvc -n __mvc_needs_command -a switch -d 'change the current branch and write its files'
complete -c mvc -n __mvc_needs_command -a tag -d 'list, create or delete tags'
complete -c mvc -n __mvc_needs_command -a channel -d 'point a deployment channel at a version; its history'
complete -c mvc -n __mvc_needs_command -a rollback -d 'move a channel or the branch back to an earlier version'
complete -c mvc -n __mvc_needs_command -a aggregate -d 'combine versions into one: federated averaging and more'
complete -c mvc -n __mvc_needs_command -a clone -d 'copy a repository from a server and write its files'
complete -c mvc -n __mvc_needs_command -a fetch -d "get a remote's versions, channels and scores"
complete -c mvc -n __mvc_needs_command -a pull -d 'fetch, then fast-forward the branch and write its files'
complete -c mvc -n __mvc_needs_command -a push -d 'send versions, channels and scores to a remote'
complete -c mvc -n __mvc_needs_command -a remote -d 'add, remove or list the servers you push to and fetch from'
complete -c mvc -n __mvc_needs_command -a key -d 'make a signing key; print its public key'
complete -c mvc -n __mvc_needs_command -a verify -d 'check that versions are signed by trusted keys'
complete -c mvc -n __mvc_needs_command -a check -d 'refuse a version with NaN, other shapes or too large a change'
complete -c mvc -n __mvc_needs_command -a fsck -d 'check that every stored version decodes and matches its digests'
complete -c mvc -n __mvc_needs_command -a du -d 'show what each version costs in the store'
complete -c mvc -n __mvc_needs_command -a gc -d 'repack the store and prune what no version reaches'
complete -c mvc -n __mvc_needs_command -a prune -d "drop old versions' data from the store, keep their history"
complete -c mvc -n __mvc_needs_command -a help -d 'show help for mvc or a command'

# init
complete -c mvc -n '__mvc_using init' -s q -l quiet -d 'print nothing on success'
complete -c mvc -n '__mvc_using init' -s h -l help -d 'show this help'
complete -c mvc -n '__mvc_using init; and __mvc_npos_zero' -x -a '(__fish_complete_directories (commandline -ct))'

# commit
complete -c mvc -n '__mvc_using commit' -s m -l message -x -d "the version's message"
complete -c mvc -n '__mvc_using commit' -s F -l file -r -F -d "read the message from a file ('-': stdin)"
complete -c mvc -n '__mvc_using commit' -l meta -x -d 'record metadata (repeatable), e.g. num-examples=120000'
complete -c mvc -n '__mvc_using commit' -l allow-empty -d 'commit even if nothing changed'
complete -c mvc -n '__mvc_using commit' -l progress -d 'show progress on stderr'
complete -c mvc -n '__mvc_using commit' -l no-progress -d 'never show progress'
complete -c mvc -n '__mvc_using commit' -l rehash -d 'hash every file even if its size and mtime match'
complete -c mvc -n '__mvc_using commit' -l format -x -a 'safetensors gguf npy npz opaque' -d 'read the files as this format'
complete -c mvc -n '__mvc_using commit' -l retry -d 'when another commit moves the branch at once, commit again on top'
complete -c mvc -n '__mvc_using commit' -l sign -d 'sign the version with your key'
complete -c mvc -n '__mvc_using commit' -l key -r -F -d 'sign with this secret key'
complete -c mvc -n '__mvc_using commit' -l passphrase-fd -x -d "read the key's passphrase from this descriptor"
complete -c mvc -n '__mvc_using commit' -l passphrase-env -x -d "read the key's passphrase from this variable"
complete -c mvc -n '__mvc_using commit' -l no-verify -d 'do not run the pre-commit hook'
complete -c mvc -n '__mvc_using commit' -s q -l quiet -d 'print nothing on success'
complete -c mvc -n '__mvc_using commit' -l json -d 'print the new version as JSON'
complete -c mvc -n '__mvc_using commit' -s h -l help -d 'show this help'

# status
complete -c mvc -n '__mvc_using status' -l json -d 'print JSON (schema in mvc-status(1))'
complete -c mvc -n '__mvc_using status' -l rehash -d 'hash every file even if its size and mtime match'
complete -c mvc -n '__mvc_using status' -l exit-code -d 'exit 1 if a tracked file is not clean'
complete -c mvc -n '__mvc_using status' -s q -l quiet -d 'print nothing (with --exit-code)'
complete -c mvc -n '__mvc_using status' -s h -l help -d 'show this help'

# log
complete -c mvc -n '__mvc_using log' -l oneline -d 'one line per version: id and summary'
complete -c mvc -n '__mvc_using log' -s n -l max-count -x -d 'show at most <count> versions'
complete -c mvc -n '__mvc_using log' -l channel -x -a '(__mvc_channels)' -d 'the versions a channel pointed at, last deployed first'
complete -c mvc -n '__mvc_using log' -l json -d 'print JSON (schema in mvc-log(1))'
complete -c mvc -n '__mvc_using log' -s h -l help -d 'show this help'

# show
complete -c mvc -n '__mvc_using show' -s s -l summary -d 'files only, no tensor table'
complete -c mvc -n '__mvc_using show' -l json -d 'print JSON (schema in mvc-show(1))'
complete -c mvc -n '__mvc_using show' -s h -l help -d 'show this help'

# diff
complete -c mvc -n '__mvc_using diff' -l stat -d 'which tensors and chunks changed, from digests only'
complete -c mvc -n '__mvc_using diff' -l json -d 'print JSON (schema in mvc-diff(1))'
complete -c mvc -n '__mvc_using diff' -l exit-code -d 'exit 1 if there are differences'
complete -c mvc -n '__mvc_using diff' -l tolerance -x -d 'with --exit-code: float moves up to <x> are no difference'
complete -c mvc -n '__mvc_using diff' -l sort -x -a 'name relative max' -d 'order tensors by name, relative or max'
complete -c mvc -n '__mvc_using diff' -l top -x -d 'list at most <n> changed tensors per file'
complete -c mvc -n '__mvc_using diff' -s v -l verbose -d 'list unchanged tensors too'
complete -c mvc -n '__mvc_using diff' -s q -l quiet -d 'print nothing; implies --exit-code'
complete -c mvc -n '__mvc_using diff' -l no-index -d 'compare two files on disk, no repository needed'
complete -c mvc -n '__mvc_using diff' -l format -x -a 'safetensors gguf npy npz opaque' -d 'with --no-index: read both files as this format'
complete -c mvc -n '__mvc_using diff' -s h -l help -d 'show this help'

# score
complete -c mvc -n '__mvc_using score' -l eval -x -a 'retrieval classifier command' -d 'the evaluator'
complete -c mvc -n '__mvc_using score' -l test -r -F -d 'the held-out data, CSV'
complete -c mvc -n '__mvc_using score' -l file -r -F -d 'the tracked file of the model'
complete -c mvc -n '__mvc_using score' -l items -x -a '(__mvc_tensors)' -d 'retrieval: the item vectors (items x d)'
complete -c mvc -n '__mvc_using score' -l users -x -a '(__mvc_tensors)' -d 'retrieval: the user vectors (a row per user id)'
complete -c mvc -n '__mvc_using score' -l history -r -F -d 'retrieval: past interactions'
complete -c mvc -n '__mvc_using score' -l k -x -d 'retrieval: cutoffs K, comma-separated (default 10,50)'
complete -c mvc -n '__mvc_using score' -l dot -d 'retrieval: rank by dot product, not cosine'
complete -c mvc -n '__mvc_using score' -l layers -x -d 'classifier: weight,bias,... tensors'
complete -c mvc -n '__mvc_using score' -l layout -x -a 'torch keras' -d 'classifier: weight layout'
complete -c mvc -n '__mvc_using score' -l cmd -x -d 'command: run this; {model} is the model file'
complete -c mvc -n '__mvc_using score' -l record -x -d 'record a metric measured elsewhere (metric=value)'
complete -c mvc -n '__mvc_using score' -l source -x -d 'where the score comes from'
complete -c mvc -n '__mvc_using score' -l min -x -d 'exit 1 unless metric >= value (metric=value)'
complete -c mvc -n '__mvc_using score' -l max -x -d 'exit 1 unless metric <= value (metric=value)'
complete -c mvc -n '__mvc_using score' -l compare -d 'score two versions, compare by paired bootstrap'
complete -c mvc -n '__mvc_using score' -l resamples -x -d 'compare: bootstrap resamples (default 1000)'
complete -c mvc -n '__mvc_using score' -l seed -x -d 'compare: seed of the resampling (default 1)'
complete -c mvc -n '__mvc_using score' -l fail-if-worse -d 'compare: exit 1 if B is significantly worse'
complete -c mvc -n '__mvc_using score' -s n -l dry-run -d 'evaluate and check; record nothing'
complete -c mvc -n '__mvc_using score' -s q -l quiet -d 'print nothing on stdout'
complete -c mvc -n '__mvc_using score' -l json -d 'print JSON (schema in mvc-score(1))'
complete -c mvc -n '__mvc_using score' -s h -l help -d 'show this help'

# checkout
complete -c mvc -n '__mvc_using checkout' -s o -l output -r -F -d 'write the file to <path> instead of the working directory'
complete -c mvc -n '__mvc_using checkout' -l dir -r -a '(__fish_complete_directories)' -d 'write the files into <dir>, replacing it as a whole at once'
complete -c mvc -n '__mvc_using checkout' -l tensor -x -d 'with -o: only the tensors matching <glob> (repeatable)'
complete -c mvc -n '__mvc_using checkout' -l dtype -x -a 'bf16 f16 f32' -d 'with -o: write float tensors as bf16, f16 or f32'
complete -c mvc -n '__mvc_using checkout' -l progress -d 'show progress on stderr'
complete -c mvc -n '__mvc_using checkout' -l no-progress -d 'never show progress'
complete -c mvc -n '__mvc_using checkout' -s f -l force -d 'overwrite files with uncommitted changes'
complete -c mvc -n '__mvc_using checkout' -s q -l quiet -d 'print nothing on success'
complete -c mvc -n '__mvc_using checkout' -s h -l help -d 'show this help'

# branch
complete -c mvc -n '__mvc_using branch' -s d -l delete -d 'delete the branch'
complete -c mvc -n '__mvc_using branch' -s f -l force -d 'delete even if no other branch, tag or channel keeps its versions'
complete -c mvc -n '__mvc_using branch' -l json -d 'print JSON (schema in mvc-branch(1))'
complete -c mvc -n '__mvc_using branch' -s h -l help -d 'show this help'

# switch
complete -c mvc -n '__mvc_using switch' -s c -l create -d 'create the branch (at <rev>, default HEAD) first'
complete -c mvc -n '__mvc_using switch' -s f -l force -d 'overwrite files with uncommitted changes'
complete -c mvc -n '__mvc_using switch' -s q -l quiet -d 'print nothing on success'
complete -c mvc -n '__mvc_using switch' -s h -l help -d 'show this help'

# tag
complete -c mvc -n '__mvc_using tag' -s m -l message -x -d 'an annotated tag with this message'
complete -c mvc -n '__mvc_using tag' -s d -l delete -d 'delete the tag'
complete -c mvc -n '__mvc_using tag' -l json -d 'print JSON (schema in mvc-tag(1))'
complete -c mvc -n '__mvc_using tag' -s h -l help -d 'show this help'

# channel
complete -c mvc -n '__mvc_using channel' -s m -l message -x -d 'set: why (recorded in the move)'
complete -c mvc -n '__mvc_using channel' -l retry -d 'set: retry when another process moves the channel at once'
complete -c mvc -n '__mvc_using channel' -s n -l max-count -x -d 'log: show at most <count> moves'
complete -c mvc -n '__mvc_using channel' -s q -l quiet -d 'set: print nothing on success'
complete -c mvc -n '__mvc_using channel' -l sign -d 'sign the move (set) with your key'
complete -c mvc -n '__mvc_using channel' -l key -r -F -d 'sign with this secret key'
complete -c mvc -n '__mvc_using channel' -l passphrase-fd -x -d "read the key's passphrase from this descriptor"
complete -c mvc -n '__mvc_using channel' -l passphrase-env -x -d "read the key's passphrase from this variable"
complete -c mvc -n '__mvc_using channel' -l json -d 'print JSON (schema in mvc-channel(1))'
complete -c mvc -n '__mvc_using channel' -s h -l help -d 'show this help'
complete -c mvc -n '__mvc_using channel; and __mvc_npos_zero' -x -a 'set list log delete'

# rollback
complete -c mvc -n '__mvc_using rollback' -l to -x -a '(__mvc_revs)' -d 'roll back to this version'
complete -c mvc -n '__mvc_using rollback' -l steps -x -d 'go back <n> earlier versions (default 1)'
complete -c mvc -n '__mvc_using rollback' -l to-last-good -d 'to the newest earlier version whose scores meet the bounds'
complete -c mvc -n '__mvc_using rollback' -l min -x -d "--to-last-good: a recorded metric's minimum (metric=value)"
complete -c mvc -n '__mvc_using rollback' -l max -x -d "--to-last-good: a recorded metric's maximum (metric=value)"
complete -c mvc -n '__mvc_using rollback' -l test -r -F -d '--to-last-good: only scores on this test data'
complete -c mvc -n '__mvc_using rollback' -s m -l message -x -d 'why (recorded with the rollback)'
complete -c mvc -n '__mvc_using rollback' -l retry -d 'retry when another process moves it at once'
complete -c mvc -n '__mvc_using rollback' -s f -l force -d 'branch: overwrite files with uncommitted changes'
complete -c mvc -n '__mvc_using rollback' -l sign -d 'sign the move or commit with your key'
complete -c mvc -n '__mvc_using rollback' -l key -r -F -d 'sign with this secret key'
complete -c mvc -n '__mvc_using rollback' -l passphrase-fd -x -d "read the key's passphrase from this descriptor"
complete -c mvc -n '__mvc_using rollback' -l passphrase-env -x -d "read the key's passphrase from this variable"
complete -c mvc -n '__mvc_using rollback' -s q -l quiet -d 'print nothing on success'
complete -c mvc -n '__mvc_using rollback' -l json -d 'print JSON (schema in mvc-rollback(1))'
complete -c mvc -n '__mvc_using rollback' -s h -l help -d 'show this help'

# aggregate
complete -c mvc -n '__mvc_using aggregate' -l method -x -a 'fedavg mean median trimmed-mean krum interpolate task-arithmetic' -d 'how to combine (default fedavg)'
complete -c mvc -n '__mvc_using aggregate' -l weights -x -d 'fedavg: these weights instead of num-examples'
complete -c mvc -n '__mvc_using aggregate' -l trim -x -d 'trimmed-mean: drop floor(b*n) values at each end'
complete -c mvc -n '__mvc_using aggregate' -l byzantine -x -d 'krum: inputs that may be Byzantine (needs 2f+3)'
complete -c mvc -n '__mvc_using aggregate' -l alpha -x -d "interpolate: the second version's weight"
complete -c mvc -n '__mvc_using aggregate' -l lambda -x -d 'task-arithmetic: scale of the summed updates'
complete -c mvc -n '__mvc_using aggregate' -l base -x -a '(__mvc_revs)' -d 'measure updates from this version'
complete -c mvc -n '__mvc_using aggregate' -l clip -x -d 'DP-FedAvg: clip each update to this L2 norm'
complete -c mvc -n '__mvc_using aggregate' -l noise-multiplier -x -d 'DP-FedAvg: Gaussian noise of std z*c/n'
complete -c mvc -n '__mvc_using aggregate' -l seed -x -d 'reproducible noise (for tests: not private)'
complete -c mvc -n '__mvc_using aggregate' -l exclude -x -a '(__mvc_tensors)' -d 'take these tensors from the first input (repeatable)'
complete -c mvc -n '__mvc_using aggregate' -l int-policy -x -a 'first max error' -d 'integer tensors: first, max or error'
complete -c mvc -n '__mvc_using aggregate' -l dry-run -d 'report only: write nothing'
complete -c mvc -n '__mvc_using aggregate' -l no-checkout -d 'leave the working files as they are'
complete -c mvc -n '__mvc_using aggregate' -l json -d 'print JSON (schema in mvc-aggregate(1))'
complete -c mvc -n '__mvc_using aggregate' -s m -l message -x -d "the version's message"
complete -c mvc -n '__mvc_using aggregate' -l sign -d 'sign the version with your key'
complete -c mvc -n '__mvc_using aggregate' -l key -r -F -d 'sign with this secret key'
complete -c mvc -n '__mvc_using aggregate' -l passphrase-fd -x -d "read the key's passphrase from this descriptor"
complete -c mvc -n '__mvc_using aggregate' -l passphrase-env -x -d "read the key's passphrase from this variable"
complete -c mvc -n '__mvc_using aggregate' -s q -l quiet -d 'print nothing on success'
complete -c mvc -n '__mvc_using aggregate' -s h -l help -d 'show this help'

# clone
complete -c mvc -n '__mvc_using clone' -s b -l branch -x -d "check out <branch> instead of the remote's HEAD"
complete -c mvc -n '__mvc_using clone' -s q -l quiet -d 'print nothing on success'
complete -c mvc -n '__mvc_using clone' -l progress -d 'show progress on stderr'
complete -c mvc -n '__mvc_using clone' -l no-progress -d 'never show progress'
complete -c mvc -n '__mvc_using clone' -s h -l help -d 'show this help'
complete -c mvc -n __mvc_want_dir -x -a '(__fish_complete_directories (commandline -ct))'

# fetch
complete -c mvc -n '__mvc_using fetch' -s q -l quiet -d 'print nothing on success'
complete -c mvc -n '__mvc_using fetch' -l progress -d 'show progress on stderr'
complete -c mvc -n '__mvc_using fetch' -l no-progress -d 'never show progress'
complete -c mvc -n '__mvc_using fetch' -s h -l help -d 'show this help'

# pull
complete -c mvc -n '__mvc_using pull' -s f -l force -d 'overwrite files with uncommitted changes'
complete -c mvc -n '__mvc_using pull' -s q -l quiet -d 'print nothing on success'
complete -c mvc -n '__mvc_using pull' -l progress -d 'show progress on stderr'
complete -c mvc -n '__mvc_using pull' -l no-progress -d 'never show progress'
complete -c mvc -n '__mvc_using pull' -s h -l help -d 'show this help'
complete -c mvc -n __mvc_want_remote_branch -x -a '(__mvc_remote_branches)' -d 'remote branch'

# push
complete -c mvc -n '__mvc_using push' -s n -l dry-run -d 'say what would be sent; send nothing'
complete -c mvc -n '__mvc_using push' -s q -l quiet -d 'print nothing on success'
complete -c mvc -n '__mvc_using push' -l progress -d 'show progress on stderr'
complete -c mvc -n '__mvc_using push' -l no-progress -d 'never show progress'
complete -c mvc -n '__mvc_using push' -s h -l help -d 'show this help'

# key
complete -c mvc -n '__mvc_using key' -s o -l output -r -F -d 'generate: write the secret key here'
complete -c mvc -n '__mvc_using key' -l name -x -d "generate: the key's name"
complete -c mvc -n '__mvc_using key' -l passphrase-fd -x -d 'generate: read a passphrase from this descriptor'
complete -c mvc -n '__mvc_using key' -l passphrase-env -x -d 'generate: read a passphrase from this variable'
complete -c mvc -n '__mvc_using key' -s h -l help -d 'show this help'
complete -c mvc -n '__mvc_using key; and __mvc_npos_zero' -x -a 'generate public'
complete -c mvc -n '__mvc_using key; and not __mvc_npos_zero; and contains -- public (commandline -opc)' -F

# verify
complete -c mvc -n '__mvc_using verify' -l trusted -r -F -d 'the trusted keys (default: mvc.trustedKeys)'
complete -c mvc -n '__mvc_using verify' -s q -l quiet -d 'print nothing; the exit status tells'
complete -c mvc -n '__mvc_using verify' -l json -d 'print JSON (schema in mvc-verify(1))'
complete -c mvc -n '__mvc_using verify' -s h -l help -d 'show this help'

# check
complete -c mvc -n '__mvc_using check' -l no-nan -d 'fail if a float tensor holds NaN or infinite values'
complete -c mvc -n '__mvc_using check' -l same-shapes-as -x -a '(__mvc_revs)' -d 'fail if tensors, shapes or dtypes differ from this version'
complete -c mvc -n '__mvc_using check' -l max-relative-change -x -d "fail if a tensor's relative L2 change exceeds this"
complete -c mvc -n '__mvc_using check' -l against -x -a '(__mvc_revs)' -d 'measure the change against this version'
complete -c mvc -n '__mvc_using check' -l json -d 'print JSON (schema in mvc-check(1))'
complete -c mvc -n '__mvc_using check' -s h -l help -d 'show this help'

# fsck
complete -c mvc -n '__mvc_using fsck' -l full -d 'decode every chunk and check its BLAKE2b digest'
complete -c mvc -n '__mvc_using fsck' -l progress -d 'with --full: show progress on stderr'
complete -c mvc -n '__mvc_using fsck' -l no-progress -d 'never show progress'
complete -c mvc -n '__mvc_using fsck' -s q -l quiet -d 'print nothing; the exit status tells'
complete -c mvc -n '__mvc_using fsck' -l json -d 'print JSON (schema in mvc-fsck(1))'
complete -c mvc -n '__mvc_using fsck' -s h -l help -d 'show this help'

# remote
complete -c mvc -n '__mvc_using remote' -l json -d 'list: print JSON (schema in mvc-remote(1))'
complete -c mvc -n '__mvc_using remote' -s h -l help -d 'show this help'
complete -c mvc -n '__mvc_using remote; and __mvc_npos_zero' -x -a 'add remove list'

# remotes, for the commands whose first argument is one
complete -c mvc -n __mvc_want_remote -x -a '(__mvc_remotes)' -d remote

# du
complete -c mvc -n '__mvc_using du' -l json -d 'print JSON (schema in mvc-du(1))'
complete -c mvc -n '__mvc_using du' -s h -l help -d 'show this help'

# gc
complete -c mvc -n '__mvc_using gc' -l prune -x -a 'now never 2.weeks.ago 1.month.ago' -d 'prune unreachable objects older than <date>'
complete -c mvc -n '__mvc_using gc' -s q -l quiet -d 'print nothing on success'
complete -c mvc -n '__mvc_using gc' -s h -l help -d 'show this help'

# prune
complete -c mvc -n '__mvc_using prune' -l keep-last -x -d 'keep the data of the <n> newest versions of each branch'
complete -c mvc -n '__mvc_using prune' -l keep-channels -d 'keep every version a channel ever pointed at'
complete -c mvc -n '__mvc_using prune' -l keep-tagged -d 'keep every tagged version'
complete -c mvc -n '__mvc_using prune' -s n -l dry-run -d 'say what would be dropped; drop nothing'
complete -c mvc -n '__mvc_using prune' -l json -d 'print JSON (schema in mvc-prune(1))'
complete -c mvc -n '__mvc_using prune' -s h -l help -d 'show this help'

# help
complete -c mvc -n '__mvc_using help' -s h -l help -d 'show this help'
complete -c mvc -n '__mvc_using help; and __mvc_npos_zero' -x -a 'init commit status log show diff score checkout branch switch tag channel rollback aggregate clone fetch pull push remote key verify check fsck du gc prune help'

# revisions and files, for the commands whose arguments are those
complete -c mvc -n __mvc_want_rev -x -a '(__mvc_revs)' -d revision
complete -c mvc -n __mvc_want_channel -x -a '(__mvc_channels)' -d channel
complete -c mvc -n __mvc_want_branch -x -a '(__mvc_refnames refs/heads)' -d branch
complete -c mvc -n __mvc_want_tag -x -a '(__mvc_refnames refs/tags)' -d tag
complete -c mvc -n __mvc_want_file -F
