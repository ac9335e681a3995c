// Package tlstest makes a throwaway certificate authority, a server
// certificate for 127.0.0.1 and localhost, and a client certificate, all
// in memory, and writes them as PEM files: what the TLS tests and the
// interop suite serve and connect with. It is imported by tests and test
// tools only; nothing it makes is fit for real use (one-hour lifetimes).
package tlstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// PKI is what Write made: the files, and the same material in memory for
// Go clients.
type PKI struct {
	CAFile, CertFile, KeyFile     string // the CA; the server's certificate and key
	ClientCertFile, ClientKeyFile string // the client's certificate and key, for mTLS
	Pool                          *x509.CertPool
	Client                        tls.Certificate
}

// Write makes the CA and both certificates and writes ca.pem, server.pem,
// server.key, client.pem and client.key into dir.
func Write(dir string, lifetime time.Duration) (PKI, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return PKI{}, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tiffin test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(lifetime),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return PKI{}, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return PKI{}, err
	}
	p := PKI{Pool: x509.NewCertPool()}
	p.Pool.AddCert(ca)
	if p.CAFile, err = writePEM(dir, "ca.pem", "CERTIFICATE", caDER); err != nil {
		return p, err
	}
	leaf := func(serial int64, usage x509.ExtKeyUsage, certName, keyName string) (string, string, tls.Certificate, error) {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return "", "", tls.Certificate{}, err
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "tiffin test"},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(lifetime), KeyUsage: x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{usage}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			return "", "", tls.Certificate{}, err
		}
		keyDER, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			return "", "", tls.Certificate{}, err
		}
		cf, err := writePEM(dir, certName, "CERTIFICATE", der)
		if err != nil {
			return "", "", tls.Certificate{}, err
		}
		kf, err := writePEM(dir, keyName, "EC PRIVATE KEY", keyDER)
		return cf, kf, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}, err
	}
	if p.CertFile, p.KeyFile, _, err = leaf(2, x509.ExtKeyUsageServerAuth, "server.pem", "server.key"); err != nil {
		return p, err
	}
	p.ClientCertFile, p.ClientKeyFile, p.Client, err = leaf(3, x509.ExtKeyUsageClientAuth, "client.pem", "client.key")
	return p, err
}

func writePEM(dir, name, kind string, der []byte) (string, error) {
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return path, nil
}
