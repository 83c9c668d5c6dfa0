package bench

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Progress reports a long load on w: on a terminal one line rewritten in
// place (count, rate, ETA), otherwise a plain line every interval and one
// at the end.
type Progress struct {
	w        io.Writer
	what     string
	total    int
	tty      bool
	interval time.Duration
	now      func() time.Time

	mu    sync.Mutex
	start time.Time
	last  time.Time
}

// NewProgress reports a load of total items named what (e.g.
// "DocumentEntries") on w.
func NewProgress(w io.Writer, what string, total int) *Progress {
	p := &Progress{w: w, what: what, total: total, interval: 5 * time.Second, now: time.Now}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty, p.interval = true, 200*time.Millisecond
		}
	}
	p.start = p.now()
	p.last = p.start
	return p
}

// Update reports done items so far.
func (p *Progress) Update(done int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	final := done >= p.total
	if !final && now.Sub(p.last) < p.interval {
		return
	}
	p.last = now
	el := now.Sub(p.start)
	rate := 0.0
	if el > 0 {
		rate = float64(done) / el.Seconds()
	}
	eta := "-"
	if rate > 0 && !final {
		eta = time.Duration(float64(p.total-done) / rate * float64(time.Second)).Round(time.Second).String()
	}
	pct := 100 * float64(done) / float64(max(1, p.total))
	line := fmt.Sprintf("loading %s: %s of %s (%.0f%%), %.0f/s, elapsed %v, ETA %s", p.what, thousands(done), thousands(p.total), pct, rate, el.Round(time.Second), eta)
	if p.tty {
		end := ""
		if final {
			end = "\n"
		}
		fmt.Fprintf(p.w, "\r\033[K%s%s", line, end)
		return
	}
	fmt.Fprintln(p.w, line)
}
