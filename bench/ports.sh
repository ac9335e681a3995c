# Sourced by the bench scripts: loopback port helpers. Needs say().

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
