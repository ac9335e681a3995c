# Sourced, not run: venv_install VENV REQUIREMENTS [LOG_PREFIX] makes the
# Python venv VENV hold exactly the pinned packages of REQUIREMENTS. It
# keeps a copy of REQUIREMENTS in the venv and does nothing while that copy
# still matches; otherwise it rebuilds the venv from scratch (installing
# Debian's python3-venv when the interpreter lacks it). The interop suite
# and the conformance suite both build their venvs under build/ with it.
venv_install() {
	local venv="$1" requirements="$2" prefix="${3:-venv}"
	local stamp="$venv/.requirements"
	if [[ -f "$stamp" ]] && cmp -s "$stamp" "$requirements"; then
		return
	fi
	echo "$prefix: installing the pinned Python packages into $venv" >&2
	rm -rf "$venv"
	if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
		echo "$prefix: installing Debian's python3-venv" >&2
		apt-get update -qq && apt-get install -y -qq python3-venv
	fi
	python3 -m venv "$venv"
	"$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements"
	cp "$requirements" "$stamp"
}
