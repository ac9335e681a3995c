package main

import (
	"crypto/tls"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

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
