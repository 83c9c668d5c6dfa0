package testenv

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestRedisDBIsolated(t *testing.T) {
	a := RedisDB(t)
	b := RedisDB(t)
	if a.Addr != b.Addr {
		t.Fatalf("shared server expected, got %s and %s", a.Addr, b.Addr)
	}
	if a.DB == b.DB || a.Prefix == b.Prefix {
		t.Fatalf("RedisDB returned the same database or prefix twice: %+v %+v", a, b)
	}
	ctx := context.Background()
	ca := redis.NewClient(&redis.Options{Addr: a.Addr, DB: a.DB})
	defer ca.Close()
	cb := redis.NewClient(&redis.Options{Addr: b.Addr, DB: b.DB})
	defer cb.Close()
	if err := ca.Set(ctx, "k", "a", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if err := cb.Get(ctx, "k").Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("key written in DB %d visible in DB %d: err=%v", a.DB, b.DB, err)
	}
	if v, err := ca.Get(ctx, "k").Result(); err != nil || v != "a" {
		t.Fatalf("Get = %q, %v", v, err)
	}
}

func TestRedisServerConfigAndStop(t *testing.T) {
	s := StartRedis(t)
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1})
	defer c.Close()
	save, err := c.ConfigGet(ctx, "save").Result()
	if err != nil {
		t.Fatal(err)
	}
	if save["save"] != "" {
		t.Errorf("save = %q, want persistence off", save["save"])
	}
	aof, err := c.ConfigGet(ctx, "appendonly").Result()
	if err != nil {
		t.Fatal(err)
	}
	if aof["appendonly"] != "no" {
		t.Errorf("appendonly = %q, want no", aof["appendonly"])
	}
	bind, err := c.ConfigGet(ctx, "bind").Result()
	if err != nil {
		t.Fatal(err)
	}
	if bind["bind"] != "127.0.0.1" {
		t.Errorf("bind = %q, want loopback only", bind["bind"])
	}

	s.Stop()
	s.Stop() // idempotent
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("PING succeeded after Stop")
	}
}
