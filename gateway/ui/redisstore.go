package ui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisSessionStore is the SessionStore gateway nodes share: JSON values
// under prefix+"launch:"+key and prefix+"session:"+key with a Redis TTL.
// Launch grants are taken with GETDEL, so a token is used at most once
// across all nodes.
type RedisSessionStore struct {
	c      redis.UniversalClient
	prefix string
}

var _ SessionStore = (*RedisSessionStore)(nil)

// NewRedisSessionStore returns a store over c whose keys start with prefix
// (e.g. "pjd:ui:").
func NewRedisSessionStore(c redis.UniversalClient, prefix string) *RedisSessionStore {
	return &RedisSessionStore{c: c, prefix: prefix}
}

// redisTTL rounds ttl up to Redis's 1 ms resolution.
func redisTTL(ttl time.Duration) (time.Duration, error) {
	if ttl <= 0 {
		return 0, ErrInvalidTTL
	}
	return max(ttl, time.Millisecond).Round(time.Millisecond), nil
}

func (s *RedisSessionStore) setNX(ctx context.Context, key string, v any, ttl time.Duration) error {
	ttl, err := redisTTL(ttl)
	if err != nil {
		return err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("ui: encoding %s: %w", key, err)
	}
	ok, err := s.c.SetNX(ctx, s.prefix+key, b, ttl).Result()
	if err != nil {
		return fmt.Errorf("ui: redis SET NX: %w", err)
	}
	if !ok {
		return ErrExists
	}
	return nil
}

// PutLaunch implements SessionStore.
func (s *RedisSessionStore) PutLaunch(ctx context.Context, key string, g *LaunchGrant, ttl time.Duration) error {
	return s.setNX(ctx, "launch:"+key, g, ttl)
}

// TakeLaunch implements SessionStore.
func (s *RedisSessionStore) TakeLaunch(ctx context.Context, key string) (*LaunchGrant, error) {
	b, err := read(s.c.GetDel(ctx, s.prefix+"launch:"+key), ErrLaunchNotFound)
	if err != nil {
		return nil, err
	}
	return decode[LaunchGrant](b, "launch grant")
}

// CreateSession implements SessionStore.
func (s *RedisSessionStore) CreateSession(ctx context.Context, key string, sess *Session, ttl time.Duration) error {
	return s.setNX(ctx, "session:"+key, sess, ttl)
}

// GetSession implements SessionStore.
func (s *RedisSessionStore) GetSession(ctx context.Context, key string) (*Session, error) {
	b, err := read(s.c.Get(ctx, s.prefix+"session:"+key), ErrSessionNotFound)
	if err != nil {
		return nil, err
	}
	return decode[Session](b, "session")
}

// read is the value a GET or GETDEL returned: notFound when there is none,
// a wrapped error naming the command when Redis failed.
func read(cmd *redis.StringCmd, notFound error) ([]byte, error) {
	b, err := cmd.Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, notFound
	}
	if err != nil {
		return nil, fmt.Errorf("ui: redis %s: %w", strings.ToUpper(cmd.Name()), err)
	}
	return b, nil
}

// UpdateSession implements SessionStore.
func (s *RedisSessionStore) UpdateSession(ctx context.Context, key string, sess *Session, ttl time.Duration) error {
	ttl, err := redisTTL(ttl)
	if err != nil {
		return err
	}
	b, err := json.Marshal(sess)
	if err != nil {
		return fmt.Errorf("ui: encoding session: %w", err)
	}
	ok, err := s.c.SetXX(ctx, s.prefix+"session:"+key, b, ttl).Result()
	if err != nil {
		return fmt.Errorf("ui: redis SET XX: %w", err)
	}
	if !ok {
		return ErrSessionNotFound
	}
	return nil
}

// DeleteSession implements SessionStore.
func (s *RedisSessionStore) DeleteSession(ctx context.Context, key string) error {
	if err := s.c.Del(ctx, s.prefix+"session:"+key).Err(); err != nil {
		return fmt.Errorf("ui: redis DEL: %w", err)
	}
	return nil
}
