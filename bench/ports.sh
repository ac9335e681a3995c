# Sourced by the bench scripts: loopback port and server helpers. Needs say().

# listening succeeds when something answers on the port.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port prints a port nothing listens on, other than $1 when given.
free_port() {
	local p
	for _ in $(seq 1 100); do
		p=$((20000 + RANDOM % 30000))
		if ! listening "$p" && [[ "$p" != "${1:-}" ]]; then
			echo "$p"
			return
		fi
	done
	say "found no free port"
	exit 1
}

# wait_ready URL PID [LOG]: waits up to a minute for URL to answer, failing
# when the server PID exits first (LOG is where its output went).
wait_ready() {
	for _ in $(seq 1 240); do
		curl -fs "$1" >/dev/null 2>&1 && return 0
		kill -0 "$2" 2>/dev/null || { say "server exited${3:+; see $3}"; return 1; }
		sleep 0.25
	done
	say "not ready: $1"; return 1
}
