package services

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
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisDatabases is how many logical databases a server from StartRedis
// has.
const RedisDatabases = 1024

// RedisServer is a redis-server process on a loopback port, without
// persistence (no RDB, no AOF).
type RedisServer struct {
	Addr string // 127.0.0.1:port

	mu     sync.Mutex
	cmd    *exec.Cmd
	args   []string // to start it again (Restart)
	dir    string
	exited chan struct{}
	once   sync.Once
}

// RedisBinary finds redis-server: $PJD_REDIS_SERVER, then PATH, then the
// usual places.
func RedisBinary() (string, error) {
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

// StartRedis starts a throwaway redis-server, stopped by its Stop.
func StartRedis() (*RedisServer, error) {
	bin, err := RedisBinary()
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
		args := []string{bin,
			"--port", strconv.Itoa(port),
			"--bind", "127.0.0.1",
			"--protected-mode", "yes",
			"--save", "",
			"--appendonly", "no",
			"--databases", strconv.Itoa(RedisDatabases),
			"--dir", dir,
			"--daemonize", "no",
			"--loglevel", "warning",
		}
		s := &RedisServer{Addr: addr, args: args, dir: dir}
		if err := s.launch(); err != nil {
			lastErr = err
			continue
		}
		return s, nil
	}
	_ = os.RemoveAll(dir)
	return nil, lastErr
}

// launch starts the process with s.args and waits until it answers PING.
func (s *RedisServer) launch() error {
	var out bytes.Buffer
	cmd := exec.Command(s.args[0], s.args[1:]...)
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", s.args[0], err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err := WaitTCP(ctx, s.Addr, exited)
	if err == nil {
		err = pingRedis(s.Addr)
	}
	if err != nil {
		s.kill()
		return fmt.Errorf("%w; redis-server output: %s", err, bytes.TrimSpace(out.Bytes()))
	}
	return nil
}

func pingRedis(addr string) error {
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.Ping(ctx).Err()
}

func (s *RedisServer) kill() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	if cmd.Process != nil {
		_ = cmd.Process.Kill()
	}
	<-exited
}

// terminate stops the process (SIGTERM, then SIGKILL after wait).
func (s *RedisServer) terminate(wait time.Duration) {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	if cmd.Process != nil {
		_ = cmd.Process.Signal(syscall.SIGTERM)
	}
	select {
	case <-exited:
	case <-time.After(wait):
		s.kill()
	}
}

// Restart stops the server (SIGTERM; it keeps no data) and starts it again
// on the same port, empty, with a new run_id — what a Redis restart
// without persistence looks like to its clients.
func (s *RedisServer) Restart() error {
	s.terminate(10 * time.Second)
	if err := s.launch(); err != nil {
		return fmt.Errorf("redis-server did not come back: %w", err)
	}
	return nil
}

// Stop stops the server (SIGTERM, then SIGKILL after 5 s) and removes its
// directory. It is safe to call more than once.
func (s *RedisServer) Stop() {
	if s == nil {
		return
	}
	s.once.Do(func() {
		s.terminate(5 * time.Second)
		_ = os.RemoveAll(s.dir)
	})
}
