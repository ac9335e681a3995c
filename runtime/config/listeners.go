package config

import "fmt"

// TLS is the certificate both front ends serve with. Empty: plain text.
type TLS struct {
	Cert     string // --tls-cert: PEM certificate (chain) file
	Key      string // --tls-key: PEM private key file
	ClientCA string // --tls-client-ca: PEM CA bundle; set: clients must present a certificate it signed (mTLS)
}

// On reports whether the front ends serve TLS.
func (t TLS) On() bool { return t.Cert != "" }

// MetricsCompatTriton is the --metrics-compat value that adds Triton's
// nv_inference_* metric names.
const MetricsCompatTriton = "triton"

// validateTriton checks the flags that follow Triton's conventions: the
// listeners, the metrics and TLS.
func (s *Server) validateTriton() error {
	if !s.AllowHTTP && !s.AllowGRPC {
		return fmt.Errorf("--allow-http and --allow-grpc are both false: nothing would serve")
	}
	if s.MetricsPort < -1 || s.MetricsPort > 65535 {
		return fmt.Errorf("--metrics-port: %d is not a port (-1: none)", s.MetricsPort)
	}
	if s.MetricsCompat != "" && s.MetricsCompat != MetricsCompatTriton {
		return fmt.Errorf("--metrics-compat: want triton or empty, got %q", s.MetricsCompat)
	}
	switch {
	case (s.TLS.Cert == "") != (s.TLS.Key == ""):
		return fmt.Errorf("--tls-cert and --tls-key go together: give both or neither")
	case s.TLS.ClientCA != "" && s.TLS.Cert == "":
		return fmt.Errorf("--tls-client-ca needs --tls-cert and --tls-key: mTLS is TLS first")
	}
	return nil
}
