package audit

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// SyslogConfig configures forwarding to an ATNA audit repository.
type SyslogConfig struct {
	// Addr is the repository's host:port (RFC 5425 registers 6514).
	Addr string
	// TLS is the client TLS configuration (required: RootCAs for the
	// repository, Certificates for mutual node authentication as ATNA
	// requires, ServerName when Addr is an IP). MinVersion below TLS 1.2
	// is raised to 1.2.
	TLS *tls.Config
	// Hostname is the HOSTNAME field. Default: os.Hostname.
	Hostname string
	// AppName is the APP-NAME field. Default "pjd".
	AppName string
	// Site names this gateway in the AuditEvent payload.
	Site string
	// QueueSize bounds records waiting to be sent; beyond it records are
	// dropped (and counted). Default 10000.
	QueueSize int
	// DialTimeout and WriteTimeout bound one connect and one write.
	// Defaults 5 s and 10 s.
	DialTimeout, WriteTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait between reconnects.
	// Defaults 100 ms and 30 s.
	MinBackoff, MaxBackoff time.Duration
	// Metrics counts sent and dropped records. Default NopMetrics.
	Metrics Metrics
}

// Syslog message constants. PRI 85 = facility 10 (security/authorization,
// as ATNA uses) × 8 + severity 5 (notice).
const (
	SyslogPRI = 85
	// SyslogMsgID is the MSGID of forwarded records. The payload is a FHIR
	// R4 AuditEvent in JSON, not the DICOM audit message ITI-20 tags
	// "IHE+RFC-3881", so it carries its own id.
	SyslogMsgID = "AuditEvent"
	// SyslogSDID is the structured-data element carrying the record's
	// identity and its place in the hash chain (32473 is the enterprise
	// number RFC 5612 reserves for documentation; operators with their
	// own may change it).
	SyslogSDID = "pjd-audit@32473"
)

// SyslogStats counts what the forwarder did.
type SyslogStats struct {
	Sent, Dropped, ConnErrors uint64
}

// SyslogForwarder sends every committed record to a syslog receiver as an
// RFC 5424 message over TLS with RFC 5425 octet-counting framing. It is
// asynchronous: Forward never blocks and never fails — the audit log in
// the database is the record of truth, the repository a copy (and an
// independent witness of the chain's hashes). A bounded queue absorbs
// outages; past it records are dropped and counted. A record whose write
// fails is sent again after reconnecting, and a connection the receiver
// has closed is noticed before the next write; syslog over TCP has no
// acknowledgements, though, so a record written in the instant the
// receiver dies can still be lost (the database keeps it regardless).
type SyslogForwarder struct {
	cfg     SyslogConfig
	queue   chan Record
	closing chan struct{}
	done    chan struct{}
	once    sync.Once
	mu      sync.RWMutex // guards closed against sends on queue
	closed  bool
	sent    atomic.Uint64
	dropped atomic.Uint64
	connErr atomic.Uint64
}

// NewSyslogForwarder starts a forwarder. It connects lazily and keeps
// reconnecting; a receiver that is down at start is not an error.
func NewSyslogForwarder(cfg SyslogConfig) (*SyslogForwarder, error) {
	if cfg.Addr == "" {
		return nil, errors.New("audit: syslog: no address")
	}
	if _, _, err := net.SplitHostPort(cfg.Addr); err != nil {
		return nil, fmt.Errorf("audit: syslog: address %q: %w", cfg.Addr, err)
	}
	if cfg.TLS == nil {
		return nil, errors.New("audit: syslog: TLS configuration required (RFC 5425)")
	}
	cfg.TLS = cfg.TLS.Clone()
	if cfg.TLS.MinVersion < tls.VersionTLS12 {
		cfg.TLS.MinVersion = tls.VersionTLS12
	}
	if cfg.Hostname == "" {
		cfg.Hostname, _ = os.Hostname()
	}
	if cfg.AppName == "" {
		cfg.AppName = "pjd"
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 10000
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 5 * time.Second
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 100 * time.Millisecond
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(30*time.Second, cfg.MinBackoff)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NopMetrics{}
	}
	f := &SyslogForwarder{
		cfg:     cfg,
		queue:   make(chan Record, cfg.QueueSize),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
	}
	go f.run()
	return f, nil
}

// Forward queues recs for sending; it never blocks. Use it as
// LoggerOptions.OnCommit.
func (f *SyslogForwarder) Forward(recs []Record) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	for _, r := range recs {
		if f.closed {
			f.drop()
			continue
		}
		select {
		case f.queue <- r:
		default:
			f.drop()
		}
	}
}

func (f *SyslogForwarder) drop() {
	f.dropped.Add(1)
	f.cfg.Metrics.SyslogDropped()
}

// Stats returns the counters.
func (f *SyslogForwarder) Stats() SyslogStats {
	return SyslogStats{Sent: f.sent.Load(), Dropped: f.dropped.Load(), ConnErrors: f.connErr.Load()}
}

// Close stops accepting records and sends what is queued until ctx ends;
// what is still queued then is dropped and counted.
func (f *SyslogForwarder) Close(ctx context.Context) error {
	f.mu.Lock()
	if !f.closed {
		f.closed = true
		close(f.queue)
	}
	f.mu.Unlock()
	select {
	case <-f.done:
		return nil
	case <-ctx.Done():
		f.once.Do(func() { close(f.closing) })
		<-f.done
		return ctx.Err()
	}
}

// conn is one live connection; dead is closed when the receiver hangs up
// (the reader sees EOF), so a write is never aimed at a connection already
// known to be gone.
type syslogConn struct {
	c    net.Conn
	dead chan struct{}
}

func (f *SyslogForwarder) run() {
	defer close(f.done)
	var conn *syslogConn
	defer func() {
		if conn != nil {
			conn.c.Close()
		}
	}()
	backoff := f.cfg.MinBackoff
	for r := range f.queue {
		frame, err := f.frame(r)
		if err != nil {
			f.drop() // cannot happen for a valid record; counted, not fatal
			continue
		}
		for {
			if conn != nil {
				select {
				case <-conn.dead:
					conn.c.Close()
					conn = nil
				default:
				}
			}
			if conn == nil {
				conn, err = f.dial()
				if err != nil {
					f.connErr.Add(1)
					f.cfg.Metrics.SyslogConnError()
					if !f.sleep(backoff) {
						f.drainDropped(1)
						return
					}
					backoff = min(2*backoff, f.cfg.MaxBackoff)
					continue
				}
				backoff = f.cfg.MinBackoff
			}
			conn.c.SetWriteDeadline(time.Now().Add(f.cfg.WriteTimeout))
			if _, err := conn.c.Write(frame); err != nil {
				f.connErr.Add(1)
				f.cfg.Metrics.SyslogConnError()
				conn.c.Close()
				conn = nil
				continue // send this record again on a new connection
			}
			f.sent.Add(1)
			f.cfg.Metrics.SyslogSent()
			break
		}
	}
}

// sleep waits d (with jitter) unless the forwarder is being closed
// without patience; it reports whether to keep going.
func (f *SyslogForwarder) sleep(d time.Duration) bool {
	d = d/2 + rand.N(d/2+1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-f.closing:
		return false
	}
}

// drainDropped counts the record in hand and everything still queued as
// dropped (Close ran out of time).
func (f *SyslogForwarder) drainDropped(inHand int) {
	for range inHand {
		f.drop()
	}
	for range f.queue {
		f.drop()
	}
}

func (f *SyslogForwarder) dial() (*syslogConn, error) {
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: f.cfg.DialTimeout}, Config: f.cfg.TLS}
	ctx, cancel := context.WithTimeout(context.Background(), f.cfg.DialTimeout)
	defer cancel()
	c, err := d.DialContext(ctx, "tcp", f.cfg.Addr)
	if err != nil {
		return nil, err
	}
	sc := &syslogConn{c: c, dead: make(chan struct{})}
	go func() {
		// Receivers never send; a read returns only when they hang up.
		io.Copy(io.Discard, c)
		close(sc.dead)
	}()
	return sc, nil
}

// frame returns r as one RFC 5425 frame: "MSG-LEN SP SYSLOG-MSG".
func (f *SyslogForwarder) frame(r Record) ([]byte, error) {
	msg, err := FormatSyslog(r, f.cfg.Hostname, f.cfg.AppName, View{Site: f.cfg.Site})
	if err != nil {
		return nil, err
	}
	return append([]byte(strconv.Itoa(len(msg))+" "), msg...), nil
}

// FormatSyslog renders r as an RFC 5424 message:
//
//	<85>1 TIMESTAMP HOSTNAME APP-NAME - AuditEvent [pjd-audit@32473 id=… seq=… hash=… transaction=… outcome=…] BOM{AuditEvent JSON}
//
// The structured data names the record and its chain hash, so the
// repository holds an independent copy of the chain's heads; the message
// is the record as a FHIR AuditEvent (compliance view).
func FormatSyslog(r Record, hostname, appName string, v View) ([]byte, error) {
	payload, err := json.Marshal(ToAuditEvent(r, v))
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "<%d>1 %s %s %s - %s [%s", SyslogPRI, r.Time.UTC().Format("2006-01-02T15:04:05.000Z"),
		headerField(hostname, 255), headerField(appName, 48), SyslogMsgID, SyslogSDID)
	for _, p := range [][2]string{
		{"id", r.ID}, {"seq", strconv.FormatInt(r.Seq, 10)}, {"hash", r.Hash},
		{"transaction", r.Transaction}, {"outcome", string(r.Outcome)},
	} {
		b.WriteString(" " + p[0] + `="` + sdEscape(p[1]) + `"`)
	}
	b.WriteString("] \xEF\xBB\xBF") // BOM: the message is UTF-8
	b.Write(payload)
	return b.Bytes(), nil
}

// headerField makes s a valid RFC 5424 header field: printable US-ASCII
// without spaces, at most n characters, "-" when empty.
func headerField(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 33 || r > 126 {
			return -1
		}
		return r
	}, s)
	if len(s) > n {
		s = s[:n]
	}
	if s == "" {
		return "-"
	}
	return s
}

// sdEscape escapes a PARAM-VALUE: '"', '\' and ']' get a backslash.
func sdEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, `]`, `\]`).Replace(s)
}
