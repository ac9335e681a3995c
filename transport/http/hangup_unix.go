//go:build linux || darwin

package http

import (
	"errors"
	"net"
	"sync"
	"syscall"
	"time"
)

// watchHangup calls cancel when the client closes conn while its request
// waits, so that a request nobody will read is dropped before it costs
// compute (gRPC has this from its stream context; fasthttp has no
// per-request close notice). It peeks at the socket without consuming
// anything: a pipelined next request stays for fasthttp to read. stop ends
// the watch and must be called before the handler returns.
func watchHangup(outer net.Conn, cancel func()) (stop func()) {
	conn := outer
	for {
		c, ok := conn.(interface{ NetConn() net.Conn })
		if !ok {
			break
		}
		conn = c.NetConn()
	}
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return func() {}
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return func() {}
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var b [1]byte
		_ = raw.Read(func(fd uintptr) bool {
			n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			switch {
			case errors.Is(err, syscall.EAGAIN):
				return false // nothing yet: wait until the socket is readable
			case n == 0 && err == nil, errors.Is(err, syscall.ECONNRESET):
				cancel() // end of stream: the client hung up
			}
			return true // data (a pipelined request) or an error: stop watching
		})
	}()
	return func() {
		// Through the outer connection: a lazyConn must know what its
		// socket's deadline is (conn.go).
		_ = outer.SetReadDeadline(time.Unix(1, 0)) // wakes the watcher
		wg.Wait()
		_ = outer.SetReadDeadline(time.Time{}) // fasthttp sets its own for the next request
	}
}
