# A real `git daemon` for the CLI tests, on 127.0.0.1 only (POSIX sh;
# sourced after lib.sh).  start_daemon BASE serves the bare repositories
# under BASE with pushes enabled, on a free port, and sets DAEMON_PORT and
# DAEMON_PID; stop_daemon stops it.  Every wait is bounded.
DAEMON_PID=
DAEMON_PORT=

start_daemon() { # base-dir
	_gd="$(git --exec-path)/git-daemon"
	[ -x "$_gd" ] || { echo "# no git-daemon in $(git --exec-path)"; return 1; }
	_probe="mvc-probe-$$.git"
	git init -q --bare "$1/$_probe" || return 1
	# a port from the process id, then the next ones while they are taken
	_port=$((20000 + ($$ * 37) % 40000))
	_try=0
	while [ $_try -lt 25 ]; do
		"$_gd" --reuseaddr --informative-errors --base-path="$1" --export-all \
		    --enable=receive-pack --listen=127.0.0.1 --port=$_port "$1" \
		    >"$1/.daemon.$_port.log" 2>&1 &
		_pid=$!
		_n=0
		while [ $_n -lt 50 ] && kill -0 $_pid 2>/dev/null; do
			if git ls-remote "git://127.0.0.1:$_port/$_probe" >/dev/null 2>&1; then
				DAEMON_PORT=$_port DAEMON_PID=$_pid
				rm -rf "$1/$_probe"
				return 0
			fi
			sleep 0.1
			_n=$((_n + 1))
		done
		kill $_pid 2>/dev/null
		wait $_pid 2>/dev/null
		_port=$((_port + 1))
		_try=$((_try + 1))
	done
	rm -rf "$1/$_probe"
	return 1
}

stop_daemon() {
	if [ -n "$DAEMON_PID" ]; then
		kill "$DAEMON_PID" 2>/dev/null
		wait "$DAEMON_PID" 2>/dev/null
		DAEMON_PID=
	fi
}
