package main

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tiffin-ml/tiffin/backends/modelgen"
	"github.com/tiffin-ml/tiffin/runtime/config"
	pb "github.com/tiffin-ml/tiffin/transport/inferencepb"
	"github.com/tiffin-ml/tiffin/transport/tlstest"
)

// TestE2ETLS serves HTTP, gRPC and the metrics listener over TLS with a
// certificate made in the test, then requires client certificates (mTLS).
func TestE2ETLS(t *testing.T) {
	pki, err := tlstest.Write(t.TempDir(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, mtls := range []bool{false, true} {
		t.Run("mtls="+strconv.FormatBool(mtls), func(t *testing.T) {
			grpcPort, metricsPort := freePort(t), freePort(t)
			ts := startServer(t, demoRepo(t), func(c *config.Server) {
				c.GRPCPort, c.MetricsPort = grpcPort, metricsPort
				c.TLS = config.TLS{Cert: pki.CertFile, Key: pki.KeyFile}
				if mtls {
					c.TLS.ClientCA = pki.CAFile
				}
			})
			clientTLS := &tls.Config{RootCAs: pki.Pool}
			if mtls {
				clientTLS.Certificates = []tls.Certificate{pki.Client}
			}
			get := func(cfg *tls.Config, url string) (int, error) {
				c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 10 * time.Second}
				resp, err := c.Get(url)
				if err != nil {
					return 0, err
				}
				resp.Body.Close()
				return resp.StatusCode, nil
			}
			for _, url := range []string{"https://" + ts.srv.Addr() + "/v2/health/ready",
				"https://127.0.0.1:" + strconv.Itoa(metricsPort) + "/metrics"} {
				if code, err := get(clientTLS, url); err != nil || code != http.StatusOK {
					t.Fatalf("GET %s over TLS: %d %v", url, code, err)
				}
			}
			if resp, err := http.Get("http://" + ts.srv.Addr() + "/v2/health/ready"); err == nil {
				resp.Body.Close()
				t.Fatal("plain HTTP to the TLS port answered")
			}
			if mtls {
				if _, err := get(&tls.Config{RootCAs: pki.Pool}, "https://"+ts.srv.Addr()+"/v2/health/live"); err == nil {
					t.Fatal("HTTPS without a client certificate answered under mTLS")
				}
			}

			addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(grpcPort))
			conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(clientTLS)))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			live, err := pb.NewGRPCInferenceServiceClient(conn).ServerLive(ctxT(t), &pb.ServerLiveRequest{})
			if err != nil || !live.Live {
				t.Fatalf("gRPC over TLS: %v %v", live, err)
			}
			plain, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				t.Fatal(err)
			}
			defer plain.Close()
			if _, err := pb.NewGRPCInferenceServiceClient(plain).ServerLive(ctxT(t), &pb.ServerLiveRequest{}); err == nil {
				t.Fatal("plain gRPC to the TLS port answered")
			}
		})
	}
}

// TestE2EClientsOverMTLS: tiffin's own clients reach a server that requires
// client certificates with --cacert, --cert and --key: `tiffin infer` over
// HTTPS and gRPC, `tiffin jobs` submitting and reading a job, `tiffin
// bench` with the server's CPU per request read from its HTTPS /metrics.
// Without the client certificate each is refused, and TLS files for a
// plain-text URL are an error that says so.
func TestE2EClientsOverMTLS(t *testing.T) {
	pki, err := tlstest.Write(t.TempDir(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	grpcPort := freePort(t)
	jobsOn := withJobs(t, 1, config.DefaultChunkBytes)
	ts := startServer(t, demoRepo(t), func(c *config.Server) {
		jobsOn(c)
		c.GRPCPort = grpcPort
		c.TLS = config.TLS{Cert: pki.CertFile, Key: pki.KeyFile, ClientCA: pki.CAFile}
	})
	https := "https://" + ts.srv.Addr()
	grpcAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(grpcPort))
	certs := []string{"--cacert", pki.CAFile, "--cert", pki.ClientCertFile, "--key", pki.ClientKeyFile}
	x := seqInput(1, 16, 2)
	want := modelgen.MLPSmall().Forward(x, 1)
	input := "input=" + jsonRows(x, 16)

	for _, wire := range [][]string{{"--http", https}, {"--http", https, "--binary"}, {"--grpc", grpcAddr}} {
		args := append([]string{"infer", "--model", "mlp-small", "--input", input}, wire...)
		out := runInfer(t, append(args, certs...))
		assertClose(t, fmt.Sprint(wire), out.values(t, 0), want, 1e-5)
		var stderr bytes.Buffer // the CA alone: the server asks for a certificate
		if code := run(append(args, "--cacert", pki.CAFile), &bytes.Buffer{}, &stderr); code != 1 {
			t.Fatalf("%v without a client certificate: exit %d, %s", wire, code, stderr.String())
		}
	}

	rows := filepath.Join(t.TempDir(), "rows.ndjson")
	if err := os.WriteFile(rows, []byte(`{"input":`+strings.TrimSuffix(strings.TrimPrefix(jsonRows(x, 16), "["), "]")+"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run(append([]string{"jobs", "submit", "--server", https, "--model", "mlp-small", "--input", rows, "--watch"}, certs...), &stdout, &stderr); code != 0 {
		t.Fatalf("jobs submit over mTLS: exit %d: %s", code, stderr.String())
	}
	stdout.Reset()
	if code := run(append([]string{"jobs", "list", "--server", https, "--json"}, certs...), &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), `"succeeded"`) {
		t.Fatalf("jobs list over mTLS: exit %d: %s %s", code, stdout.String(), stderr.String())
	}
	stderr.Reset()
	if code := run([]string{"jobs", "list", "--server", https, "--cacert", pki.CAFile}, &bytes.Buffer{}, &stderr); code != 1 {
		t.Fatalf("jobs list without a client certificate: exit %d, %s", code, stderr.String())
	}
	stderr.Reset()
	if code := run(append([]string{"jobs", "list", "--server", ts.base}, certs...), &bytes.Buffer{}, &stderr); code != 1 || !strings.Contains(stderr.String(), "use https://") {
		t.Fatalf("TLS files for an http:// server: exit %d, %s", code, stderr.String())
	}
	stderr.Reset()
	if code := run([]string{"infer", "--model", "mlp-small", "--input", input, "--http", https, "--cert", pki.ClientCertFile}, &bytes.Buffer{}, &stderr); code != 1 || !strings.Contains(stderr.String(), "--cert and --key go together") {
		t.Fatalf("--cert without --key: exit %d, %s", code, stderr.String())
	}

	report := filepath.Join(t.TempDir(), "r.json")
	stderr.Reset()
	if code := run(append([]string{"bench", "--model", "mlp-small", "--http", https, "--duration", "300ms", "--warmup", "100ms", "--out", report}, certs...), &bytes.Buffer{}, &stderr); code != 0 {
		t.Fatalf("bench over mTLS: exit %d: %s", code, stderr.String())
	}
	if b, err := os.ReadFile(report); err != nil || !strings.Contains(string(b), `"server_cpu_us_per_request"`) {
		t.Fatalf("bench's report has no server CPU per request (its /metrics over mTLS): %v\n%s", err, b)
	}
}

// jsonRows writes x as JSON rows of width values: [[a,b,...],...].
func jsonRows(x []float32, width int) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, v := range x {
		switch {
		case i%width == 0 && i > 0:
			b.WriteString("],[")
		case i%width == 0:
			b.WriteByte('[')
		default:
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatFloat(float64(v), 'g', -1, 32))
	}
	b.WriteString("]]")
	return b.String()
}
