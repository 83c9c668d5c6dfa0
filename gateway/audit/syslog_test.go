package audit_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"pjd/conformance/testenv"
	"pjd/gateway/audit"
	"pjd/gateway/audit/audittest"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

var syslogLine = regexp.MustCompile(`^<85>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (\S+) (\S+) - (\S+) \[pjd-audit@32473 id="([^"]*)" seq="(\d+)" hash="([0-9a-f]*)" transaction="([^"]*)" outcome="([^"]*)"\] \x{FEFF}(\{.*\})$`)

func TestFormatSyslog(t *testing.T) {
	r := sealedFull(t)
	msg, err := audit.FormatSyslog(r, "gw 1\nbad", "pjd", audit.View{Site: "pjd.test"})
	if err != nil {
		t.Fatal(err)
	}
	m := syslogLine.FindSubmatch(msg)
	if m == nil {
		t.Fatalf("not the RFC 5424 shape we send: %q", msg[:min(len(msg), 300)])
	}
	if string(m[1]) != "2024-03-19T06:45:00.123Z" || string(m[2]) != "gw1bad" || string(m[3]) != "pjd" || string(m[4]) != audit.SyslogMsgID {
		t.Errorf("header fields %q %q %q %q", m[1], m[2], m[3], m[4])
	}
	if string(m[5]) != r.ID || string(m[6]) != "7" || string(m[7]) != r.Hash || string(m[8]) != "ITI-67" || string(m[9]) != "permit" {
		t.Errorf("structured data %q %q %q %q %q", m[5], m[6], m[7], m[8], m[9])
	}
	var ae map[string]any
	if err := json.Unmarshal(m[10], &ae); err != nil || ae["id"] != r.ID || ae["resourceType"] != "AuditEvent" {
		t.Fatalf("payload: %v", err)
	}
	// Empty header fields become the NILVALUE.
	msg, _ = audit.FormatSyslog(r, "", "", audit.View{})
	if !bytes.HasPrefix(msg, []byte("<85>1 2024-03-19T06:45:00.123Z - - - AuditEvent [")) {
		t.Errorf("nil fields: %q", msg[:60])
	}
}

// tlsFiles is a test PKI: a CA, a server certificate for localhost and
// 127.0.0.1, and a client certificate for mutual node authentication.
type tlsFiles struct {
	dir                       string
	ca, serverCert, serverKey string
	clientCert                tls.Certificate
	pool                      *x509.CertPool
}

func newPKI(t *testing.T) *tlsFiles {
	t.Helper()
	dir := t.TempDir()
	p := &tlsFiles{dir: dir, pool: x509.NewCertPool()}
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pjd test audit CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	p.pool.AddCert(caCert)
	issue := func(serial int64, cn string, usage x509.ExtKeyUsage) ([]byte, *ecdsa.PrivateKey) {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, k
	}
	write := func(name, typ string, der []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	p.ca = write("ca.pem", "CERTIFICATE", caDER)
	srvDER, srvKey := issue(2, "localhost", x509.ExtKeyUsageServerAuth)
	p.serverCert = write("server.pem", "CERTIFICATE", srvDER)
	srvKeyDER, _ := x509.MarshalPKCS8PrivateKey(srvKey)
	p.serverKey = write("server.key", "PRIVATE KEY", srvKeyDER)
	cliDER, cliKey := issue(3, "pjd-gateway", x509.ExtKeyUsageClientAuth)
	p.clientCert = tls.Certificate{Certificate: [][]byte{cliDER}, PrivateKey: cliKey}
	return p
}

func (p *tlsFiles) clientTLS() *tls.Config {
	return &tls.Config{RootCAs: p.pool, Certificates: []tls.Certificate{p.clientCert}, ServerName: "localhost", MinVersion: tls.VersionTLS12}
}

// rsyslog is a real rsyslogd receiving RFC 5425 (syslog over TLS,
// octet-counted) on a loopback port and writing pjd's messages to a file.
type rsyslog struct {
	t      *testing.T
	bin    string
	dir    string
	port   int
	out    string
	cmd    *exec.Cmd
	exited chan struct{}
}

// startRsyslog needs the Debian packages rsyslog and rsyslog-gnutls.
func startRsyslog(t *testing.T, pki *tlsFiles) *rsyslog {
	t.Helper()
	if err := testenv.Without("rsyslog"); err != nil {
		testenv.Unavailable(t, "rsyslogd (apt-get install rsyslog rsyslog-gnutls)", err)
		return nil
	}
	bin, err := exec.LookPath("rsyslogd")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/rsyslogd"); serr == nil {
			bin, err = "/usr/sbin/rsyslogd", nil
		}
	}
	if err != nil {
		testenv.Unavailable(t, "rsyslogd (apt-get install rsyslog rsyslog-gnutls)", err)
		return nil
	}
	gtls, _ := filepath.Glob("/usr/lib/*/rsyslog/lmnsd_gtls.so")
	if len(gtls) == 0 {
		gtls, _ = filepath.Glob("/usr/lib/rsyslog/lmnsd_gtls.so")
	}
	if len(gtls) == 0 {
		testenv.Unavailable(t, "rsyslog GnuTLS driver (apt-get install rsyslog-gnutls)", fmt.Errorf("lmnsd_gtls.so not found"))
		return nil
	}
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "work"), 0o700); err != nil {
		t.Fatal(err)
	}
	rs := &rsyslog{t: t, bin: bin, dir: dir, port: port, out: filepath.Join(dir, "received.log")}
	conf := fmt.Sprintf(`
global(
  workDirectory="%[1]s/work"
  maxMessageSize="256k"
  defaultNetstreamDriver="gtls"
  defaultNetstreamDriverCAFile="%[2]s"
  defaultNetstreamDriverCertFile="%[3]s"
  defaultNetstreamDriverKeyFile="%[4]s"
)
module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="x509/certvalid")
input(type="imtcp" port="%[5]d" address="127.0.0.1")
template(name="pjd" type="string" string="%%pri%%|%%protocol-version%%|%%app-name%%|%%msgid%%|%%structured-data%%|%%msg%%\n")
if $app-name == "pjd" then {
  action(type="omfile" file="%[6]s" template="pjd")
}
`, dir, pki.ca, pki.serverCert, pki.serverKey, port, rs.out)
	if err := os.WriteFile(filepath.Join(dir, "rsyslog.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-N1", "-f", filepath.Join(dir, "rsyslog.conf")).CombinedOutput(); err != nil {
		t.Fatalf("rsyslog rejects the test configuration: %v\n%s", err, out)
	}
	rs.start()
	t.Cleanup(rs.stop)
	return rs
}

func (rs *rsyslog) start() {
	rs.t.Helper()
	rs.cmd = exec.Command(rs.bin, "-n", "-f", filepath.Join(rs.dir, "rsyslog.conf"), "-i", filepath.Join(rs.dir, "rsyslogd.pid"))
	var logs bytes.Buffer
	rs.cmd.Stdout, rs.cmd.Stderr = &logs, &logs
	rs.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := rs.cmd.Start(); err != nil {
		testenv.Unavailable(rs.t, "rsyslogd", err)
	}
	rs.exited = make(chan struct{})
	go func() { rs.cmd.Wait(); close(rs.exited) }()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := testenv.WaitTCP(ctx, "127.0.0.1:"+strconv.Itoa(rs.port), rs.exited); err != nil {
		rs.t.Fatalf("rsyslogd did not listen: %v\n%s", err, logs.String())
	}
}

func (rs *rsyslog) stop() {
	if rs.cmd == nil || rs.cmd.Process == nil {
		return
	}
	rs.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-rs.exited:
	case <-time.After(10 * time.Second):
		rs.cmd.Process.Kill()
		<-rs.exited
	}
	rs.cmd = nil
}

func (rs *rsyslog) addr() string { return "127.0.0.1:" + strconv.Itoa(rs.port) }

// received is one message as rsyslog parsed it.
type received struct {
	pri, version, app, msgid string
	sd                       string
	ae                       map[string]any
}

var sdParam = regexp.MustCompile(`(\w+)="((?:[^"\\]|\\.)*)"`)

func (r received) param(name string) string {
	for _, m := range sdParam.FindAllStringSubmatch(r.sd, -1) {
		if m[1] == name {
			return m[2]
		}
	}
	return ""
}

// waitFor reads the output file until it holds n messages (rsyslog
// writes asynchronously), failing after a generous bound.
func (rs *rsyslog) waitFor(n int) []received {
	rs.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		msgs := rs.read()
		if len(msgs) >= n {
			return msgs
		}
		if time.Now().After(deadline) {
			rs.t.Fatalf("rsyslog received %d of %d messages", len(msgs), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (rs *rsyslog) read() []received {
	rs.t.Helper()
	f, err := os.Open(rs.out)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []received
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), "|", 6)
		if len(parts) != 6 {
			rs.t.Fatalf("unexpected line %q", sc.Text())
		}
		r := received{pri: parts[0], version: parts[1], app: parts[2], msgid: parts[3], sd: parts[4]}
		payload := strings.TrimPrefix(parts[5], "\uFEFF")
		if err := json.Unmarshal([]byte(payload), &r.ae); err != nil {
			rs.t.Fatalf("payload is not JSON: %v: %.200q", err, payload)
		}
		out = append(out, r)
	}
	return out
}

func TestSyslogForwardingToRsyslog(t *testing.T) {
	pki := newPKI(t)
	rs := startRsyslog(t, pki)
	fwd, err := audit.NewSyslogForwarder(audit.SyslogConfig{Addr: rs.addr(), TLS: pki.clientTLS(), Hostname: "gw1", Site: "pjd.test"})
	if err != nil {
		t.Fatal(err)
	}
	defer fwd.Close(context.Background())
	s := openStore(t)
	l, err := audit.NewLogger(s, audittest.Key(t), audit.LoggerOptions{OnCommit: fwd.Forward})
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := audittest.SimpleRecord(i, audittest.PatientA)
			if i == 0 {
				r = audittest.FullRecord()
			}
			if err := l.Log(context.Background(), r); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	l.Close(context.Background())
	msgs := rs.waitFor(n)
	if len(msgs) != n {
		t.Fatalf("%d messages, want %d", len(msgs), n)
	}
	stored := map[string]audit.Record{}
	for _, r := range records(t, s) {
		stored[r.ID] = r
	}
	for _, m := range msgs {
		if m.pri != "85" || m.version != "1" || m.app != "pjd" || m.msgid != audit.SyslogMsgID {
			t.Errorf("rsyslog parsed pri %s version %s app %s msgid %s", m.pri, m.version, m.app, m.msgid)
		}
		id := m.param("id")
		r, ok := stored[id]
		if !ok {
			t.Fatalf("message for unknown record %q", id)
		}
		if m.param("hash") != r.Hash || m.param("seq") != strconv.FormatInt(r.Seq, 10) || m.ae["id"] != id {
			t.Errorf("record %s: message carries seq %s hash %s, store has %d %s", id, m.param("seq"), m.param("hash"), r.Seq, r.Hash)
		}
		delete(stored, id)
	}
	if len(stored) != 0 {
		t.Errorf("%d records never forwarded", len(stored))
	}
	if st := fwd.Stats(); st.Sent != n || st.Dropped != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestSyslogReconnectsAfterReceiverRestart(t *testing.T) {
	pki := newPKI(t)
	rs := startRsyslog(t, pki)
	fwd, err := audit.NewSyslogForwarder(audit.SyslogConfig{
		Addr: rs.addr(), TLS: pki.clientTLS(), MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer fwd.Close(context.Background())
	rec := func(i int) audit.Record {
		r := audittest.SimpleRecord(i, audittest.PatientA)
		r.Normalize(audittest.BaseTime, audit.NewID)
		r.Seq = int64(i + 1)
		return r
	}
	fwd.Forward([]audit.Record{rec(0), rec(1), rec(2)})
	rs.waitFor(3)
	rs.stop()
	fwd.Forward([]audit.Record{rec(3), rec(4)}) // the receiver is down: queued, never blocking
	rs.start()
	msgs := rs.waitFor(5)
	seqs := map[string]bool{}
	for _, m := range msgs {
		seqs[m.param("seq")] = true
	}
	for i := 1; i <= 5; i++ {
		if !seqs[strconv.Itoa(i)] {
			t.Errorf("record %d lost across the restart (got %v)", i, seqs)
		}
	}
	if st := fwd.Stats(); st.Dropped != 0 || st.Sent < 5 {
		t.Errorf("stats %+v", st)
	}
}

func TestSyslogNeverBlocksTheRequestPath(t *testing.T) {
	pki := newPKI(t)
	port, _ := testenv.FreePort() // nothing listens here
	fwd, err := audit.NewSyslogForwarder(audit.SyslogConfig{
		Addr: "127.0.0.1:" + strconv.Itoa(port), TLS: pki.clientTLS(), QueueSize: 2, MinBackoff: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	s := openStore(t)
	l, _ := audit.NewLogger(s, audittest.Key(t), audit.LoggerOptions{OnCommit: fwd.Forward})
	for i := range 10 {
		if err := l.Log(context.Background(), audittest.SimpleRecord(i, audittest.PatientA)); err != nil {
			t.Fatalf("Log failed because syslog is down: %v", err)
		}
	}
	l.Close(context.Background())
	if st := fwd.Stats(); st.Sent != 0 || st.Dropped < 7 {
		t.Fatalf("with a queue of 2 and the receiver down: %+v", st)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := fwd.Close(ctx); err == nil {
		t.Fatal("Close with an expired context reported a full flush")
	}
	if st := fwd.Stats(); st.Dropped != 10 || st.ConnErrors < 1 {
		t.Fatalf("after Close every unsent record counts as dropped: %+v", st)
	}
	fwd.Forward([]audit.Record{sealedFull(t)})
	if st := fwd.Stats(); st.Dropped != 11 {
		t.Fatalf("Forward after Close: %+v", st)
	}
}

func TestSyslogConfigRejects(t *testing.T) {
	for _, c := range []audit.SyslogConfig{
		{},
		{Addr: "no-port", TLS: &tls.Config{}},
		{Addr: "127.0.0.1:6514"},
	} {
		if _, err := audit.NewSyslogForwarder(c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}
