package bench

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"pjd/cmd/pjd/internal/synth"
	"pjd/gateway/xdsclient"
	"pjd/registry"
	"pjd/repository"
)

// ---- transfer: ITI-41 / ITI-43 next to plain S3 ----

// Transfer moves documents of one size through a pjd server on S3
// (ITI-41 in, ITI-43 out) and, as the baseline, through minio-go straight
// to the same S3 server (PutObject with the size known, GetObject).
type Transfer struct {
	srv     *Server
	xc      *xdsclient.Client
	s3      *minio.Client
	bucket  string
	size    int64
	patient string
	// patients, when set, spreads submissions over that many patients (as
	// concurrent submissions from a nation's sources are) instead of one.
	patients int
	seq      atomic.Uint64
	closers  closers

	mu       sync.Mutex
	uploaded []synth.Doc // documents registered, by uniqueId order
	uids     []string
	objects  []synth.Doc // baseline objects to read (key: objectKey)
}

// NewTransfer starts the transfer benchmark's server (with start) on svc
// and warms it up.
func NewTransfer(ctx context.Context, start StartServer, svc *Services, log *slog.Logger, size int64) (_ *Transfer, err error) {
	t := &Transfer{size: size, bucket: svc.S3.Bucket, patient: registry.SamplePatientID(7)}
	defer func() {
		if err != nil {
			t.Close()
		}
	}()
	t.srv, err = startOn(ctx, start, svc, log, &t.closers, "--max-document-size", strconv.FormatInt(size, 10),
		"--max-request-size", strconv.FormatInt(size+16<<20, 10))
	if err != nil {
		return nil, err
	}
	// Keep a connection per client, as the minio-go baseline does (its
	// transport keeps 16 per host): net/http's default keeps 2, and the
	// register case's 8 clients paid a new TCP connection (and the server a
	// new connection goroutine) for most submissions.
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute}
	t.closers.add(tr.CloseIdleConnections)
	t.xc = xdsclient.New(t.srv.URL, &http.Client{Transport: tr, Timeout: 30 * time.Minute})
	t.s3, err = minio.New(svc.S3.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(svc.S3.AccessKey, svc.S3.SecretKey, ""), Secure: !svc.S3Insecure})
	if err != nil {
		return nil, err
	}
	t.seq.Store(randomSeq())
	// One document each way first: connections, pools and caches warm,
	// and something to read in the read runs.
	if err := t.provide(ctx, 0); err != nil {
		return nil, fmt.Errorf("warm-up ITI-41: %w", err)
	}
	if err := t.put(ctx, 0); err != nil {
		return nil, fmt.Errorf("warm-up PutObject: %w", err)
	}
	return t, nil
}

// Close stops the server and removes what the benchmark made.
func (t *Transfer) Close() { t.closers.close() }

// provide registers one document with ITI-41 (size and hash not declared:
// the repository measures them as it streams).
func (t *Transfer) provide(ctx context.Context, _ uint64) error {
	seq := t.seq.Add(1)
	p := synth.Doc{Seed: seq, Size: t.size}
	patient := t.patient
	if t.patients > 0 {
		patient = registry.SamplePatientID(int(seq % uint64(t.patients)))
	}
	sub, docs := synth.Submission(seq, patient, p)
	resp, err := t.xc.Provide(ctx, sub, docs)
	if err != nil {
		return err
	}
	if resp.Status != registry.ResponseSuccess {
		return fmt.Errorf("ITI-41: %s %v", resp.Status, resp.Errors)
	}
	t.mu.Lock()
	t.uploaded = append(t.uploaded, p)
	t.uids = append(t.uids, sub.Documents[0].UniqueID)
	t.mu.Unlock()
	return nil
}

// retrieve reads a registered document back with ITI-43, verifying every
// byte.
func (t *Transfer) retrieve(ctx context.Context, i uint64) error {
	t.mu.Lock()
	k := int(i % uint64(len(t.uids)))
	p, uid := t.uploaded[k], t.uids[k]
	t.mu.Unlock()
	res, err := t.xc.Retrieve(ctx, []repository.DocumentRequest{{RepositoryUniqueID: t.srv.RepositoryID, DocumentUniqueID: uid}})
	if err != nil {
		return err
	}
	defer res.Close()
	if res.Response.Errors.Failed() {
		return res.Response.Errors
	}
	_, body, err := res.Next()
	if err != nil {
		return err
	}
	_, err = p.Verify(body)
	return err
}

// put stores the same bytes with plain minio-go PutObject, size known.
func (t *Transfer) put(ctx context.Context, _ uint64) error {
	seq := t.seq.Add(1)
	d := synth.Doc{Seed: seq, Size: t.size}
	if _, err := t.s3.PutObject(ctx, t.bucket, objectKey(d), d.Reader(), t.size, minio.PutObjectOptions{}); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.objects = append(t.objects, d)
	if len(t.objects) > 4 {
		// Keep a few to read; remove the rest as the run goes.
		old := t.objects[0]
		t.objects = t.objects[1:]
		return t.s3.RemoveObject(ctx, t.bucket, objectKey(old), minio.RemoveObjectOptions{})
	}
	return nil
}

func objectKey(d synth.Doc) string { return fmt.Sprintf("bench/put-%d", d.Seed) }

// get reads a baseline object with plain minio-go GetObject, checking
// every byte as retrieve does (the client's work is the same on both
// sides; the difference is pjd).
func (t *Transfer) get(ctx context.Context, i uint64) error {
	t.mu.Lock()
	d := t.objects[int(i%uint64(len(t.objects)))]
	t.mu.Unlock()
	o, err := t.s3.GetObject(ctx, t.bucket, objectKey(d), minio.GetObjectOptions{})
	if err != nil {
		return err
	}
	defer o.Close()
	_, err = d.Verify(o)
	return err
}

// Cases are the cases of the transfer benchmark, each with the
// baseline it is compared with.
func (t *Transfer) Cases() []Case {
	return []Case{
		{Name: "s3-put", Unit: "documents", Bytes: t.size, Op: t.put},
		{Name: "iti-41", Unit: "documents", Bytes: t.size, Op: t.provide, Baseline: "s3-put"},
		{Name: "s3-get", Unit: "documents", Bytes: t.size, Op: t.get},
		{Name: "iti-43", Unit: "documents", Bytes: t.size, Op: t.retrieve, Baseline: "s3-get"},
	}
}

// TransferBenchmark runs every transfer case count times, serially.
func TransferBenchmark(ctx context.Context, start StartServer, svc *Services, log *slog.Logger, size int64, count int) ([]Row, error) {
	t, err := NewTransfer(ctx, start, svc, log, size)
	if err != nil {
		return nil, err
	}
	defer t.Close()
	var rows []Row
	for _, c := range t.Cases() {
		rows = append(rows, c.Row(RunSerial(ctx, count, c.Op)))
	}
	return rows, rowsErr(rows)
}

// RegisterWorkers is the number of clients of the register runs.
func RegisterWorkers() int { return 8 }

// RegisterBenchmark registers small documents (ITI-41) from several
// clients at once for d, next to plain PutObject of the same bytes from as
// many clients: submissions per second.
func RegisterBenchmark(ctx context.Context, start StartServer, svc *Services, log *slog.Logger, size int64, d time.Duration) ([]Row, error) {
	t, err := NewTransfer(ctx, start, svc, log, size)
	if err != nil {
		return nil, err
	}
	defer t.Close()
	t.patients = 100_000
	rows := []Row{
		Case{Name: "s3-put/max", Unit: "documents", Bytes: size, Op: t.put}.Row(RunClosedLoop(ctx, RegisterWorkers(), d, t.put)),
		Case{Name: "iti-41/max", Unit: "documents", Bytes: size, Op: t.provide, Baseline: "s3-put/max"}.Row(RunClosedLoop(ctx, RegisterWorkers(), d, t.provide)),
	}
	return rows, rowsErr(rows)
}
