package v2client

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tiffin-ml/tiffin/transport/tlstest"
)

// TestTLSFiles: no files, no config; the files make a config that trusts
// the CA and presents the client certificate; each bad file or pairing is
// an error naming it.
func TestTLSFiles(t *testing.T) {
	dir := t.TempDir()
	pki, err := tlstest.Write(dir, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if cfg, err := (TLSFiles{}).Config(); cfg != nil || err != nil {
		t.Fatalf("no files: %v, %v; want no config", cfg, err)
	}
	if cfg, err := (TLSFiles{GRPC: true}).Config(); cfg == nil || err != nil || cfg.RootCAs != nil {
		t.Fatalf("--tls alone: %v, %v; want a config on the system's roots", cfg, err)
	}
	cfg, err := TLSFiles{CA: pki.CAFile, Cert: pki.ClientCertFile, Key: pki.ClientKeyFile}.Config()
	if err != nil || cfg.RootCAs == nil || len(cfg.Certificates) != 1 {
		t.Fatalf("all files: %+v, %v", cfg, err)
	}
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		f    TLSFiles
		want string
	}{
		{TLSFiles{CA: filepath.Join(dir, "missing.pem")}, "--cacert"},
		{TLSFiles{CA: notPEM}, "no PEM certificate"},
		{TLSFiles{Cert: pki.ClientCertFile}, "--cert and --key go together"},
		{TLSFiles{Key: pki.ClientKeyFile}, "--cert and --key go together"},
		{TLSFiles{Cert: pki.ClientCertFile, Key: notPEM}, "--key " + notPEM},
	} {
		if _, err := c.f.Config(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v; want an error naming %q", c.f, err, c.want)
		}
	}
	if _, err := NewHTTP("http://127.0.0.1:1", 1, time.Second, cfg); err == nil || !strings.Contains(err.Error(), "use an https:// URL") {
		t.Errorf("TLS for an http:// URL: %v", err)
	}
}
