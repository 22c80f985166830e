package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// wrkResult is what wrk reports of a run.
type wrkResult struct {
	rps float64
	p99 time.Duration
}

var (
	wrkRPS = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkP99 = regexp.MustCompile(`\s99%\s+([0-9.]+)(us|ms|s)`)
)

// runWrk loads url with connections concurrent clients for d.
func runWrk(ctx context.Context, url string, connections int, d time.Duration) (wrkResult, error) {
	var res wrkResult
	if _, err := exec.LookPath("wrk"); err != nil {
		return res, errors.New("wrk is not installed (apt-get install wrk)")
	}
	out, err := exec.CommandContext(ctx, "wrk", "-t2", fmt.Sprintf("-c%d", connections), fmt.Sprintf("-d%ds", int(d.Seconds())),
		"--latency", url).CombinedOutput()
	if err != nil {
		return res, fmt.Errorf("wrk: %w\n%s", err, out)
	}
	text := string(out)
	if strings.Contains(text, "Non-2xx or 3xx responses") {
		return res, fmt.Errorf("wrk saw failed responses:\n%s", text)
	}
	m := wrkRPS.FindStringSubmatch(text)
	p := wrkP99.FindStringSubmatch(text)
	if m == nil || p == nil {
		return res, fmt.Errorf("cannot read wrk's report:\n%s", text)
	}
	res.rps, _ = strconv.ParseFloat(m[1], 64)
	v, _ := strconv.ParseFloat(p[1], 64)
	unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[p[2]]
	res.p99 = time.Duration(v * float64(unit))
	return res, nil
}

// Share uploads a small file, makes a share link of it and returns the
// link's download URL; it writes the same bytes where nginx serves them.
func (s *satchel) Share(ctx context.Context, key, work string, size int) (string, error) {
	path := filepath.Join(work, "nginx", "www", "small.bin")
	if err := writeRandomFile(path, int64(size)); err != nil {
		return "", err
	}
	id, err := s.Upload(ctx, key, path, "small.bin")
	if err != nil {
		return "", err
	}
	b, err := s.do(ctx, "POST", "/api/v1/files/"+id+"/shares", key, strings.NewReader("{}"), 2, 201)
	if err != nil {
		return "", err
	}
	var sh struct{ Token string }
	if err := json.Unmarshal(b, &sh); err != nil {
		return "", err
	}
	return s.URL + "/s/" + sh.Token + "/download", nil
}

// shareBench measures share-link downloads of a 4 KiB file by 32 clients
// against nginx serving the same file, alternating, runs times.
func shareBench(ctx context.Context, sat *satchel, ng *nginx, key, work string, runs int) error {
	url, err := sat.Share(ctx, key, work, 4096)
	if err != nil {
		return err
	}
	var base, ours []float64
	var p99s, baseP99s []time.Duration
	for i := range runs {
		b, err := runWrk(ctx, ng.URL+"/small.bin", 32, 5*time.Second)
		if err != nil {
			return err
		}
		o, err := runWrk(ctx, url, 32, 5*time.Second)
		if err != nil {
			return err
		}
		base, ours = append(base, b.rps), append(ours, o.rps)
		baseP99s, p99s = append(baseP99s, b.p99), append(p99s, o.p99)
		fmt.Printf("share run %d: nginx %.0f req/s (p99 %s), satchel %.0f req/s (p99 %s)\n", i+1, b.rps, b.p99, o.rps, o.p99)
	}
	bm, om := median(base), median(ours)
	fmt.Printf("%-30s %14s %14s %8.2f %10s\n", "share downloads, 4 KiB x 32", fmt.Sprintf("%.0f req/s", bm), fmt.Sprintf("%.0f req/s", om), om/bm, ">= 0.3")
	fmt.Printf("%-30s %14s %14s %8s %10s\n", "  p99 latency", medianDuration(baseP99s), medianDuration(p99s), "", "")
	return nil
}
