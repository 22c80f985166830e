package satchel

import (
	"testing"
	"time"
)

func TestIDs(t *testing.T) {
	seen := map[string]bool{}
	prev := ""
	for range 1000 {
		id := NewID()
		if !ValidID(id) || id[14] != '7' || !(id[19] >= '8' && id[19] <= 'b') {
			t.Fatalf("%q is not a canonical version 7 UUID", id)
		}
		if seen[id] {
			t.Fatalf("%s repeated", id)
		}
		seen[id] = true
		if id[:8] < prev[:min(8, len(prev))] {
			t.Fatalf("IDs went back in time: %s after %s", id, prev)
		}
		prev = id
	}
	for _, bad := range []string{"", "not-an-id", "01A241C6-5092-7820-AEA6-AE6060AE9FEF", "01a241c6-5092-7820-aea6-ae6060ae9fe", "01a241c6x5092-7820-aea6-ae6060ae9fef", "01a241c6-5092-7820-aea6-ae6060ae9feg"} {
		if ValidID(bad) {
			t.Errorf("ValidID(%q) = true", bad)
		}
	}
}

func TestCursor(t *testing.T) {
	c := Cursor{CreatedAt: time.Date(2026, 12, 4, 12, 0, 0, 123456000, time.UTC), ID: NewID()}
	got, ok := ParseCursor(c.Encode())
	if !ok || !got.CreatedAt.Equal(c.CreatedAt) || got.ID != c.ID {
		t.Errorf("round trip: got %+v %v, want %+v", got, ok, c)
	}
	for _, bad := range []string{"", "!!", "MTIz", "MTIzLm5vdC1hbi1pZA"} {
		if _, ok := ParseCursor(bad); ok {
			t.Errorf("ParseCursor(%q) accepted", bad)
		}
	}
}

func TestCheckFilename(t *testing.T) {
	for _, tt := range []struct {
		name string
		ok   bool
	}{
		{"report.pdf", true},
		{"naïve résumé 履歴書.pdf", true},
		{"../../etc/passwd", true},
		{"", false},
		{"   ", false},
		{"tab\there", false},
		{"invoice\u202Egpj.exe", false},
		{"\u2066isolate", false},
		{string([]byte{0xff, 0xfe}), false},
	} {
		if got := CheckFilename(tt.name) == ""; got != tt.ok {
			t.Errorf("CheckFilename(%q) ok=%v, want %v", tt.name, got, tt.ok)
		}
	}
}
