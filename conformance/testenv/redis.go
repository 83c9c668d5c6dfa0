package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisDatabases is how many logical databases the shared server has;
// RedisDB hands them out in turn (0 is left to callers of Redis).
const redisDatabases = 1024

var (
	redisShared shared[RedisServer]
	redisNextDB atomic.Int64
	redisSeq    atomic.Int64
)

// RedisServer is a redis-server process on a loopback port.
type RedisServer struct {
	Addr string // 127.0.0.1:port

	cmd    *exec.Cmd
	args   []string // to start it again (Restart)
	dir    string
	exited chan struct{}
	once   sync.Once
}

// RedisInfo locates an isolated slice of the shared Redis: a logical
// database nobody else in this test binary uses, emptied before and after
// the test, and a key prefix unique to the call.
type RedisInfo struct {
	Addr   string
	DB     int
	Prefix string
}

// Redis returns the address of the redis-server shared by this test
// binary, starting it on first use (stopped by Main). Keys written through
// it are visible to every test of the binary: use RedisDB for an isolated
// database, or a unique key prefix. When redis-server cannot be started the
// test is skipped, or fails when services are Required.
func Redis(tb testing.TB) string {
	tb.Helper()
	s, err := sharedRedis()
	if err != nil {
		Unavailable(tb, "redis-server", err)
		return ""
	}
	return s.Addr
}

// RedisDB returns a fresh logical database of the shared redis-server and
// a unique key prefix; the database is flushed when the test ends.
func RedisDB(tb testing.TB) RedisInfo {
	tb.Helper()
	addr := Redis(tb)
	db := int(redisNextDB.Add(1)-1)%(redisDatabases-1) + 1
	info := RedisInfo{
		Addr:   addr,
		DB:     db,
		Prefix: fmt.Sprintf("test%d-%d:", os.Getpid(), redisSeq.Add(1)),
	}
	flush := func() error {
		c := redis.NewClient(&redis.Options{Addr: addr, DB: db})
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return c.FlushDB(ctx).Err()
	}
	if err := flush(); err != nil {
		Unavailable(tb, "redis-server", fmt.Errorf("FLUSHDB %d: %w", db, err))
		return info
	}
	tb.Cleanup(func() { _ = flush() })
	return info
}

// StartRedis starts a private redis-server for tb alone, stopped at the end
// of the test (or earlier with Stop) — for tests that must see Redis go
// away.
func StartRedis(tb testing.TB) *RedisServer {
	tb.Helper()
	s, err := startRedisServer()
	if err != nil {
		Unavailable(tb, "redis-server", err)
		return nil
	}
	tb.Cleanup(s.Stop)
	return s
}

func sharedRedis() (*RedisServer, error) {
	return redisShared.get(startRedisServer, (*RedisServer).Stop)
}

func redisBinary() (string, error) {
	if err := Without("redis"); err != nil {
		return "", err
	}
	if p := os.Getenv("PJD_REDIS_SERVER"); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/bin/redis-server", "/usr/local/bin/redis-server"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("redis-server not found (install it or set PJD_REDIS_SERVER)")
}

func startRedisServer() (*RedisServer, error) {
	bin, err := redisBinary()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pjd-redis-")
	if err != nil {
		return nil, err
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := FreePort()
		if err != nil {
			lastErr = err
			continue
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		var out bytes.Buffer
		args := []string{bin,
			"--port", strconv.Itoa(port),
			"--bind", "127.0.0.1",
			"--protected-mode", "yes",
			"--save", "",
			"--appendonly", "no",
			"--databases", strconv.Itoa(redisDatabases),
			"--dir", dir,
			"--daemonize", "no",
			"--loglevel", "warning",
		}
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Stdout = &out
		cmd.Stderr = &out
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			_ = os.RemoveAll(dir)
			return nil, fmt.Errorf("starting %s: %w", bin, err)
		}
		s := &RedisServer{Addr: addr, cmd: cmd, args: args, dir: dir, exited: make(chan struct{})}
		go func() { _ = cmd.Wait(); close(s.exited) }()
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		err = WaitTCP(ctx, addr, s.exited)
		cancel()
		if err == nil {
			err = pingRedis(addr)
		}
		if err == nil {
			return s, nil
		}
		s.kill()
		lastErr = fmt.Errorf("%w; redis-server output: %s", err, bytes.TrimSpace(out.Bytes()))
	}
	_ = os.RemoveAll(dir)
	return nil, lastErr
}

func pingRedis(addr string) error {
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.Ping(ctx).Err()
}

func (s *RedisServer) kill() {
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
	}
	<-s.exited
}

// Stop stops the server (SIGTERM, then SIGKILL after 5 s) and removes its
// directory. It is safe to call more than once.
func (s *RedisServer) Stop() {
	if s == nil {
		return
	}
	s.once.Do(func() {
		if s.cmd.Process != nil {
			_ = s.cmd.Process.Signal(syscall.SIGTERM)
		}
		select {
		case <-s.exited:
		case <-time.After(5 * time.Second):
			s.kill()
		}
		_ = os.RemoveAll(s.dir)
	})
}
