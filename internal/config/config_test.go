package config_test

import (
	"flag"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/satchelhq/satchel/internal/config"
)

func load(t *testing.T, env map[string]string, args ...string) (config.Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(new(strings.Builder))
	return config.Load(fs, args, func(k string) string { return env[k] })
}

func TestDefaults(t *testing.T) {
	c, err := load(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := config.Config{
		Addr: "127.0.0.1:8080", DataDir: "./satchel-data", DatabaseURL: "sqlite:satchel-data/satchel.db",
		StorageURL: "file://satchel-data/blobs", DatabaseTimeout: 15 * time.Second, StorageTimeout: time.Minute, PublicURL: "http://127.0.0.1:8080", MaxFileSize: 10 << 30,
		UserQuota: 0, Registration: "open", LogFormat: "text", ShutdownTimeout: 30 * time.Second, UploadTTL: 24 * time.Hour, BodyTimeout: time.Minute,
		ThumbMaxPixels: 50_000_000, ThumbWorkers: 1, JobWorkers: 2, JobTimeout: 5 * time.Minute, FFmpeg: "ffmpeg",
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("defaults:\ngot  %+v\nwant %+v", c, want)
	}
}

func TestFlagsOverrideEnvironment(t *testing.T) {
	env := map[string]string{"SATCHEL_ADDR": "0.0.0.0:9000", "SATCHEL_MAX_FILE_SIZE": "512MiB", "SATCHEL_USER_QUOTA": "1GB"}
	c, err := load(t, env, "--addr", "127.0.0.1:7000", "--registration=closed", "--public-url", "https://files.example.com/")
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:7000" || c.MaxFileSize != 512<<20 || c.UserQuota != 1e9 || c.Registration != "closed" ||
		c.PublicURL != "https://files.example.com" {
		t.Errorf("got %+v", c)
	}
}

func TestEverySettingHasAFlag(t *testing.T) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(new(strings.Builder))
	if _, err := config.Load(fs, nil, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	for _, s := range config.Settings() {
		if fs.Lookup(s.Flag) == nil {
			t.Errorf("%s has no flag --%s", s.Env, s.Flag)
		}
		if !strings.HasPrefix(s.Env, "SATCHEL_") {
			t.Errorf("%s does not start with SATCHEL_", s.Env)
		}
	}
}

func TestParseSize(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1048576", 1 << 20, true},
		{"10GiB", 10 << 30, true},
		{"512MiB", 512 << 20, true},
		{"1.5GB", 1_500_000_000, true},
		{"1 KiB", 1024, true},
		{"10XB", 0, false},
		{"-5", 0, false},
		{"", 0, false},
		{"ten", 0, false},
	} {
		got, err := config.ParseSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestBadConfiguration(t *testing.T) {
	for _, tt := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"size", map[string]string{"SATCHEL_MAX_FILE_SIZE": "10XB"}, nil, "SATCHEL_MAX_FILE_SIZE"},
		{"zero size", nil, []string{"--max-file-size", "0"}, "SATCHEL_MAX_FILE_SIZE"},
		{"quota", map[string]string{"SATCHEL_USER_QUOTA": "lots"}, nil, "SATCHEL_USER_QUOTA"},
		{"addr", map[string]string{"SATCHEL_ADDR": "8080"}, nil, "SATCHEL_ADDR"},
		{"registration", nil, []string{"--registration", "maybe"}, "SATCHEL_REGISTRATION"},
		{"database", map[string]string{"SATCHEL_DATABASE_URL": "mysql://x"}, nil, "SATCHEL_DATABASE_URL"},
		{"storage", map[string]string{"SATCHEL_STORAGE_URL": "ftp://x"}, nil, "SATCHEL_STORAGE_URL"},
		{"public url", map[string]string{"SATCHEL_PUBLIC_URL": "files.example.com"}, nil, "SATCHEL_PUBLIC_URL"},
		{"log level", map[string]string{"SATCHEL_LOG_LEVEL": "loud"}, nil, "SATCHEL_LOG_LEVEL"},
		{"shutdown", map[string]string{"SATCHEL_SHUTDOWN_TIMEOUT": "soon"}, nil, "SATCHEL_SHUTDOWN_TIMEOUT"},
		{"upload ttl", map[string]string{"SATCHEL_UPLOAD_TTL": "5s"}, nil, "SATCHEL_UPLOAD_TTL"},
		{"thumb pixels", map[string]string{"SATCHEL_THUMB_MAX_PIXELS": "lots"}, nil, "SATCHEL_THUMB_MAX_PIXELS"},
		{"thumb workers", map[string]string{"SATCHEL_THUMB_WORKERS": "0"}, nil, "SATCHEL_THUMB_WORKERS"},
		{"job timeout", map[string]string{"SATCHEL_JOB_TIMEOUT": "1ms"}, nil, "SATCHEL_JOB_TIMEOUT"},
		{"database timeout", map[string]string{"SATCHEL_DATABASE_TIMEOUT": "100ms"}, nil, "SATCHEL_DATABASE_TIMEOUT"},
		{"body timeout", nil, []string{"--body-timeout", "forever"}, "SATCHEL_BODY_TIMEOUT"},
		{"trusted proxies", map[string]string{"SATCHEL_TRUSTED_PROXIES": "10.0.0.1, nginx"}, nil, "SATCHEL_TRUSTED_PROXIES"},
		{"unknown flag", nil, []string{"--colour", "blue"}, "colour"},
		{"stray argument", nil, []string{"extra"}, "extra"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.env, tt.args...)
			if err == nil {
				t.Fatalf("accepted bad configuration")
			}
			if msg := err.Error(); !strings.Contains(msg, tt.want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q should be one line naming %s", msg, tt.want)
			}
		})
	}
}

func TestTrustedProxies(t *testing.T) {
	c, err := load(t, map[string]string{"SATCHEL_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1,::1"})
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")}
	if !reflect.DeepEqual(c.TrustedProxies, want) {
		t.Errorf("got %v, want %v", c.TrustedProxies, want)
	}
}
