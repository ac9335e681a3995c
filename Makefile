# tiffin — the two commands a user needs are `make run` and `make test`.
SHELL := /bin/bash
GO ?= go

# go-nvml's headers use deprecated declarations; their warnings are noise.
export CGO_CFLAGS ?= -Wno-deprecated-declarations
export CGO_ENABLED ?= 1

# The pure-Go backend's GEMM uses AVX2/FMA through Go's simd/archsimd, an
# experiment of Go 1.26 (amd64): bin/tiffin is built with it where the
# toolchain has it, else with the portable kernel (about 8x slower; see
# README, "The pure-Go backend"). SIMD= (empty) builds without it.
SIMD ?= $(shell GOEXPERIMENT=simd $(GO) env GOEXPERIMENT >/dev/null 2>&1 && echo simd)

ORT_LIB    := third_party/onnxruntime/lib/libonnxruntime.so.1
export TIFFIN_ORT_LIBRARY ?= $(abspath $(ORT_LIB))
DEMO_REPO  ?= build/demo-models
HTTP_PORT  ?= 8000
GRPC_PORT  ?= 8001
TEST_FLAGS ?= -race -count=1 -timeout=15m

.DEFAULT_GOAL := run
.PHONY: help lint run build image test-short test-simd nats-server ort ort-gpu cuda-libs conformance-venv demo-models test deps vet bench bench-split bench-bulk bench-venv bench-smoke nocgo proto proto-check interop conformance fuzz clean

## help: list the targets, from their ## comments
help:
	@awk '/^## [a-z-]+:/ { t = $$2; sub(/:$$/, "", t); sub(/^## [a-z-]+: /, ""); printf "  %-17s %s\n", t, $$0 }' $(MAKEFILE_LIST) | \
		sed -e 's|$$(SIMD)|$(SIMD)|g' -e 's|$$(CUDA_MAJOR)|$(CUDA_MAJOR)|g' -e 's|$$(DEMO_REPO)|$(DEMO_REPO)|g'  # the values, not their names

## run: fetch ONNX Runtime, build tiffin, write the demo models and serve them
run: ort build demo-models
	./bin/tiffin serve --model-repository $(DEMO_REPO) --http-port $(HTTP_PORT) --grpc-port $(GRPC_PORT)

## build: build bin/tiffin (links ONNX Runtime dynamically, at run time; GOEXPERIMENT=$(SIMD) for the pure-Go GEMM)
build:
	GOEXPERIMENT=$(SIMD) $(GO) build -o bin/tiffin ./cmd/tiffin

## image: build the container image without a daemon: build/image/oci (OCI layout), build/image/tiffin.tar (docker load)
image: ort build
	$(GO) run ./cmd/tiffin-image --binary bin/tiffin --ort-dir third_party/onnxruntime/lib --out build/image

## nats-server: build bin/nats-server from the pinned module, for the shared-queue job tests
nats-server:
	$(GO) build -o bin/nats-server github.com/nats-io/nats-server/v2

## ort: fetch the pinned ONNX Runtime library into third_party/onnxruntime/lib
ort:
	bash third_party/onnxruntime/fetch.sh

## conformance-venv: install the pinned onnx wheel (ONNX's backend test data) and onnxruntime into build/conformance-venv
conformance-venv:
	bash backends/onnxtestdata/venv.sh

## ort-gpu: fetch a CUDA-enabled ONNX Runtime into third_party/onnxruntime/gpu (CUDA 12 or 13: ORT_GPU_CUDA, else detected)
ort-gpu:
	bash third_party/onnxruntime/fetch-gpu.sh

## cuda-libs: pip-install the pinned CUDA $(CUDA_MAJOR) and cuDNN 9 runtime libraries into build/cuda-libs (GBs)
CUDA_MAJOR ?= 12
cuda-libs:
	python3 -m venv build/cuda-libs
	build/cuda-libs/bin/pip install -q -r third_party/onnxruntime/cuda$(CUDA_MAJOR)-requirements.txt
	@echo "LD_LIBRARY_PATH=$$(bash third_party/onnxruntime/cuda-major.sh dirs $(CUDA_MAJOR))"

## demo-models: write the demo model repository into $(DEMO_REPO)
demo-models: build
	./bin/tiffin demo-models $(DEMO_REPO)

## test: install what a fresh machine lacks, lint, then run every test
test: deps lint ort conformance-venv vet
	$(GO) test $(TEST_FLAGS) ./...
	$(MAKE) test-simd bench-smoke nocgo proto-check interop conformance

## test-simd: the pure-Go backend's tests again, built as bin/tiffin is (its SIMD GEMM kernel)
test-simd:
	@if [ -n "$(SIMD)" ]; then GOEXPERIMENT=$(SIMD) $(GO) test -count=1 ./backends/gorgonia/; else echo "test-simd: this toolchain has no simd experiment; skipped"; fi

## deps: check for the toolchain and fetch the Go modules
deps:
	@command -v $(GO) >/dev/null || { echo "go is not installed: see README, Install"; exit 1; }
	@command -v npm >/dev/null || { echo "npm is missing: installing Debian's npm"; apt-get update -qq && apt-get install -y -qq npm; }
	@command -v gcc >/dev/null || { echo "gcc is missing: installing Debian's gcc"; apt-get update -qq && apt-get install -y -qq gcc libc6-dev; }
	@command -v unshare >/dev/null || { echo "unshare is missing (the image test runs the image under it): installing Debian's util-linux"; apt-get update -qq && apt-get install -y -qq util-linux; }
	@command -v skopeo >/dev/null || { echo "skopeo is missing (the image test reads the image with it): installing Debian's skopeo"; apt-get update -qq && apt-get install -y -qq skopeo; }
	@command -v protoc >/dev/null || { echo "protoc is missing: installing Debian's protobuf-compiler"; apt-get update -qq && apt-get install -y -qq protobuf-compiler; }
	$(GO) mod download

## test-short: the fast edit loop: every test but the end-to-end ones
test-short:
	$(GO) test -short ./...

## lint: golangci-lint (.golangci.yml), at the version pinned in third_party/tools/go.mod
# The linter lives in its own module so its few hundred dependencies stay
# out of the server's go.mod; `go tool -n` builds it from the module cache
# at that version and prints its path: nothing installed by hand is used.
lint:
	@lint="$$(cd third_party/tools && $(GO) tool -n golangci-lint)" && "$$lint" run ./...

## vet: go vet every package
vet:
	$(GO) vet ./...

## bench-smoke: run every benchmark once, so they keep compiling and checking themselves
bench-smoke:
	$(GO) test -run='^$$' -bench=. -benchtime=1x -count=1 ./...

## bench: the server scenarios of bench/README.md: tiffin on free ports, loaded by `tiffin bench`; results in bench/results
bench: ort demo-models
	bash bench/scenarios.sh

## bench-venv: the pinned Python reference of bench-bulk (pyarrow, onnxruntime) in build/bench-venv
bench-venv: build/bench-venv/.installed
build/bench-venv/.installed: bench/requirements-bulk.txt
	python3 -m venv build/bench-venv
	build/bench-venv/bin/pip install -q -r bench/requirements-bulk.txt
	touch $@

## bench-bulk: 1M-row Parquet jobs (mlp-small, mlp-large) against ORT's best batch and the Python reference, split cores
bench-bulk: ort build bench-venv
	bash bench/bulk.sh

## bench-split: the split-core method: load on core 0, server on core 1, ratios against ORT alone and a bare handler
bench-split: ort build
	bash bench/split.sh

## nocgo: the build without cgo must keep compiling
nocgo:
	CGO_ENABLED=0 $(GO) build ./...
	CGO_ENABLED=0 $(GO) vet ./...

## proto: regenerate the committed protobuf code with the pinned tools
proto:
	bash backends/onnxpb/gen.sh
	bash transport/inferencepb/gen.sh

## proto-check: fail when the committed gRPC code differs from what the .proto files generate
proto-check:
	bash transport/inferencepb/gen.sh check

## conformance: ONNX's backend test models through both backends over JSON, binary and gRPC, against onnxruntime alone; report in build/conformance.md
# Behind the conformance build tag and without -race: the race detector
# makes the pure-Go backend too slow on the zoo CNNs (see cmd/tiffin/conformance_test.go).
conformance: ort conformance-venv
	GOEXPERIMENT=$(SIMD) $(GO) test -tags conformance -count=1 -timeout=20m -run '^TestConformance$$' ./cmd/tiffin
	@sed -n '/^| models/,/^$$/p' build/conformance.md

## interop: Triton's Python client, perf_analyzer and grpcurl against a running tiffin
## fuzz: run each fuzz target for FUZZTIME (30s; not in CI: `make test` runs their seed corpora as tests)
FUZZTIME ?= 30s
FUZZ_TARGETS = \
	./transport/http:FuzzDecodeRequest \
	./transport/http:FuzzDecodeChecked \
	./transport/grpc:FuzzDecodeRequest \
	./transport/grpc:FuzzWireDecode \
	./runtime/tensorjson:FuzzAppendElement \
	./runtime/jobs:FuzzDecodeHybrid \
	./runtime/jobs:FuzzLevelsFast \
	./runtime/config:FuzzLoadModel \
	./backends/gorgonia:FuzzParseProgram

fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$pkg $$name for $(FUZZTIME)"; \
		go test -run='^$$' -fuzz="^$$name$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
	done

interop: ort
	bash transport/grpc/interop/run.sh

## clean: remove bin/ and build/
clean:
	rm -rf bin build
