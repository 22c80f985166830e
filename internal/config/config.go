// Package config holds Satchel's configuration: its defaults, how environment
// variables and flags set it, and how it is checked. It is passed in, never
// global.
package config

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
)

// Config is the whole configuration of a Satchel node.
type Config struct {
	Addr            string
	DataDir         string
	DatabaseURL     string
	StorageURL      string
	DatabaseTimeout time.Duration
	StorageTimeout  time.Duration
	PublicURL       string
	MaxFileSize     int64
	UserQuota       int64 // 0: unlimited
	Registration    string
	LogLevel        slog.Level
	LogFormat       string
	ShutdownTimeout time.Duration
	UploadTTL       time.Duration
	BodyTimeout     time.Duration
	// TrustedProxies may set X-Forwarded-For: the client address is the
	// last one in it that is not a trusted proxy.
	TrustedProxies []netip.Prefix

	ThumbMaxPixels int64
	ThumbWorkers   int
	JobWorkers     int
	JobTimeout     time.Duration
	FFmpeg         string
}

// Setting describes one configuration value: its environment variable, its
// flag, its default as written in the README, and what it means.
type Setting struct {
	Env     string
	Flag    string
	Default string
	Usage   string
	set     func(c *Config, v string) error
}

// Settings lists every setting in the order the README documents them.
func Settings() []Setting {
	return []Setting{
		{"SATCHEL_ADDR", "addr", "127.0.0.1:8080", "address to listen on (host:port)",
			func(c *Config, v string) error {
				if _, _, err := net.SplitHostPort(v); err != nil {
					return fmt.Errorf("%q is not host:port", v)
				}
				c.Addr = v
				return nil
			}},
		{"SATCHEL_DATA_DIR", "data-dir", "./satchel-data", "directory for the default SQLite database and blobs",
			func(c *Config, v string) error {
				if v == "" {
					return errors.New("must not be empty")
				}
				c.DataDir = v
				return nil
			}},
		{"SATCHEL_DATABASE_URL", "database-url", "", "SQLite file in the data dir; postgres://… selects PostgreSQL; sqlite:PATH names a SQLite file",
			func(c *Config, v string) error { c.DatabaseURL = v; return nil }},
		{"SATCHEL_STORAGE_URL", "storage-url", "", "file://<data dir>/blobs; file://PATH, or s3://bucket?endpoint=…&region=…&path_style=true",
			func(c *Config, v string) error { c.StorageURL = v; return nil }},
		{"SATCHEL_DATABASE_TIMEOUT", "database-timeout", "15s", "how long one database call may take before the request answers 503 (a database that hangs cannot hold requests)",
			func(c *Config, v string) error { return duration(v, time.Second, "15s", &c.DatabaseTimeout) }},
		{"SATCHEL_STORAGE_TIMEOUT", "storage-timeout", "1m", "how long Satchel waits on an S3 object store that does not move (no answer, or a body stalled partway) before the request fails with 503",
			func(c *Config, v string) error { return duration(v, time.Second, "1m", &c.StorageTimeout) }},
		{"SATCHEL_PUBLIC_URL", "public-url", "", "http://<addr>; the base of share URLs",
			func(c *Config, v string) error { c.PublicURL = v; return nil }},
		{"SATCHEL_MAX_FILE_SIZE", "max-file-size", "10GiB", "largest file accepted (bytes or units: 512MiB, 10GiB)",
			func(c *Config, v string) error {
				n, err := ParseSize(v)
				if err != nil {
					return err
				}
				if n <= 0 {
					return errors.New("must be positive")
				}
				c.MaxFileSize = n
				return nil
			}},
		{"SATCHEL_USER_QUOTA", "user-quota", "unlimited", "storage each user may use (bytes or units; unlimited)",
			func(c *Config, v string) error {
				if v == "" || strings.EqualFold(v, "unlimited") || v == "0" {
					c.UserQuota = 0
					return nil
				}
				n, err := ParseSize(v)
				if err != nil {
					return err
				}
				c.UserQuota = n
				return nil
			}},
		{"SATCHEL_REGISTRATION", "registration", "open", "open, or closed: only the satchel user create command makes accounts",
			func(c *Config, v string) error {
				if v != "open" && v != "closed" {
					return fmt.Errorf("%q is neither open nor closed", v)
				}
				c.Registration = v
				return nil
			}},
		{"SATCHEL_UPLOAD_TTL", "upload-ttl", "24h", "how long a resumable upload may sit idle before it is swept with its bytes",
			func(c *Config, v string) error { return duration(v, time.Minute, "24h", &c.UploadTTL) }},
		{"SATCHEL_TRUSTED_PROXIES", "trusted-proxies", "", "comma-separated addresses or CIDRs of reverse proxies whose X-Forwarded-For is believed",
			func(c *Config, v string) error {
				c.TrustedProxies = nil
				for _, part := range strings.Split(v, ",") {
					part = strings.TrimSpace(part)
					if part == "" {
						continue
					}
					p, err := netip.ParsePrefix(part)
					if err != nil {
						a, aerr := netip.ParseAddr(part)
						if aerr != nil {
							return fmt.Errorf("%q is not an IP address or CIDR", part)
						}
						p = netip.PrefixFrom(a, a.BitLen())
					}
					c.TrustedProxies = append(c.TrustedProxies, p.Masked())
				}
				return nil
			}},
		{"SATCHEL_BODY_TIMEOUT", "body-timeout", "1m", "how long a request body may send nothing before the request is cut off",
			func(c *Config, v string) error { return duration(v, time.Second, "1m", &c.BodyTimeout) }},
		{"SATCHEL_THUMB_MAX_PIXELS", "thumb-max-pixels", "50000000", "images with more pixels get no thumbnail (they are refused before decoding)",
			func(c *Config, v string) error {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil || n < 1 {
					return fmt.Errorf("%q is not a positive number of pixels", v)
				}
				c.ThumbMaxPixels = n
				return nil
			}},
		{"SATCHEL_THUMB_WORKERS", "thumb-workers", "1", "thumbnails made at once on a node (each can hold a large image in memory)",
			func(c *Config, v string) error { return positiveInt(v, &c.ThumbWorkers) }},
		{"SATCHEL_JOB_WORKERS", "job-workers", "2", "other background jobs run at once on a node",
			func(c *Config, v string) error { return positiveInt(v, &c.JobWorkers) }},
		{"SATCHEL_JOB_TIMEOUT", "job-timeout", "5m", "how long a background job may run; one whose node died is run again after this",
			func(c *Config, v string) error { return duration(v, time.Second, "5m", &c.JobTimeout) }},
		{"SATCHEL_FFMPEG", "ffmpeg", "ffmpeg", "the ffmpeg program that makes video thumbnails; none: no video thumbnails",
			func(c *Config, v string) error { c.FFmpeg = v; return nil }},
		{"SATCHEL_LOG_LEVEL", "log-level", "info", "debug, info, warn or error",
			func(c *Config, v string) error {
				return c.LogLevel.UnmarshalText([]byte(v))
			}},
		{"SATCHEL_LOG_FORMAT", "log-format", "text", "text or json",
			func(c *Config, v string) error {
				if v != "text" && v != "json" {
					return fmt.Errorf("%q is neither text nor json", v)
				}
				c.LogFormat = v
				return nil
			}},
		{"SATCHEL_SHUTDOWN_TIMEOUT", "shutdown-timeout", "30s", "how long SIGTERM waits for requests in flight",
			func(c *Config, v string) error { return duration(v, time.Second, "30s", &c.ShutdownTimeout) }},
	}
}

// duration parses a duration of at least least; example is one to show.
func duration(v string, least time.Duration, example string, dst *time.Duration) error {
	d, err := time.ParseDuration(v)
	if err != nil || d < least {
		return fmt.Errorf("%q is not a duration of %s or more, such as %s", v, strings.TrimSuffix(least.String(), "0s"), example)
	}
	*dst = d
	return nil
}

func positiveInt(v string, dst *int) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		return fmt.Errorf("%q is not a whole number from 1 to 1000", v)
	}
	*dst = n
	return nil
}

// ParseSize parses a size in bytes, with an optional unit: 1048576, 512MiB,
// 10GiB, 1.5GB.
func ParseSize(s string) (int64, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("%q is negative", s)
		}
		return n, nil
	}
	n, err := humanize.ParseBytes(s)
	if err != nil || n > 1<<62 {
		return 0, fmt.Errorf("%q is not a size (use bytes or units such as 512MiB or 10GiB)", s)
	}
	return int64(n), nil
}

// Load builds a Config from defaults, then the environment, then flags; the
// last one set wins. It registers a flag for every setting on fs (which may
// carry flags of its own), parses args and checks the result.
func Load(fs *flag.FlagSet, args []string, getenv func(string) string) (Config, error) {
	var c Config
	settings := Settings()
	values := make(map[string]string, len(settings))
	for _, s := range settings {
		values[s.Env] = s.Default
		if v := getenv(s.Env); v != "" {
			values[s.Env] = v
		}
	}
	for _, s := range settings {
		env := s.Env
		usage := s.Usage + " (env " + env
		if s.Default != "" {
			usage += ", default " + s.Default
		}
		fs.Func(s.Flag, usage+")", func(v string) error {
			values[env] = v
			return nil
		})
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for _, s := range settings {
		if err := s.set(&c, values[s.Env]); err != nil {
			return c, fmt.Errorf("%s (--%s): %w", s.Env, s.Flag, err)
		}
	}
	if err := c.resolve(); err != nil {
		return c, err
	}
	return c, nil
}

// resolve fills the defaults that depend on other settings and checks them.
func (c *Config) resolve() error {
	if c.DatabaseURL == "" {
		c.DatabaseURL = "sqlite:" + filepath.Join(c.DataDir, "satchel.db")
	}
	if _, _, err := ParseDatabaseURL(c.DatabaseURL); err != nil {
		return fmt.Errorf("SATCHEL_DATABASE_URL (--database-url): %w", err)
	}
	if c.StorageURL == "" {
		c.StorageURL = "file://" + filepath.Join(c.DataDir, "blobs")
	}
	if _, err := ParseStorageURL(c.StorageURL); err != nil {
		return fmt.Errorf("SATCHEL_STORAGE_URL (--storage-url): %w", err)
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.Addr
	}
	u, err := url.Parse(c.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("SATCHEL_PUBLIC_URL (--public-url): %q is not an http(s) URL such as https://files.example.com", c.PublicURL)
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	return nil
}

// Database kinds.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// ParseDatabaseURL returns the kind of database a URL names and the DSN its
// driver takes (for SQLite, the file path).
func ParseDatabaseURL(s string) (kind, dsn string, err error) {
	switch {
	case strings.HasPrefix(s, "postgres://"), strings.HasPrefix(s, "postgresql://"):
		return Postgres, s, nil
	case strings.HasPrefix(s, "sqlite:"):
		p := strings.TrimPrefix(strings.TrimPrefix(s, "sqlite:"), "//")
		if p == "" || strings.ContainsAny(p, "?#") {
			return "", "", fmt.Errorf("%q does not name a SQLite file (sqlite:PATH)", s)
		}
		return SQLite, p, nil
	}
	return "", "", fmt.Errorf("%q is neither postgres://… nor sqlite:PATH", s)
}

// StorageLocation is a parsed SATCHEL_STORAGE_URL.
type StorageLocation struct {
	Kind string // "file" or "s3"
	Path string // the directory, for "file"
	URL  string // the whole URL, for "s3" (its backend reads the rest)
}

// ParseStorageURL parses a storage URL.
func ParseStorageURL(s string) (StorageLocation, error) {
	switch {
	case strings.HasPrefix(s, "file://"):
		p := strings.TrimPrefix(s, "file://")
		if p == "" {
			return StorageLocation{}, fmt.Errorf("%q names no directory", s)
		}
		return StorageLocation{Kind: "file", Path: p}, nil
	case strings.HasPrefix(s, "s3://"):
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			return StorageLocation{}, fmt.Errorf("%q is not s3://bucket?endpoint=…&region=…&path_style=true", s)
		}
		return StorageLocation{Kind: "s3", URL: s}, nil
	}
	return StorageLocation{}, fmt.Errorf("%q is neither file://PATH nor s3://bucket?…", s)
}
