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

# start_server REPO OUT: starts SERVER_BIN (./bin/tiffin) serving REPO on
# core $server, on free loopback ports, with a fresh data dir OUT/data, its
# profiles on pprof_port, SERVER_ARGS (split on spaces) added to its flags
# and its output in OUT/server.log. Sets http_port,
# grpc_port, pprof_port, base and srv; the caller sets its trap, then
# waits with wait_ready "$base/v2/health/ready" "$srv" "OUT/server.log".
start_server() {
	rm -rf "$2/data"
	http_port="$(free_port)"; grpc_port="$(free_port "$http_port")"; pprof_port="$(free_port "$grpc_port")"
	base="http://127.0.0.1:$http_port"
	taskset -c "$server" "${SERVER_BIN:-./bin/tiffin}" serve --model-repository "$1" --host 127.0.0.1 \
		--http-port "$http_port" --grpc-port "$grpc_port" --data-dir "$2/data" --log-level warn \
		--pprof-addr "127.0.0.1:$pprof_port" ${SERVER_ARGS:-} >"$2/server.log" 2>&1 &
	srv=$!
}
