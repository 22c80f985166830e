package httpapi

import (
	"net/http/httptest"
	"net/netip"
	"testing"
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
