// Command tlsgen writes a throwaway CA, a server certificate for 127.0.0.1
// and a client certificate into a folder, for the interop suite's TLS run.
//
//	go run ./transport/grpc/interop/tlsgen DIR
package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/tiffin-ml/tiffin/transport/tlstest"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "tlsgen:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: tlsgen DIR")
	}
	if err := os.MkdirAll(args[0], 0o700); err != nil {
		return err
	}
	_, err := tlstest.Write(args[0], 24*time.Hour)
	return err
}
