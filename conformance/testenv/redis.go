package testenv

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"pjd/conformance/services"
)

var (
	redisShared shared[services.RedisServer]
	redisNextDB atomic.Int64
	redisSeq    atomic.Int64
)

// RedisServer is a redis-server process of one test's own (StartRedis).
type RedisServer struct{ *services.RedisServer }

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
	s, err := redisShared.get(startRedis, (*services.RedisServer).Stop)
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
	db := int(redisNextDB.Add(1)-1)%(services.RedisDatabases-1) + 1
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
	s, err := startRedis()
	if err != nil {
		Unavailable(tb, "redis-server", err)
		return nil
	}
	tb.Cleanup(s.Stop)
	return &RedisServer{s}
}

// Restart stops the private redis-server and starts it again on the same
// port, empty (see services.RedisServer.Restart); a failure fails tb.
func (s *RedisServer) Restart(tb testing.TB) {
	tb.Helper()
	if err := s.RedisServer.Restart(); err != nil {
		tb.Fatalf("testenv: %v", err)
	}
}

func startRedis() (*services.RedisServer, error) {
	if err := Without("redis"); err != nil {
		return nil, err
	}
	return services.StartRedis()
}
