// Command tlsgen writes a throwaway CA, a server certificate for 127.0.0.1
// and a client certificate into a folder, for the interop suite's TLS run.
//
//	go run ./transport/grpc/interop/tlsgen DIR
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/tiffin-ml/tiffin/transport/tlstest"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: tlsgen DIR")
		os.Exit(2)
	}
	if err := os.MkdirAll(os.Args[1], 0o700); err != nil {
		fmt.Fprintln(os.Stderr, "tlsgen:", err)
		os.Exit(1)
	}
	if _, err := tlstest.Write(os.Args[1], 24*time.Hour); err != nil {
		fmt.Fprintln(os.Stderr, "tlsgen:", err)
		os.Exit(1)
	}
}
