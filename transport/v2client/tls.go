package v2client

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"os"
)

// TLSFiles is how tiffin's own clients (`tiffin infer`, `bench`, `jobs`)
// reach a server that serves TLS (`tiffin serve --tls-cert`): a CA bundle
// to trust besides the system's roots, and a client certificate for a
// server that requires one (--tls-client-ca). HTTP turns TLS on with an
// https:// URL; gRPC, whose address has no scheme, with GRPC, or with any
// of the files.
type TLSFiles struct {
	CA, Cert, Key string // PEM files; empty: none
	GRPC          bool   // gRPC over TLS, trusting the system's roots (and CA)
}

// Flags registers --cacert, --cert and --key on fs, as curl names them,
// and --tls for a command that speaks gRPC.
func (f *TLSFiles) Flags(fs *flag.FlagSet, grpc bool) {
	fs.StringVar(&f.CA, "cacert", "", "PEM `FILE` of the CA that signed the server's certificate (besides the system's roots)")
	fs.StringVar(&f.Cert, "cert", "", "PEM `FILE` of a client certificate, for a server that requires one (mTLS); with --key")
	fs.StringVar(&f.Key, "key", "", "PEM `FILE` of the client certificate's key")
	if grpc {
		fs.BoolVar(&f.GRPC, "tls", false, "gRPC: connect over TLS (implied by --cacert and --cert; HTTP takes an https:// URL)")
	}
}

// Config is the client TLS configuration the files make, or nil when none
// is given. Each error names the file or flag at fault.
func (f TLSFiles) Config() (*tls.Config, error) {
	if f.CA == "" && f.Cert == "" && f.Key == "" && !f.GRPC {
		return nil, nil
	}
	if (f.Cert == "") != (f.Key == "") {
		return nil, errors.New("--cert and --key go together: the client certificate and its key")
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if f.CA != "" {
		pem, err := os.ReadFile(f.CA)
		if err != nil {
			return nil, fmt.Errorf("--cacert: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--cacert %s: no PEM certificate in it", f.CA)
		}
		cfg.RootCAs = pool
	}
	if f.Cert != "" {
		cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
		if err != nil {
			return nil, fmt.Errorf("--cert %s, --key %s: %w", f.Cert, f.Key, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}
