package bench

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"
)

// randomSeq is a random first seq for the documents of a run, so that
// runs on one database do not collide (with room to count up).
func randomSeq() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.BigEndian.Uint64(b[:]) >> 24
}

// Op is one measured operation; i numbers the operations of a run.
type Op func(ctx context.Context, i uint64) error

// Latencies summarises a run of operations.
type Latencies struct {
	OK, Errors int
	FirstErr   error
	Dropped    int // fixed-rate runs: requests not sent because too many were outstanding
	Elapsed    time.Duration
	P50, P99   time.Duration
	Max        time.Duration
	Offered    float64 // fixed-rate runs: requests/s offered
}

// PerSecond is the rate of successful operations.
func (l Latencies) PerSecond() float64 {
	if l.Elapsed <= 0 {
		return 0
	}
	return float64(l.OK) / l.Elapsed.Seconds()
}

// Collector gathers Latencies from concurrent operations.
type Collector struct {
	mu       sync.Mutex
	lat      []time.Duration
	errs     int
	firstErr error
	dropped  int
}

// Add records one operation: its latency, or its error.
func (c *Collector) Add(d time.Duration, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.errs++
		if c.firstErr == nil {
			c.firstErr = err
		}
		return
	}
	c.lat = append(c.lat, d)
}

// Result summarises what was recorded over a run of elapsed.
func (c *Collector) Result(elapsed time.Duration) Latencies {
	c.mu.Lock()
	defer c.mu.Unlock()
	l := Latencies{OK: len(c.lat), Errors: c.errs, FirstErr: c.firstErr, Dropped: c.dropped, Elapsed: elapsed}
	if len(c.lat) > 0 {
		slices.Sort(c.lat)
		l.P50 = c.lat[len(c.lat)/2]
		l.P99 = c.lat[min(len(c.lat)-1, len(c.lat)*99/100)]
		l.Max = c.lat[len(c.lat)-1]
	}
	return l
}

// RunSerial runs op n times, one at a time.
func RunSerial(ctx context.Context, n int, op Op) Latencies {
	var c Collector
	start := time.Now()
	for i := range n {
		t0 := time.Now()
		err := op(ctx, uint64(i))
		c.Add(time.Since(t0), err)
		if ctx.Err() != nil {
			break
		}
	}
	return c.Result(time.Since(start))
}

// RunClosedLoop runs op from workers goroutines, each starting its next
// operation when the last ends, for d: the most the server takes.
func RunClosedLoop(ctx context.Context, workers int, d time.Duration, op Op) Latencies {
	var c Collector
	var seq atomic.Uint64
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for time.Now().Before(deadline) && ctx.Err() == nil {
				t0 := time.Now()
				err := op(ctx, seq.Add(1))
				c.Add(time.Since(t0), err)
			}
		})
	}
	wg.Wait()
	return c.Result(time.Since(start))
}

// maxOutstanding bounds the requests a fixed-rate run has open at once;
// beyond it, scheduled requests are counted as dropped instead of sent.
const maxOutstanding = 512

// RunAtRate offers op at rate per second for d, open loop: requests start
// on schedule whether or not earlier ones have finished. A latency is
// measured from the request's scheduled start, so a server that falls
// behind is charged for the queueing it causes.
func RunAtRate(ctx context.Context, rate float64, d time.Duration, op Op) Latencies {
	var c Collector
	interval := time.Duration(float64(time.Second) / rate)
	n := int(d / interval)
	sem := make(chan struct{}, maxOutstanding)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		at := start.Add(time.Duration(i) * interval)
		if wait := time.Until(at); wait > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
		}
		if ctx.Err() != nil {
			break
		}
		select {
		case sem <- struct{}{}:
		default:
			c.mu.Lock()
			c.dropped++
			c.mu.Unlock()
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			err := op(ctx, uint64(i))
			c.Add(time.Since(at), err)
		})
	}
	wg.Wait()
	l := c.Result(time.Since(start))
	l.Offered = rate
	return l
}

// Row is one line of a pjd bench table.
type Row struct {
	Name     string
	Unit     string // what one operation is: "searches", "reads", "queries", "documents"
	Bytes    int64  // per operation, for MB/s; 0: not a transfer
	Lat      Latencies
	Baseline string // the row this one is compared with, if any
}

// Versus compares r with its baseline b: MB/s for transfers (at a fixed
// offered rate both move the same bytes, so there the median latency),
// else the median latency.
func (r Row) Versus(b Row) (x float64, what string, ok bool) {
	if r.Bytes > 0 && r.Lat.Offered == 0 && b.MBPerSecond() > 0 {
		return r.MBPerSecond() / b.MBPerSecond(), "MB/s", true
	}
	if b.Lat.P50 > 0 {
		return float64(r.Lat.P50) / float64(b.Lat.P50), "p50", true
	}
	return 0, "", false
}

// MBPerSecond is the row's throughput (0 for a row that is not a
// transfer).
func (r Row) MBPerSecond() float64 {
	if r.Bytes == 0 {
		return 0
	}
	return r.Lat.PerSecond() * float64(r.Bytes) / 1e6
}

// PrintTable prints rows with each row's ratio to its baseline row.
func PrintTable(w io.Writer, name string, rows []Row) {
	byName := map[string]Row{}
	for _, r := range rows {
		byName[r.Name] = r
	}
	fmt.Fprintf(w, "\npjd bench %s (%s, GOMAXPROCS %d)\n\n", name, time.Now().UTC().Format(time.RFC3339), runtime.GOMAXPROCS(0))
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "CASE\tOK\tERRORS\tOFFERED/S\tDONE/S\tMB/S\tP50 MS\tP99 MS\tMAX MS\tVS BASELINE\t")
	for _, r := range rows {
		offered, mb, vs := "", "", ""
		if r.Lat.Offered > 0 {
			offered = fmt.Sprintf("%.0f", r.Lat.Offered)
		}
		if r.Bytes > 0 {
			mb = fmt.Sprintf("%.1f", r.MBPerSecond())
		}
		if b, ok := byName[r.Baseline]; ok {
			if x, what, ok := r.Versus(b); ok {
				vs = fmt.Sprintf("%.2f× %s of %s", x, what, r.Baseline)
			}
		}
		errs := strconv.Itoa(r.Lat.Errors)
		if r.Lat.Dropped > 0 {
			errs += fmt.Sprintf(" (+%d dropped)", r.Lat.Dropped)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%.1f %s\t%s\t%s\t%s\t%s\t%s\t\n", r.Name, r.Lat.OK, errs, offered, r.Lat.PerSecond(), r.Unit, mb,
			ms(r.Lat.P50), ms(r.Lat.P99), ms(r.Lat.Max), vs)
	}
	tw.Flush()
	for _, r := range rows {
		if r.Lat.FirstErr != nil {
			fmt.Fprintf(w, "%s: first error: %v\n", r.Name, r.Lat.FirstErr)
		}
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d)/1e6) }

// Case is one measured case: an operation and how to report it.
type Case struct {
	Name     string
	Unit     string
	Bytes    int64
	Op       Op
	Baseline string
}

// Row is the table row of c with latencies l.
func (c Case) Row(l Latencies) Row {
	return Row{Name: c.Name, Unit: c.Unit, Bytes: c.Bytes, Lat: l, Baseline: c.Baseline}
}

// rowsErr reports the first failed operation of a table.
func rowsErr(rows []Row) error {
	for _, r := range rows {
		if r.Lat.FirstErr != nil {
			return fmt.Errorf("%s: %d of %d operations failed; first: %w", r.Name, r.Lat.Errors, r.Lat.Errors+r.Lat.OK, r.Lat.FirstErr)
		}
		if r.Lat.Dropped > 0 {
			return fmt.Errorf("%s: %d requests not sent: more than %d outstanding", r.Name, r.Lat.Dropped, maxOutstanding)
		}
	}
	return nil
}
