package api

import (
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// connLimiter is the main listener, bounded to max open connections.
//
// Beyond three quarters of max, the server's idle keep-alive connections
// are closed (at most once a second: it scans every connection). Whoever
// opened many connections to keep them idle, one request every idle
// timeout, loses them all, while callers that connect now (health probes
// included) are still served.
//
// At max, a new connection is closed at once, before TLS (this listener
// is under the TLS one) and before net/http sees it: no handshake, no
// goroutine, no log line. broker_connections_refused_total counts it (on
// the main listener; a metrics listener has its own, smaller bound).
type connLimiter struct {
	net.Listener
	s       *Server       // for its clock
	open    *atomic.Int64 // counts the open connections
	refused func()        // counts a refused one
	srv     *http.Server  // serves them
	max     int64
	swept   atomic.Int64 // UnixNano of the last closing of idle connections
}

// limitConns returns ln bounded by MaxConnections for srv.
func (s *Server) limitConns(ln net.Listener, srv *http.Server) net.Listener {
	return &connLimiter{Listener: ln, s: s, open: &s.conns, refused: s.metrics.connsRefused.Inc, srv: srv, max: int64(s.cfg.MaxConnections)}
}

// maxMetricsConns bounds the connections of a separate metrics listener. A
// scraper keeps one or two; without a bound, connections held open there
// would use up the process's file descriptors, which the main listener
// needs too.
const maxMetricsConns = 64

// limitMetricsConns returns ln, the metrics listener, bounded by
// maxMetricsConns for srv (not counted in broker_connections_*).
func (s *Server) limitMetricsConns(ln net.Listener, srv *http.Server) net.Listener {
	return &connLimiter{Listener: ln, s: s, open: &s.metricsConns, refused: func() {}, srv: srv, max: maxMetricsConns}
}

// Accept returns the next connection within the bound, closing those
// beyond it.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		n := l.open.Add(1)
		if n > l.max {
			l.open.Add(-1)
			l.refused()
			_ = c.Close()
			continue
		}
		if n > l.max*3/4 {
			l.closeIdle()
		}
		return &countedConn{Conn: c, l: l}, nil
	}
}

// closeIdle closes the server's idle connections, unless it did less than
// a second ago. net/http offers this only through SetKeepAlivesEnabled:
// turning keep-alives off closes the idle connections, and they are turned
// on again at once (a response written in between closes its connection).
func (l *connLimiter) closeIdle() {
	now := l.s.now().UnixNano()
	last := l.swept.Load()
	if now-last < int64(time.Second) || !l.swept.CompareAndSwap(last, now) {
		return
	}
	l.srv.SetKeepAlivesEnabled(false)
	l.srv.SetKeepAlivesEnabled(true)
}

// release uncounts a closed connection.
func (l *connLimiter) release() { l.open.Add(-1) }

// countedConn uncounts itself on its first Close; net/http closes every
// connection it accepted (the broker never hijacks one).
type countedConn struct {
	net.Conn
	l    *connLimiter
	once sync.Once
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.l.release)
	return err
}
