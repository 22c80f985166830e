package httpapi

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/satchelhq/satchel/internal/satchel"
)

func TestClientAddr(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	for _, tt := range []struct {
		name    string
		trusted []netip.Prefix
		remote  string
		xff     []string
		want    string
	}{
		{"no proxy: the peer", nil, "203.0.113.7:5000", nil, "203.0.113.7"},
		{"forwarded header ignored by default", nil, "203.0.113.7:5000", []string{"198.51.100.1"}, "203.0.113.7"},
		{"forwarded header from an untrusted peer", proxies, "203.0.113.7:5000", []string{"198.51.100.1"}, "203.0.113.7"},
		{"trusted proxy", proxies, "10.1.2.3:5000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"a client cannot spoof past the proxy", proxies, "10.1.2.3:5000", []string{"1.1.1.1, 198.51.100.1"}, "198.51.100.1"},
		{"chained proxies", proxies, "10.1.2.3:5000", []string{"198.51.100.1, 10.9.9.9"}, "198.51.100.1"},
		{"several headers", proxies, "10.1.2.3:5000", []string{"198.51.100.1", "10.9.9.9"}, "198.51.100.1"},
		{"garbage stops the walk", proxies, "10.1.2.3:5000", []string{"198.51.100.1, nonsense"}, "10.1.2.3"},
		{"IPv6 by its /64", nil, "[2001:db8:1:2:3:4:5:6]:5000", nil, "2001:db8:1:2::/64"},
		{"IPv4 mapped in IPv6", nil, "[::ffff:203.0.113.7]:5000", nil, "203.0.113.7"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := &Server{trustedProxies: tt.trusted}
			r := httptest.NewRequest("GET", "/s/x", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := s.clientAddr(r); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestStartsAtZero(t *testing.T) {
	modified := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	f := satchel.File{Size: 1000, SHA256: "abc", CreatedAt: modified}
	for _, tt := range []struct {
		name    string
		method  string
		headers []string
		want    bool
	}{
		{"full GET", "GET", nil, true},
		{"HEAD", "HEAD", nil, false},
		{"range from 0", "GET", []string{"Range", "bytes=0-99"}, true},
		{"open range from 0", "GET", []string{"Range", "bytes=0-"}, true},
		{"range from 1", "GET", []string{"Range", "bytes=1-"}, false},
		{"several ranges, first from 0", "GET", []string{"Range", "bytes=0-9,50-59"}, true},
		{"suffix shorter than the file", "GET", []string{"Range", "bytes=-10"}, false},
		{"suffix as long as the file", "GET", []string{"Range", "bytes=-1000"}, true},
		{"not modified", "GET", []string{"If-None-Match", `"abc"`}, false},
		{"modified", "GET", []string{"If-None-Match", `"old"`}, true},
		{"failed If-Match", "GET", []string{"If-Match", `"old"`}, false},
		{"stale If-Range gets everything", "GET", []string{"Range", "bytes=500-", "If-Range", `"old"`}, true},
		{"fresh If-Range keeps the range", "GET", []string{"Range", "bytes=500-", "If-Range", `"abc"`}, false},
		{"If-Range date before the change", "GET", []string{"Range", "bytes=500-", "If-Range", modified.Add(-time.Hour).Format(http.TimeFormat)}, true},
		{"If-Range date after the change", "GET", []string{"Range", "bytes=500-", "If-Range", modified.Format(http.TimeFormat)}, false},
		{"not bytes", "GET", []string{"Range", "pages=1-2"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "/s/x/download", nil)
			for i := 0; i+1 < len(tt.headers); i += 2 {
				r.Header.Set(tt.headers[i], tt.headers[i+1])
			}
			if got := startsAtZero(r, f); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
