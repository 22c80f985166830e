// Command bench measures Satchel against a baseline in the same run and
// prints ratios: the machines it runs on are noisy, so only ratios within one
// run mean anything.
//
//	go run ./bench [-size 1GiB] [-runs 3]
//
// It builds satchel, starts it and nginx (Debian's nginx package) on
// loopback and moves one file through each:
//   - download: nginx serves the file with sendfile; Satchel serves it from
//     its blob directory.
//   - upload: nginx stores a WebDAV PUT, then the benchmark fsyncs the stored
//     file (the durable work Satchel does before it answers); Satchel
//     stores a direct upload.
//
// It also reports Satchel's peak RSS over the whole run.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"time"

	"github.com/satchelhq/satchel/internal/config"
)

func main() {
	sizeFlag := flag.String("size", "1GiB", "size of the file moved")
	only := flag.String("only", "", "run one part: transfer, share or s3 (default: all)")
	runs := flag.Int("runs", 3, "measurements of each kind; the median is reported")
	keep := flag.Bool("keep", false, "keep the working directory")
	flag.Parse()
	size, err := config.ParseSize(*sizeFlag)
	if err != nil {
		fail(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, size, *runs, *keep, *only); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "bench: %v\n", err)
	os.Exit(1)
}

func run(ctx context.Context, size int64, runs int, keep bool, only string) error {
	work, err := os.MkdirTemp("", "satchel-bench-")
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(work)
	}
	fmt.Printf("working in %s; file size %s; %d runs each\n", work, human(size), runs)

	src := filepath.Join(work, "source.bin")
	if err := writeRandomFile(src, size); err != nil {
		return err
	}
	ng, err := startNginx(ctx, work, src)
	if err != nil {
		return err
	}
	defer ng.Stop()
	sat, err := startSatchel(ctx, work)
	if err != nil {
		return err
	}
	defer sat.Stop()
	key, err := sat.Account(ctx)
	if err != nil {
		return err
	}
	if only == "" || only == "transfer" {
		if err := transferBench(ctx, sat, ng, key, src, size, runs); err != nil {
			return err
		}
	}
	if only == "" || only == "share" {
		if err := shareBench(ctx, sat, ng, key, work, runs); err != nil {
			return err
		}
	}
	if only == "" || only == "s3" {
		sat.Stop()
		return s3Bench(ctx, work, src, size, runs)
	}
	return nil
}

// transferBench moves the big file through nginx and Satchel.
func transferBench(ctx context.Context, sat *satchel, ng *nginx, key, src string, size int64, runs int) error {
	fileID, err := sat.Upload(ctx, key, src, "source.bin")
	if err != nil {
		return err
	}

	var results []result
	dl := result{name: "download", target: 0.9}
	up := result{name: "upload", target: 0.7}
	// Resumable: 8 MiB chunks over 4 streams, against nginx's single-stream
	// upload; the time of complete in order and out of order.
	ru := result{name: "resumable upload, 4 streams", target: 1.0}
	var inOrder, outOfOrder []time.Duration
	for i := range runs {
		d, err := timed(func() error { return download(ctx, ng.URL+"/source.bin", "", size) })
		if err != nil {
			return fmt.Errorf("nginx download: %w", err)
		}
		dl.base = append(dl.base, rate(size, d))
		d, err = timed(func() error { return download(ctx, sat.URL+"/api/v1/files/"+fileID+"/content", key, size) })
		if err != nil {
			return fmt.Errorf("satchel download: %w", err)
		}
		dl.ours = append(dl.ours, rate(size, d))

		name := fmt.Sprintf("put-%d.bin", i)
		d, err = timed(func() error { return ng.PutDurably(ctx, src, name) })
		if err != nil {
			return fmt.Errorf("nginx upload: %w", err)
		}
		up.base = append(up.base, rate(size, d))
		os.Remove(filepath.Join(ng.Root, "dav", name))
		id, d, err := sat.timedUpload(ctx, key, src, name)
		if err != nil {
			return fmt.Errorf("satchel upload: %w", err)
		}
		up.ours = append(up.ours, rate(size, d))
		if err := sat.Delete(ctx, key, id); err != nil {
			return err
		}

		for _, reverse := range []bool{false, true} {
			r, err := sat.ResumableUpload(ctx, key, src, 8<<20, 4, reverse)
			if err != nil {
				return fmt.Errorf("satchel resumable upload: %w", err)
			}
			if reverse {
				outOfOrder = append(outOfOrder, r.complete)
			} else {
				inOrder = append(inOrder, r.complete)
				ru.base = append(ru.base, up.base[i])
				ru.ours = append(ru.ours, rate(size, r.total))
			}
			if err := sat.Delete(ctx, key, r.fileID); err != nil {
				return err
			}
		}
		fmt.Printf("run %d: download nginx %s satchel %s; upload nginx %s satchel %s; resumable %s, complete %s in order, %s reversed\n", i+1,
			mbps(dl.base[i]), mbps(dl.ours[i]), mbps(up.base[i]), mbps(up.ours[i]), mbps(ru.ours[i]),
			inOrder[i].Round(time.Millisecond), outOfOrder[i].Round(time.Millisecond))
	}
	results = append(results, dl, up, ru)
	rss, err := sat.PeakRSS()
	if err != nil {
		return err
	}

	printResults("nginx", results)
	fmt.Printf("%-30s %14s %14s %8s %10s\n", "complete, chunks in order", "", medianDuration(inOrder), "", "< 1s")
	fmt.Printf("%-30s %14s %14s %8s %10s\n", "complete, chunks reversed", "", medianDuration(outOfOrder), "", "")
	fmt.Printf("%-30s %14s %14s %8s %10s\n", "peak RSS", "", human(rss), "", "< 100 MiB")
	return nil
}

// result is a throughput measured against a baseline, higher is better.
type result struct {
	name       string
	base, ours []float64
	target     float64 // the ratio to reach; 0 for none
}

// printResults prints the median of each result and its ratio to the
// baseline's.
func printResults(baseline string, results []result) {
	fmt.Printf("\n%-30s %14s %14s %8s %10s\n", "", baseline, "satchel", "ratio", "target")
	for _, r := range results {
		b, o := median(r.base), median(r.ours)
		target := ""
		if r.target > 0 {
			target = fmt.Sprintf(">= %.1f", r.target)
		}
		fmt.Printf("%-30s %14s %14s %8.2f %10s\n", r.name, mbps(b), mbps(o), o/b, target)
	}
}

// timedUpload uploads a file to Satchel and says how long it took.
func (s *satchel) timedUpload(ctx context.Context, key, src, name string) (id string, d time.Duration, err error) {
	d, err = timed(func() error {
		id, err = s.Upload(ctx, key, src, name)
		return err
	})
	return id, d, err
}

func medianDuration(ds []time.Duration) string {
	xs := make([]float64, len(ds))
	for i, d := range ds {
		xs[i] = float64(d)
	}
	return time.Duration(median(xs)).Round(time.Millisecond).String()
}

func timed(fn func() error) (time.Duration, error) {
	start := time.Now()
	err := fn()
	return time.Since(start), err
}

func rate(size int64, d time.Duration) float64 { return float64(size) / d.Seconds() }

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func mbps(bytesPerSecond float64) string { return fmt.Sprintf("%.0f MiB/s", bytesPerSecond/(1<<20)) }

func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d B", n)
}
