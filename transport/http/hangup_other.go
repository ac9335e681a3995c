//go:build !(linux || darwin)

package http

import "net"

// watchHangup is not available here: requests whose client hung up still
// run to their timeout.
func watchHangup(net.Conn, func()) func() { return func() {} }
