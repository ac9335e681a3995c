#!/usr/bin/env bash
# The interop suite (`make interop`): Triton's own clients against tiffin,
# unmodified. It builds bin/tiffin, writes the demo repository, starts the
# server on free ports, installs the pinned Python packages into a venv
# under build/, runs interop.py (tritonclient over HTTP and gRPC), a few
# seconds of perf_analyzer over gRPC and HTTP, and grpcurl through server
# reflection, then stops the server. Last it serves a Triton repository
# (model.onnx + config.pbtxt) over TLS with client certificates and runs
# interop_tls.py (tritonclient over HTTPS and gRPC with TLS).
set -euo pipefail

readonly GRPCURL_VERSION=v1.9.4

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
here="$root/transport/grpc/interop"
build="$root/build/interop"
venv="$root/build/interop-venv"
cd "$root"
mkdir -p "$build"

log() { echo "interop: $*" >&2; }

# shellcheck source=../../../third_party/python/venv.sh
source "$root/third_party/python/venv.sh"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

setup_python() { venv_install "$venv" "$here/requirements.txt" interop; }

setup_tools() {
	# perf_analyzer (from the tritonclient wheel) links libb64.so.0d.
	if ! ldconfig -p | grep -q libb64.so.0d; then
		log "installing Debian's libb64-0d for perf_analyzer"
		apt-get update -qq && apt-get install -y -qq libb64-0d
	fi
	GOBIN="$build/bin" go install "github.com/fullstorydev/grpcurl/cmd/grpcurl@${GRPCURL_VERSION}"
}

stop_server() {
	kill "$server_pid" 2>/dev/null
	wait "$server_pid" 2>/dev/null || true
}

# start_server REPOSITORY [serve flags...] starts tiffin on free ports and
# waits until it is ready (over TLS when the flags say so).
start_server() {
	local repo="$1" scheme=http probe=(python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1])")
	shift
	http_port="$(free_port)"
	grpc_port="$(free_port)"
	./bin/tiffin serve --model-repository "$repo" --host 127.0.0.1 \
		--http-port "$http_port" --grpc-port "$grpc_port" --log-level warn "$@" &
	server_pid=$!
	trap stop_server EXIT
	if [[ " $* " == *" --tls-cert "* ]]; then
		scheme=https
		probe=(python3 -c "import ssl,urllib.request,sys; c=ssl.create_default_context(cafile=sys.argv[2]); c.load_cert_chain(sys.argv[3], sys.argv[4]); urllib.request.urlopen(sys.argv[1], context=c)")
	fi
	for _ in $(seq 1 120); do
		if "${probe[@]}" "$scheme://127.0.0.1:$http_port/v2/health/ready" \
			"$build/pki/ca.pem" "$build/pki/client.pem" "$build/pki/client.key" 2>/dev/null; then
			log "tiffin ready: http :$http_port, grpc :$grpc_port"
			return
		fi
		sleep 0.5
	done
	log "tiffin did not become ready"
	exit 1
}

perf() {
	local cudart
	cudart="$("$venv/bin/python" -c 'import nvidia.cuda_runtime, os; print(os.path.join(nvidia.cuda_runtime.__path__[0], "lib"))')"
	for proto in grpc http; do
		local port="$grpc_port"
		[[ "$proto" == http ]] && port="$http_port"
		log "perf_analyzer over $proto"
		LD_LIBRARY_PATH="$cudart" "$venv/bin/perf_analyzer" -m mlp-small -i "$proto" -u "127.0.0.1:$port" \
			--concurrency-range 2 -p 1000 --max-trials 5 -s 50 | tee "$build/perf-$proto.txt"
		grep -q "Throughput:" "$build/perf-$proto.txt"
		grep -q "Server:" "$build/perf-$proto.txt" # it read the statistics extension
	done
}

grpcurl_check() {
	log "grpcurl through reflection"
	"$build/bin/grpcurl" -plaintext "127.0.0.1:$grpc_port" list | tee "$build/grpcurl-list.txt"
	grep -q inference.GRPCInferenceService "$build/grpcurl-list.txt"
	"$build/bin/grpcurl" -plaintext -d '{"model_name":"multi-io","inputs":[
		{"name":"a","datatype":"FP32","shape":[1,4],"contents":{"fp32_contents":[1,-2,3,-4]}},
		{"name":"b","datatype":"INT32","shape":[1,4],"contents":{"int_contents":[1,2,3,4]}},
		{"name":"c","datatype":"FP64","shape":[1,2],"contents":{"fp64_contents":[0.5,1]}}]}' \
		"127.0.0.1:$grpc_port" inference.GRPCInferenceService/ModelInfer | tee "$build/grpcurl-infer.json"
	grep -q '"rawOutputContents"' "$build/grpcurl-infer.json"
	PATH="$build/bin:$PATH" go test -count=1 -run 'TestE2EGrpcurl' ./cmd/tiffin/
}

setup_python
setup_tools
go build -o bin/tiffin ./cmd/tiffin
rm -rf "$build/models"
./bin/tiffin demo-models "$build/models"
go run ./transport/grpc/interop/refgen "$build/reference.json"
start_server "$build/models" --model-control-mode explicit --load-model '*'
log "tritonclient $("$venv/bin/pip" show tritonclient | awk '/^Version/ {print $2}')"
"$venv/bin/python" "$here/interop.py" "127.0.0.1:$http_port" "127.0.0.1:$grpc_port" "$build/reference.json"
perf
grpcurl_check
stop_server

# A repository as Triton's documentation writes one, served over TLS with
# client certificates.
triton_repo="$build/triton-models"
rm -rf "$triton_repo" "$build/pki"
for v in 1 2 3; do
	mkdir -p "$triton_repo/classifier/$v"
	cp "$build/models/mlp-small/1/model.onnx" "$triton_repo/classifier/$v/model.onnx"
done
cat >"$triton_repo/classifier/config.pbtxt" <<'PBTXT'
name: "classifier"
platform: "onnxruntime_onnx"
max_batch_size: 8
input [ { name: "input" data_type: TYPE_FP32 dims: [ 16 ] } ]
output [ { name: "output" data_type: TYPE_FP32 dims: [ 4 ] } ]
dynamic_batching { preferred_batch_size: [ 4, 8 ] max_queue_delay_microseconds: 2000 }
instance_group [ { count: 2 kind: KIND_CPU } ]
version_policy: { specific: { versions: [ 1, 3 ] } }
PBTXT
go run ./transport/grpc/interop/tlsgen "$build/pki"
start_server "$triton_repo" --tls-cert "$build/pki/server.pem" --tls-key "$build/pki/server.key" \
	--tls-client-ca "$build/pki/ca.pem"
"$venv/bin/python" "$here/interop_tls.py" "127.0.0.1:$http_port" "127.0.0.1:$grpc_port" "$build/pki"
log "all interop checks passed"
