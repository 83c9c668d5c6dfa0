package services

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgreSQL: a throwaway server with a fresh database per CreateDatabase.
//
// The server's data directory is copied from a template cluster made once
// by initdb and cached under CacheDir() (initdb takes seconds, the copy a
// fraction of one). The template is rebuilt when missing or corrupt;
// parallel processes serialise on a lock file while they check, build or
// copy it. When the process runs as root, initdb and postgres run as the
// "postgres" user (PostgreSQL refuses to run as root), so every directory
// they use is handed to that user.

// PostgresServer is a postgres process on a loopback port with its data,
// Unix socket and log in a temporary directory.
type PostgresServer struct {
	Host string // 127.0.0.1
	Port int
	Dir  string // data/, the Unix socket, postgres.log

	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
	once    sync.Once
	keep    bool // Stop leaves Dir (StartPostgresAt)
}

// URL returns the connection URL of database db as the superuser.
func (s *PostgresServer) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@%s:%d/%s?sslmode=disable", s.Host, s.Port, db)
}

// CreateDatabase creates database name (from template0) and returns its URL.
func (s *PostgresServer) CreateDatabase(ctx context.Context, name string) (string, error) {
	if err := s.admin(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE template0"); err != nil {
		return "", fmt.Errorf("creating database %s: %w%s", name, err, s.logTailMessage())
	}
	return s.URL(name), nil
}

// DropDatabase drops database name, disconnecting its sessions.
func (s *PostgresServer) DropDatabase(ctx context.Context, name string) error {
	if err := s.admin(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("dropping database %s: %w", name, err)
	}
	return nil
}

func (s *PostgresServer) admin(ctx context.Context, stmt string) error {
	c, err := pgx.Connect(ctx, s.URL("postgres"))
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	_, err = c.Exec(ctx, stmt)
	return err
}

// Stop shuts the server down (fast shutdown, then SIGKILL after 10 s) and
// removes its directory. It is safe to call more than once.
func (s *PostgresServer) Stop() {
	s.once.Do(func() {
		if s.cmd != nil && s.cmd.Process != nil {
			_ = s.cmd.Process.Signal(syscall.SIGINT) // fast shutdown; Kill below if ignored
			select {
			case <-s.exited:
			case <-time.After(10 * time.Second):
				_ = s.cmd.Process.Kill()
				<-s.exited
			}
		}
		if !s.keep {
			_ = os.RemoveAll(s.Dir)
		}
	})
}

// LogTail returns the last lines of the server's log.
func (s *PostgresServer) LogTail() string {
	return tailFile(filepath.Join(s.Dir, "postgres.log"), 4096)
}

func (s *PostgresServer) logTailMessage() string {
	if t := strings.TrimSpace(s.LogTail()); t != "" {
		return "\npostgres.log (tail):\n" + t
	}
	return ""
}

// pgInstall is where the PostgreSQL binaries are and who runs them.
type pgInstall struct {
	bindir  string
	version string // "postgres (PostgreSQL) 15.18 …"
	cred    *syscall.Credential
}

func findPostgres() (*pgInstall, error) {
	// PJD_PG_BINDIR, when set, is the only place looked at.
	candidates := []string{os.Getenv("PJD_PG_BINDIR")}
	if candidates[0] == "" {
		candidates = candidates[:0]
		if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
			candidates = append(candidates, strings.TrimSpace(string(out)))
		}
		candidates = append(candidates, "/usr/lib/postgresql/15/bin")
	}
	var bindir string
	for _, d := range candidates {
		if isExecutable(filepath.Join(d, "initdb")) && isExecutable(filepath.Join(d, "postgres")) {
			bindir = d
			break
		}
	}
	if bindir == "" {
		return nil, fmt.Errorf("PostgreSQL binaries (initdb, postgres) not found in %v (install postgresql-15 or set PJD_PG_BINDIR)", candidates)
	}
	out, err := exec.Command(filepath.Join(bindir, "postgres"), "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("%s/postgres --version: %w", bindir, err)
	}
	in := &pgInstall{bindir: bindir, version: strings.TrimSpace(string(out))}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root, PostgreSQL must run as the postgres user: %w", err)
		}
		uid, _ := strconv.ParseUint(u.Uid, 10, 32)
		gid, _ := strconv.ParseUint(u.Gid, 10, 32)
		in.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	return in, nil
}

// chown hands path to the server's user (no-op when not running as root).
func (in *pgInstall) chown(path string) error {
	if in.cred == nil {
		return nil
	}
	return os.Lchown(path, int(in.cred.Uid), int(in.cred.Gid))
}

func (in *pgInstall) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(in.bindir, name), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: in.cred,
		Pdeathsig:  syscall.SIGKILL,
		Setpgid:    true,
	}
	return cmd
}

// StartPostgres starts a new throwaway server, stopped by its Stop.
func StartPostgres() (*PostgresServer, error) {
	in, err := findPostgres()
	if err != nil {
		return nil, err
	}
	sweepStaleServers()
	rebuild := false
	for attempt := 1; ; attempt++ {
		s, err := in.start(rebuild)
		if err == nil {
			return s, nil
		}
		var perr *pgStartError
		switch {
		case errors.As(err, &perr) && perr.portInUse && attempt < 4:
			continue // another process took the port first
		case errors.As(err, &perr) && !rebuild:
			rebuild = true // perhaps the cached template is damaged: rebuild it once
			continue
		default:
			return nil, err
		}
	}
}

// StartPostgresAt starts a server whose directory is dir and is kept
// when it stops (pjd bench --keep / --reuse): on the cluster already in
// dir (reused true) when dir holds one, else on a copy of the template in
// dir, which must then be missing or empty.
func StartPostgresAt(dir string) (_ *PostgresServer, reused bool, err error) {
	in, err := findPostgres()
	if err != nil {
		return nil, false, err
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return nil, false, err
	}
	_, err = os.Stat(filepath.Join(dir, "data", "PG_VERSION"))
	reused = err == nil
	if !reused {
		if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
			return nil, false, fmt.Errorf("%s is neither empty nor a kept PostgreSQL directory", dir)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, false, err
		}
	}
	s, err := in.startIn(dir, !reused, false, true)
	return s, reused, err
}

type pgStartError struct {
	err       error
	portInUse bool
}

func (e *pgStartError) Error() string { return e.err.Error() }
func (e *pgStartError) Unwrap() error { return e.err }

var unsafeVersionChars = regexp.MustCompile(`[^A-Za-z0-9.]+`)

// templateDir is the cached template cluster for this PostgreSQL version.
func (in *pgInstall) templateDir() string {
	return filepath.Join(CacheDir(), "postgres", unsafeVersionChars.ReplaceAllString(in.version, "_"), "template")
}

const templateMarker = ".pjd-template-complete"

// withTemplate holds the template lock, makes sure the template exists and
// is complete (rebuilding it when force is set or it is not), and runs fn
// on it.
func (in *pgInstall) withTemplate(force bool, fn func(tmpl string) error) error {
	tmpl := in.templateDir()
	if err := os.MkdirAll(filepath.Dir(tmpl), 0o755); err != nil {
		return err
	}
	lock, err := os.OpenFile(filepath.Join(filepath.Dir(tmpl), "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("locking %s: %w", lock.Name(), err)
	}
	// Closing the file (deferred above) releases the lock.

	if force || !in.templateComplete(tmpl) {
		if err := in.buildTemplate(tmpl); err != nil {
			return err
		}
	}
	return fn(tmpl)
}

func (in *pgInstall) templateComplete(tmpl string) bool {
	b, err := os.ReadFile(filepath.Join(tmpl, templateMarker))
	if err != nil || string(b) != in.version {
		return false
	}
	for _, f := range []string{"PG_VERSION", "global/pg_control", "postgresql.conf", "base"} {
		if _, err := os.Stat(filepath.Join(tmpl, f)); err != nil {
			return false
		}
	}
	return true
}

// buildTemplate runs initdb in a temporary directory (which the postgres
// user can reach, unlike a cache under /root) and copies the result into
// the cache, atomically by rename.
func (in *pgInstall) buildTemplate(tmpl string) error {
	work, err := os.MkdirTemp("", "pjd-pg-initdb-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	data := filepath.Join(work, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		return err
	}
	if err := errors.Join(in.chown(work), in.chown(data)); err != nil {
		return fmt.Errorf("handing %s to the postgres user: %w", work, err)
	}
	cmd := in.command("initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
	cmd.Dir = work
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out.String())
	}
	if err := os.WriteFile(filepath.Join(data, templateMarker), []byte(in.version), 0o600); err != nil {
		return err
	}
	tmp := tmpl + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := copyTree(data, tmp, nil); err != nil {
		return fmt.Errorf("caching the template cluster: %w", err)
	}
	if err := os.RemoveAll(tmpl); err != nil {
		return err
	}
	return os.Rename(tmp, tmpl)
}

// copyTree copies regular files and directories from src to dst with their
// permissions, calling own on everything it creates.
func copyTree(src, dst string, own func(string) error) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if err := os.Mkdir(target, info.Mode().Perm()); err != nil {
				return err
			}
		case info.Mode().IsRegular():
			if err := copyFile(p, target, info.Mode().Perm()); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: unexpected file type %v", p, info.Mode().Type())
		}
		if own != nil {
			return own(target)
		}
		return nil
	})
}

func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// start copies the template (rebuilt first when rebuild is set) into a new
// temporary directory and starts a server on it.
func (in *pgInstall) start(rebuild bool) (*PostgresServer, error) {
	dir, err := os.MkdirTemp("", "pjd-pg-")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return in.startIn(dir, true, rebuild, false)
}

// startIn starts a server in dir: on a copy of the template (rebuilt first
// when rebuild is set) when fresh, else on the cluster in dir/data. A
// kept server's Stop, and a failed start, leave dir to its owner (a
// fresh kept dir loses its data/ on failure).
func (in *pgInstall) startIn(dir string, fresh, rebuild, keep bool) (*PostgresServer, error) {
	data := filepath.Join(dir, "data")
	fail := func(err error) (*PostgresServer, error) {
		switch {
		case !keep:
			os.RemoveAll(dir)
		case fresh:
			os.RemoveAll(data)
		}
		return nil, err
	}
	if err := in.chown(dir); err != nil {
		return fail(fmt.Errorf("handing %s to the postgres user: %w", dir, err))
	}
	if fresh {
		if err := in.withTemplate(rebuild, func(tmpl string) error {
			return copyTree(tmpl, data, in.chown)
		}); err != nil {
			return fail(fmt.Errorf("copying the template cluster: %w", err))
		}
	}
	if err := os.Chmod(data, 0o700); err != nil {
		return fail(err)
	}
	port, err := FreePort()
	if err != nil {
		return fail(err)
	}
	logf, err := os.Create(filepath.Join(dir, "postgres.log"))
	if err != nil {
		return fail(err)
	}
	defer logf.Close()
	s := &PostgresServer{Host: "127.0.0.1", Port: port, Dir: dir, exited: make(chan struct{}), keep: keep}
	s.cmd = in.command("postgres",
		"-D", data,
		"-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories="+dir,
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "max_connections=200",
		"-c", "max_wal_size=4GB",
		"-c", "checkpoint_timeout=30min",
		"-c", "log_min_messages=warning",
		"-c", "log_min_error_statement=panic",
	)
	s.cmd.Dir = dir
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		return fail(fmt.Errorf("starting postgres: %w", err))
	}
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := s.waitReady(ctx); err != nil {
		tail := s.LogTail()
		s.Stop()
		return nil, &pgStartError{
			err:       fmt.Errorf("postgres on port %d did not become ready: %w\npostgres.log (tail):\n%s", port, err, tail),
			portInUse: strings.Contains(tail, "could not bind") || strings.Contains(tail, "Address already in use"),
		}
	}
	return s, nil
}

// waitReady waits until the server accepts queries (it accepts TCP
// connections before it has finished starting up).
func (s *PostgresServer) waitReady(ctx context.Context) error {
	if err := WaitTCP(ctx, fmt.Sprintf("%s:%d", s.Host, s.Port), s.exited); err != nil {
		return err
	}
	for {
		c, err := pgx.Connect(ctx, s.URL("postgres"))
		if err == nil {
			err = c.Ping(ctx)
			c.Close(context.Background())
			if err == nil {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-s.exited:
			return fmt.Errorf("postgres exited: %v", s.waitErr)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// ownerFile in a server directory names the process that started it.
const ownerFile = "owner.pid"

// sweepStaleServers removes the directories of servers whose test process
// died without stopping them (killed: Pdeathsig took the server along, but
// nothing removed its files).
func sweepStaleServers() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "pjd-pg-*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue // not ours, or still being set up
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			_ = os.RemoveAll(dir) // best effort: a leftover costs disk, not correctness
		}
	}
}
