package app

import (
	"testing"

	"github.com/satchelhq/satchel/internal/satchel"
)

func TestChooseChunkSize(t *testing.T) {
	const MiB = 1 << 20
	for _, tt := range []struct {
		name             string
		total, requested int64
		chunk            int64
		n                int
	}{
		{"default", 100 * MiB, 0, 8 * MiB, 13},
		{"small request is raised to S3's minimum", 100 * MiB, 1 * MiB, 5 * MiB, 20},
		{"large request is capped", 1000 * MiB, 100 * MiB, 64 * MiB, 16},
		{"a single chunk may be small", 3 * MiB, 0, 8 * MiB, 1},
		{"empty file", 0, 0, 8 * MiB, 0},
		{"exact multiple", 16 * MiB, 8 * MiB, 8 * MiB, 2},
		{"too many chunks: the size grows", 100_000 * MiB, 5 * MiB, 10 * MiB, 10_000},
		{"too many chunks, not a round size", 100_000*MiB + 1, 0, 11 * MiB, 9091},
	} {
		t.Run(tt.name, func(t *testing.T) {
			chunk, n, err := ChooseChunkSize(tt.total, tt.requested)
			if err != nil || chunk != tt.chunk || n != tt.n {
				t.Errorf("got %d bytes x %d (%v), want %d x %d", chunk, n, err, tt.chunk, tt.n)
			}
			if n > MaxChunks || (n > 1 && chunk < MinChunkSize) || chunk > MaxChunkSize {
				t.Errorf("%d chunks of %d break the S3 rules", n, chunk)
			}
		})
	}
	if _, _, err := ChooseChunkSize(MaxChunks*MaxChunkSize+1, 0); err == nil {
		t.Errorf("a file needing more than 10,000 chunks of 64 MiB was accepted")
	}
}

func TestMissing(t *testing.T) {
	u := satchel.Upload{TotalChunks: 6, Received: []int{1, 2, 4}}
	got := u.Missing()
	want := []int{0, 3, 5}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}
