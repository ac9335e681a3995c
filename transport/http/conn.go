package http

import (
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// wrapListener hands out its listener's connections wrapped: in lazyConn
// under TLS, in countingConn above it.
type wrapListener struct {
	net.Listener
	wrap func(net.Conn) net.Conn
}

func (l wrapListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return l.wrap(c), nil
}

func newCountingConn(c net.Conn) net.Conn { return &countingConn{Conn: c} }
func newLazyConn(c net.Conn) net.Conn     { return &lazyConn{Conn: c} }

// countingConn counts the bytes read, for closeFresh, and holds the
// connection's fasthttp state, which changes twice a request (trackConn).
type countingConn struct {
	net.Conn
	read  atomic.Int64
	state atomic.Int32 // a fasthttp.ConnState
}

// NetConn is the connection underneath, for watchHangup.
func (c *countingConn) NetConn() net.Conn { return c.Conn }

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

// lazyConn moves its socket's deadlines only when it must. fasthttp moves
// a connection's read deadline three times per request and its write
// deadline once, a little later each time; each move updated the runtime's
// timer heap under its lock (about 5% of the server's CPU on the tiny
// model). Here a deadline moved later is only noted: the socket keeps the
// earlier one, and when that fires, the read or write moves the socket's
// deadline to the one noted and carries on. A deadline moved earlier is
// set at once, so waking a blocked read still works. The cost: a hangup
// watch (waits.go) waiting on the socket when its stale deadline fires
// stops watching early, once per read timeout (60 s) at most.
type lazyConn struct {
	net.Conn
	rd, wd lazyDeadline
}

// lazyDeadline is one direction's deadline.
type lazyDeadline struct {
	mu   sync.Mutex // protects: want, set
	want time.Time  // the deadline asked for; zero: none
	set  time.Time  // the socket's; zero: none
}

// NetConn is the connection underneath, for watchHangup.
func (c *lazyConn) NetConn() net.Conn { return c.Conn }

func (c *lazyConn) SetReadDeadline(t time.Time) error {
	return c.rd.move(c.Conn, t, net.Conn.SetReadDeadline)
}
func (c *lazyConn) SetWriteDeadline(t time.Time) error {
	return c.wd.move(c.Conn, t, net.Conn.SetWriteDeadline)
}

func (c *lazyConn) SetDeadline(t time.Time) error {
	return errors.Join(c.SetReadDeadline(t), c.SetWriteDeadline(t))
}

func (c *lazyConn) Read(p []byte) (int, error) {
	for {
		n, err := c.Conn.Read(p)
		if n == 0 && errors.Is(err, os.ErrDeadlineExceeded) && c.rd.fired(c.Conn, net.Conn.SetReadDeadline) {
			continue
		}
		return n, err
	}
}

func (c *lazyConn) Write(p []byte) (int, error) {
	done := 0
	for {
		n, err := c.Conn.Write(p[done:])
		done += n
		if errors.Is(err, os.ErrDeadlineExceeded) && c.wd.fired(c.Conn, net.Conn.SetWriteDeadline) {
			continue
		}
		return done, err
	}
}

// move notes the deadline t, and sets it on the socket unless the socket's
// own comes first.
func (d *lazyDeadline) move(c net.Conn, t time.Time, set func(net.Conn, time.Time) error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.want = t
	if t.Equal(d.set) || (!d.set.IsZero() && (t.IsZero() || t.After(d.set))) {
		return nil // unchanged, or later: the socket's fires first, and fired moves it then
	}
	d.set = t
	return set(c, t)
}

// fired is told that the socket's deadline passed. It reports whether
// that was only an earlier deadline since moved later, in which case the
// socket now has the later one and the caller retries.
func (d *lazyDeadline) fired(c net.Conn, set func(net.Conn, time.Time) error) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.want.Equal(d.set) {
		return false // the deadline asked for has passed
	}
	d.set = d.want
	return set(c, d.want) == nil
}
