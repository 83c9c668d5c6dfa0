package xcaclient

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Defaults of a community's configuration.
const (
	DefaultTimeout       = 3 * time.Second
	DefaultMaxConcurrent = 16
	// A community whose calls failed BreakerFailures times within
	// BreakerWindow is skipped for BreakerCooldown.
	DefaultBreakerFailures = 5
	DefaultBreakerWindow   = 30 * time.Second
	DefaultBreakerCooldown = 15 * time.Second
)

// Community is the configuration of one community this node federates
// with: its homeCommunityId and the URL of its responding gateway, and
// how to reach it.
type Community struct {
	// ID is the homeCommunityId, "urn:oid:<oid>".
	ID string
	// URL of the responding gateway (ITI-38 and ITI-39).
	URL string
	// Name is shown to users ("Helse Vest"); defaults to ID.
	Name string
	// Timeout bounds each call to the community (default DefaultTimeout).
	Timeout time.Duration
	// MaxConcurrent bounds the calls in flight to the community; beyond
	// it a call fails at once (default DefaultMaxConcurrent).
	MaxConcurrent int
	// TLS client certificate and key (PEM files), and the CA (PEM file)
	// the responding gateway's certificate must chain to; all optional.
	CertFile, KeyFile, CAFile string
}

// ParseCommunity reads a community from its flag form:
//
//	urn:oid:<homeCommunityId>=<URL>[;name=<display name>][;timeout=<duration>][;max=<n>][;cert=<file>;key=<file>][;ca=<file>]
//
// e.g. 'urn:oid:2.16.578.1.12.4.5.100.1=https://vest.example/xca/responding;name=Helse Vest;timeout=3s'.
// A bare OID is accepted and written back with urn:oid:. The result is
// validated (Validate), files included.
func ParseCommunity(spec string) (Community, error) {
	head, opts, _ := strings.Cut(spec, ";")
	id, u, ok := strings.Cut(head, "=")
	if !ok {
		return Community{}, fmt.Errorf("community %q: want urn:oid:<homeCommunityId>=<responding gateway URL>", spec)
	}
	c := Community{ID: NormalizeID(strings.TrimSpace(id)), URL: strings.TrimSpace(u)}
	if opts != "" {
		for _, kv := range strings.Split(opts, ";") {
			k, v, ok := strings.Cut(kv, "=")
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			if !ok || v == "" {
				return Community{}, fmt.Errorf("community %s: option %q: want name=value", c.ID, kv)
			}
			switch k {
			case "name":
				c.Name = v
			case "timeout":
				d, err := time.ParseDuration(v)
				if err != nil {
					return Community{}, fmt.Errorf("community %s: timeout %q: %v", c.ID, v, err)
				}
				c.Timeout = d
			case "max":
				n, err := strconv.Atoi(v)
				if err != nil {
					return Community{}, fmt.Errorf("community %s: max %q: not a number", c.ID, v)
				}
				c.MaxConcurrent = n
			case "cert":
				c.CertFile = v
			case "key":
				c.KeyFile = v
			case "ca":
				c.CAFile = v
			default:
				return Community{}, fmt.Errorf("community %s: unknown option %q (want name, timeout, max, cert, key, ca)", c.ID, k)
			}
		}
	}
	return c, c.Validate()
}

// NormalizeID returns a homeCommunityId in its urn:oid: form; a bare OID
// gains the prefix.
func NormalizeID(id string) string {
	if id == "" || strings.HasPrefix(id, "urn:oid:") {
		return id
	}
	return "urn:oid:" + id
}

// SameID reports whether two homeCommunityIds name the same community,
// with or without urn:oid:.
func SameID(a, b string) bool {
	return a != "" && strings.TrimPrefix(a, "urn:oid:") == strings.TrimPrefix(b, "urn:oid:")
}

// Validate checks the configuration, and that its files exist and hold
// what they must. Defaults are not applied.
func (c Community) Validate() error {
	oid := strings.TrimPrefix(c.ID, "urn:oid:")
	if !strings.HasPrefix(c.ID, "urn:oid:") || !validOID(oid) || len(oid) > 64 {
		return fmt.Errorf("community %q: the homeCommunityId must be urn:oid: and an OID of at most 64 characters", c.ID)
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return fmt.Errorf("community %s: the responding gateway URL %q must be an http(s) URL without credentials", c.ID, c.URL)
	}
	if c.Timeout < 0 || c.MaxConcurrent < 0 {
		return fmt.Errorf("community %s: timeout and max must not be negative", c.ID)
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return fmt.Errorf("community %s: cert and key go together", c.ID)
	}
	if c.CertFile != "" || c.CAFile != "" {
		if u.Scheme != "https" {
			return fmt.Errorf("community %s: cert, key and ca need an https URL", c.ID)
		}
		if _, err := c.tlsConfig(); err != nil {
			return err
		}
	}
	return nil
}

func validOID(s string) bool {
	if s == "" {
		return false
	}
	for _, arc := range strings.Split(s, ".") {
		if arc == "" || (len(arc) > 1 && arc[0] == '0') {
			return false
		}
		for _, r := range arc {
			if r < '0' || r > '9' {
				return false
			}
		}
	}
	return true
}

// DisplayName is Name, or ID when no name was given.
func (c Community) DisplayName() string {
	if c.Name != "" {
		return c.Name
	}
	return c.ID
}

func (c Community) tlsConfig() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("community %s: client certificate: %w", c.ID, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("community %s: ca: %w", c.ID, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("community %s: ca %s: %w", c.ID, c.CAFile, errors.New("no PEM certificate in it"))
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}
