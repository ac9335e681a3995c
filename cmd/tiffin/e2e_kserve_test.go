package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tiffin-ml/tiffin/backends/modelgen"
	pb "github.com/tiffin-ml/tiffin/transport/inferencepb"
)

const kserveDir = "../../deploy/kserve"

// TestE2EKServeRuntime reads deploy/kserve and runs tiffin with exactly
// the ClusterServingRuntime container's command, args and env (KServe's
// /mnt/models swapped for a folder of demo models; the image's own env,
// PATH and TIFFIN_ORT_LIBRARY, given as this host has them), then probes
// what KServe and its users call: the manifest's probes, V2 model
// metadata and inference over HTTP, the same over gRPC on the port the
// gRPC InferenceService names, and the queue-depth metric the autoscaling
// example queries.
func TestE2EKServeRuntime(t *testing.T) {
	lib := requireORT(t)
	rt := kserveRuntime(t)
	c := rt.Spec.Containers[0]
	httpPort, grpcPort := flagPort(t, c.Args, "--http-port"), flagPort(t, c.Args, "--grpc-port")
	if len(c.Ports) != 1 || c.Ports[0].ContainerPort != httpPort || httpPort != 8080 {
		t.Fatalf("container ports %+v: want KServe's 8080, the --http-port", c.Ports)
	}
	if grpcPort != 8081 {
		t.Fatalf("--grpc-port %d: want KServe's 8081", grpcPort)
	}
	if got := grpcServicePort(t); got != grpcPort {
		t.Fatalf("the gRPC InferenceService's h2c port is %d, the runtime's --grpc-port %d", got, grpcPort)
	}

	repo := demoRepo(t)
	args, swapped := slices.Clone(c.Args), 0
	for i, a := range args {
		if strings.Contains(a, "/mnt/models") {
			args[i] = strings.ReplaceAll(a, "/mnt/models", repo)
			swapped++
		}
	}
	if swapped != 1 {
		t.Fatalf("args %q name /mnt/models %d times, want once", c.Args, swapped)
	}
	// The ports are the manifest's, unless this shared host already uses them.
	httpPort, grpcPort = hostPort(t, args, "--http-port", httpPort), hostPort(t, args, "--grpc-port", grpcPort)

	if len(c.Command) != 1 || filepath.Base(c.Command[0]) != "tiffin" {
		t.Fatalf("command %q: want the image's tiffin binary", c.Command)
	}
	cmd := exec.Command(buildTiffin(t), args...)
	env := containerEnv(t, c)
	cmd.Env = append([]string{"PATH=/usr/local/bin:/usr/bin:/bin", "TIFFIN_ORT_LIBRARY=" + lib}, env...)
	cmd.Dir = t.TempDir()
	p := startCmd(t, cmd)
	base := fmt.Sprintf("http://127.0.0.1:%d", httpPort)

	for name, pr := range map[string]*k8sProbe{"startupProbe": c.StartupProbe, "readinessProbe": c.ReadinessProbe, "livenessProbe": c.LivenessProbe} {
		if pr == nil || pr.HTTPGet == nil || !strings.HasPrefix(pr.HTTPGet.Path, "/v2/health/") || pr.HTTPGet.Port != 8080 {
			t.Fatalf("%s: want an httpGet of /v2/health/* on 8080, got %+v", name, pr)
		}
		waitOK(t, p, base+pr.HTTPGet.Path, name)
	}

	if r := get(t, base+"/v2/models/mlp-small"); r.status != 200 || !strings.Contains(string(r.body), `"name":"mlp-small"`) {
		t.Fatalf("model metadata: %d %s", r.status, r.body)
	}
	ts := &testServer{base: base}
	x := seqInput(3, 16, 0.5)
	if err := checkInfer(ts, "mlp-small", "input", []int{3, 16}, x, modelgen.MLPSmall().Forward(x, 3)); err != nil {
		t.Fatalf("V2 infer over HTTP: %v", err)
	}
	checkGRPC(t, grpcPort, x)
	metrics := checkQueueMetric(t, base+rt.Spec.Annotations["prometheus.kserve.io/path"], rt.Spec.Annotations["prometheus.kserve.io/port"])
	for _, kv := range env { // the manifest's env reached the server: its Go runtime reports the limit
		if v, ok := strings.CutPrefix(kv, "GOMEMLIMIT="); ok {
			m := regexp.MustCompile(`(?m)^go_gc_gomemlimit_bytes (\S+)$`).FindStringSubmatch(metrics)
			if m == nil {
				t.Fatal("/metrics has no go_gc_gomemlimit_bytes")
			}
			got, err1 := strconv.ParseFloat(m[1], 64)
			want, err2 := strconv.ParseFloat(v, 64)
			if err1 != nil || err2 != nil || got != want {
				t.Fatalf("go_gc_gomemlimit_bytes %s, want the manifest's GOMEMLIMIT %s", m[1], v)
			}
		}
	}
}

// kserveRuntime reads the ClusterServingRuntime and checks what KServe
// matches it by.
func kserveRuntime(t *testing.T) k8sObject {
	t.Helper()
	objs := readObjects(t, filepath.Join(kserveDir, "servingruntime.yaml"))
	if len(objs) != 1 || objs[0].Kind != "ClusterServingRuntime" || objs[0].APIVersion != "serving.kserve.io/v1alpha1" {
		t.Fatalf("servingruntime.yaml: want one serving.kserve.io/v1alpha1 ClusterServingRuntime, got %+v", objs)
	}
	rt := objs[0]
	if len(rt.Spec.SupportedModelFormats) == 0 || rt.Spec.SupportedModelFormats[0].Name != "onnx" {
		t.Fatalf("supportedModelFormats %+v: want onnx", rt.Spec.SupportedModelFormats)
	}
	if !slices.Contains(rt.Spec.ProtocolVersions, "v2") || !slices.Contains(rt.Spec.ProtocolVersions, "grpc-v2") {
		t.Fatalf("protocolVersions %q: want v2 and grpc-v2", rt.Spec.ProtocolVersions)
	}
	if len(rt.Spec.Containers) != 1 || rt.Spec.Containers[0].Name != "kserve-container" {
		t.Fatalf("want one container named kserve-container (KServe's name), got %d", len(rt.Spec.Containers))
	}
	for _, o := range readObjects(t, filepath.Join(kserveDir, "inferenceservice.yaml")) {
		if m := o.Spec.Predictor.Model; o.Kind != "InferenceService" || m.Runtime != rt.Metadata.Name || m.ModelFormat.Name != "onnx" ||
			!slices.Contains(rt.Spec.ProtocolVersions, m.ProtocolVersion) {
			t.Fatalf("inferenceservice.yaml: %s does not name runtime %s, format onnx and one of its protocols", o.Metadata.Name, rt.Metadata.Name)
		}
	}
	return rt
}

// grpcServicePort is the h2c port of the example InferenceService on grpc-v2.
func grpcServicePort(t *testing.T) int {
	t.Helper()
	for _, o := range readObjects(t, filepath.Join(kserveDir, "inferenceservice.yaml")) {
		if m := o.Spec.Predictor.Model; m.ProtocolVersion == "grpc-v2" {
			if len(m.Ports) != 1 || m.Ports[0].Name != "h2c" {
				t.Fatalf("%s: a grpc-v2 InferenceService needs one port named h2c, got %+v", o.Metadata.Name, m.Ports)
			}
			return m.Ports[0].ContainerPort
		}
	}
	t.Fatal("inferenceservice.yaml has no grpc-v2 example")
	return 0
}

// flagPort reads --name=N or --name N from args.
func flagPort(t *testing.T, args []string, name string) int {
	t.Helper()
	for i, a := range args {
		v, ok := strings.CutPrefix(a, name+"=")
		if !ok && a == name && i+1 < len(args) {
			v, ok = args[i+1], true
		}
		if ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("%s %q is not a port", name, v)
			}
			return n
		}
	}
	t.Fatalf("args %q set no %s", args, name)
	return 0
}

// hostPort keeps the manifest's port when it is free here, and otherwise
// rewrites that one flag to a free port, saying so.
func hostPort(t *testing.T, args []string, name string, port int) int {
	t.Helper()
	if l, err := net.Listen("tcp", fmt.Sprintf(":%d", port)); err == nil {
		l.Close()
		return port
	}
	free := freePort(t)
	for i, a := range args {
		if strings.HasPrefix(a, name+"=") {
			args[i] = fmt.Sprintf("%s=%d", name, free)
		}
	}
	t.Logf("port %d is in use on this host: %s=%d instead", port, name, free)
	return free
}

func waitOK(t *testing.T, p *proc, url, what string) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if code, err := httpGet(url); err == nil && code == 200 {
			return
		}
		if time.Now().After(deadline) || p.cmd.ProcessState != nil {
			t.Fatalf("%s %s: no 200 within 60s:\n%s", what, url, p.out.String())
		}
	}
}

func get(t *testing.T, url string) httpResult {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return httpResult{status: resp.StatusCode, header: resp.Header, body: b}
}

// checkGRPC calls the V2 gRPC service as a grpc-v2 InferenceService's
// clients do: server ready, model metadata, inference.
func checkGRPC(t *testing.T, port int, x []float32) {
	t.Helper()
	conn, err := grpc.NewClient(fmt.Sprintf("127.0.0.1:%d", port), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := pb.NewGRPCInferenceServiceClient(conn)
	if r, err := client.ServerReady(ctxT(t), &pb.ServerReadyRequest{}); err != nil || !r.Ready {
		t.Fatalf("gRPC ServerReady: %v %v", r, err)
	}
	if r, err := client.ModelMetadata(ctxT(t), &pb.ModelMetadataRequest{Name: "mlp-small"}); err != nil || r.Name != "mlp-small" {
		t.Fatalf("gRPC ModelMetadata: %v %v", r, err)
	}
	resp, err := client.ModelInfer(ctxT(t), mlpRequest("kserve", x, 3))
	if err != nil {
		t.Fatalf("gRPC ModelInfer: %v", err)
	}
	assertClose(t, "gRPC mlp-small", bytesF32(resp.RawOutputContents[0]), modelgen.MLPSmall().Forward(x, 3), 1e-5)
}

// checkQueueMetric: the runtime's Prometheus annotations point at tiffin's
// /metrics, and every tiffin metric the autoscaling example queries is there.
func checkQueueMetric(t *testing.T, url, annotatedPort string) string {
	t.Helper()
	if annotatedPort != "8080" {
		t.Fatalf("prometheus.kserve.io/port %q: want the HTTP port, 8080", annotatedPort)
	}
	metrics := get(t, url)
	if metrics.status != 200 {
		t.Fatalf("%s: %d", url, metrics.status)
	}
	objs := readObjects(t, filepath.Join(kserveDir, "inferenceservice-keda.yaml"))
	var names []string
	for _, o := range objs {
		for _, m := range o.Spec.Predictor.AutoScaling.Metrics {
			names = append(names, regexp.MustCompile(`tiffin_[a-z_]+`).FindAllString(m.External.Metric.Query, -1)...)
		}
	}
	if !slices.Contains(names, "tiffin_queue_depth") {
		t.Fatalf("inferenceservice-keda.yaml queries %q: want tiffin_queue_depth", names)
	}
	for _, n := range names {
		if !strings.Contains(string(metrics.body), "\n"+n+"{") {
			t.Errorf("/metrics has no %s, which inferenceservice-keda.yaml scales on", n)
		}
	}
	return string(metrics.body)
}
