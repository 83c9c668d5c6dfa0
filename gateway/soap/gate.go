package soap

import (
	"context"
	"io"
	"net/http"
	"runtime"
	"runtime/debug"
	"sync"
	"time"
)

// A Gate bounds the memory that reading request envelopes can take.
// Envelopes are read and parsed before the sender is authenticated (the
// XUA assertion is inside them), so an anonymous client decides how many
// are in memory at once; the Gate lets at most Concurrent of them be read
// and parsed at the same time, answers the rest with a BusyFault (503 with
// Retry-After) once they have waited Wait for a turn, and gives each turn
// at most ReadTimeout to deliver its envelope. With the envelope limit
// (Limits.MaxEnvelope) that caps the memory of parsing at about
// Concurrent × a few times MaxEnvelope.
//
// Memory that a burst of large envelopes made the Go runtime take from
// the operating system would otherwise stay with the process until the
// runtime's scavenger slowly gives it back; a Gate returns it
// (debug.FreeOSMemory) once the requests that read at least
// ReturnMemoryAfter bytes of envelopes have finished and no such request
// has finished for a short quiet period.
//
// Attachments of MTOM messages are not counted: they stream after the
// envelope's turn has ended. A Gate is shared by the endpoints it guards
// and is safe for concurrent use.
type Gate struct {
	slots chan struct{}
	cfg   GateConfig

	mu      sync.Mutex
	read    int64 // envelope bytes read by finished requests since memory was last returned
	timer   *time.Timer
	returns int // how often memory was returned (for tests)
}

// GateConfig configures a Gate. Zero fields take the defaults.
type GateConfig struct {
	// Concurrent is how many envelopes may be read and parsed at once.
	// Default DefaultConcurrentEnvelopes().
	Concurrent int
	// Wait is how long a request waits for its turn before it is refused
	// as busy. Default 2 s.
	Wait time.Duration
	// ReadTimeout is how long a turn may take to receive the envelope; a
	// sender that dribbles its envelope slower gets a Sender fault (408),
	// so slow senders cannot hold every turn. Default 30 s.
	ReadTimeout time.Duration
	// ReturnMemoryAfter is how many envelope bytes must have been read
	// before memory is handed back to the operating system after a quiet
	// period. Default 16 MiB; negative: never.
	ReturnMemoryAfter int64
	// Quiet is how long no envelope-reading request may have finished
	// before memory is returned. Default 200 ms.
	Quiet time.Duration
	// Now and ReturnMemory are for tests (defaults time.Now and
	// debug.FreeOSMemory).
	Now          func() time.Time
	ReturnMemory func()
}

// DefaultConcurrentEnvelopes is the default GateConfig.Concurrent: two
// per CPU the Go runtime may use (parsing is CPU-bound; more at once only
// adds memory), at least 4.
func DefaultConcurrentEnvelopes() int { return max(4, 2*runtime.GOMAXPROCS(0)) }

// NewGate returns a Gate for cfg.
func NewGate(cfg GateConfig) *Gate {
	if cfg.Concurrent <= 0 {
		cfg.Concurrent = DefaultConcurrentEnvelopes()
	}
	if cfg.Wait <= 0 {
		cfg.Wait = 2 * time.Second
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = 30 * time.Second
	}
	if cfg.ReturnMemoryAfter == 0 {
		cfg.ReturnMemoryAfter = 16 << 20
	}
	if cfg.Quiet <= 0 {
		cfg.Quiet = 200 * time.Millisecond
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ReturnMemory == nil {
		cfg.ReturnMemory = debug.FreeOSMemory
	}
	return &Gate{slots: make(chan struct{}, cfg.Concurrent), cfg: cfg}
}

// turn is one request's passage through the gate.
type turn struct {
	g    *Gate
	body *gatedBody
	held bool
}

// enter waits for a turn for r (at most Wait, or until r's context ends)
// and installs a body that counts the envelope's bytes and enforces
// ReadTimeout until release.
func (g *Gate) enter(r *http.Request) (*turn, error) {
	wait := time.NewTimer(g.cfg.Wait)
	defer wait.Stop()
	select {
	case g.slots <- struct{}{}:
	case <-wait.C:
		return nil, BusyFault("The service is busy; try again shortly")
	case <-r.Context().Done():
		return nil, context.Cause(r.Context())
	}
	b := &gatedBody{r: r.Body, now: g.cfg.Now, deadline: g.cfg.Now().Add(g.cfg.ReadTimeout)}
	r.Body = b
	return &turn{g: g, body: b, held: true}, nil
}

// release ends the envelope's turn: attachments that follow are neither
// timed nor counted.
func (t *turn) release() {
	if !t.held {
		return
	}
	t.held = false
	t.body.released = true
	<-t.g.slots
}

// finish is called once the request has been answered: the envelope is
// garbage now, and when enough of them have been, memory goes back to the
// operating system after a quiet period.
func (t *turn) finish() {
	t.release()
	g := t.g
	if g.cfg.ReturnMemoryAfter < 0 {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.read += t.body.envelope
	if g.read < g.cfg.ReturnMemoryAfter {
		return
	}
	if g.timer == nil {
		g.timer = time.AfterFunc(g.cfg.Quiet, g.returnMemory)
	} else {
		g.timer.Reset(g.cfg.Quiet)
	}
}

func (g *Gate) returnMemory() {
	g.mu.Lock()
	g.read = 0
	g.returns++
	g.mu.Unlock()
	g.cfg.ReturnMemory()
}

// gatedBody is a request body during (and after) its envelope's turn.
type gatedBody struct {
	r        io.ReadCloser
	now      func() time.Time
	deadline time.Time
	envelope int64 // bytes read during the turn
	released bool
}

func (b *gatedBody) Read(p []byte) (int, error) {
	if b.released {
		return b.r.Read(p)
	}
	if b.late() {
		return 0, b.timeout()
	}
	n, err := b.r.Read(p)
	b.envelope += int64(n)
	if b.late() { // what arrived after the deadline does not count
		return 0, b.timeout()
	}
	return n, err
}

func (b *gatedBody) late() bool { return b.now().After(b.deadline) }

func (b *gatedBody) timeout() error {
	f := faultf(CodeSender, ErrTimeout, nil, "The SOAP envelope did not arrive in time")
	f.status = http.StatusRequestTimeout
	return f
}

func (b *gatedBody) Close() error { return b.r.Close() }
