package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/tiffin-ml/tiffin/runtime/config"
	pb "github.com/tiffin-ml/tiffin/transport/grpc/inferencepb"
)

// testPKI is a throwaway CA with a server certificate for 127.0.0.1 and a
// client certificate, all made in the test, written as PEM files.
type testPKI struct {
	caFile, certFile, keyFile string
	pool                      *x509.CertPool
	client                    tls.Certificate
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	dir := t.TempDir()
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	caKey := newKey()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tiffin test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	issue := func(serial int64, usage x509.ExtKeyUsage, ips []net.IP) ([]byte, *ecdsa.PrivateKey) {
		k := newKey()
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "tiffin test"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: ips}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, k
	}
	write := func(name, kind string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	keyDER := func(k *ecdsa.PrivateKey) []byte {
		b, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	serverDER, serverKey := issue(2, x509.ExtKeyUsageServerAuth, []net.IP{net.ParseIP("127.0.0.1")})
	clientDER, clientKey := issue(3, x509.ExtKeyUsageClientAuth, nil)
	p := testPKI{
		caFile:   write("ca.pem", "CERTIFICATE", caDER),
		certFile: write("server.pem", "CERTIFICATE", serverDER),
		keyFile:  write("server.key", "EC PRIVATE KEY", keyDER(serverKey)),
		pool:     x509.NewCertPool(),
		client:   tls.Certificate{Certificate: [][]byte{clientDER}, PrivateKey: clientKey},
	}
	p.pool.AddCert(ca)
	return p
}

// TestE2ETLS serves HTTP, gRPC and the metrics listener over TLS with a
// certificate made in the test, then requires client certificates (mTLS).
func TestE2ETLS(t *testing.T) {
	pki := newTestPKI(t)
	for _, mtls := range []bool{false, true} {
		t.Run("mtls="+strconv.FormatBool(mtls), func(t *testing.T) {
			grpcPort, metricsPort := freePort(t), freePort(t)
			ts := startServer(t, demoRepo(t), func(c *config.Server) {
				c.GRPCPort, c.MetricsPort = grpcPort, metricsPort
				c.TLS = config.TLS{Cert: pki.certFile, Key: pki.keyFile}
				if mtls {
					c.TLS.ClientCA = pki.caFile
				}
			})
			clientTLS := &tls.Config{RootCAs: pki.pool}
			if mtls {
				clientTLS.Certificates = []tls.Certificate{pki.client}
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
			if _, err := http.Get("http://" + ts.srv.Addr() + "/v2/health/ready"); err == nil {
				t.Fatal("plain HTTP to the TLS port answered")
			}
			if mtls {
				if _, err := get(&tls.Config{RootCAs: pki.pool}, "https://"+ts.srv.Addr()+"/v2/health/live"); err == nil {
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
