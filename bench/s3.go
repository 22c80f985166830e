package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/satchelhq/satchel/internal/blob/s3"
)

const (
	s3Access = "satchel-bench"
	s3Secret = "satchel-bench-secret"
)

// versitygw starts an S3 server on a posix directory with one bucket.
func startVersitygw(ctx context.Context, work string) (endpoint string, stop func(), err error) {
	bin, err := exec.LookPath("versitygw")
	if err != nil {
		bin = filepath.Join(os.Getenv("HOME"), "go", "bin", "versitygw")
		if out, gerr := exec.Command("go", "env", "GOPATH").Output(); gerr == nil {
			bin = filepath.Join(string(out[:len(out)-1]), "bin", "versitygw")
		}
		if _, serr := os.Stat(bin); serr != nil {
			return "", nil, fmt.Errorf("versitygw is not installed: go install github.com/versity/versitygw/cmd/versitygw@v1.8.0")
		}
	}
	root := filepath.Join(work, "s3")
	if err := os.MkdirAll(filepath.Join(root, "bench"), 0o755); err != nil {
		return "", nil, err
	}
	addr, err := freePort()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.CommandContext(ctx, bin, "--port", addr, "--access", s3Access, "--secret", s3Secret, "--quiet", "posix", root)
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop = func() { cmd.Process.Kill(); cmd.Wait() }
	for range 100 {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return "http://" + addr, stop, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	return "", nil, fmt.Errorf("versitygw did not start")
}

// s3Bench moves the file through Satchel on S3 and straight to and from
// the same S3 server, and reports ratios and Satchel's peak RSS.
func s3Bench(ctx context.Context, work, src string, size int64, runs int) error {
	endpoint, stop, err := startVersitygw(ctx, work)
	if err != nil {
		return err
	}
	defer stop()
	os.Setenv("AWS_ACCESS_KEY_ID", s3Access)
	os.Setenv("AWS_SECRET_ACCESS_KEY", s3Secret)
	storageURL := "s3://bench?endpoint=" + endpoint + "&region=us-east-1&path_style=true"
	loc, _ := s3.ParseURL(storageURL)
	direct, err := s3.New(ctx, loc)
	if err != nil {
		return err
	}
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"))
	if err != nil {
		return err
	}
	// The same client settings as Satchel's: no response checksum to compute
	// where S3 does not require one.
	raw := awss3.NewFromConfig(cfg, func(o *awss3.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.UsePathStyle = true
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})

	sat, err := startSatchelWith(ctx, work, "satchel-s3", "SATCHEL_STORAGE_URL="+storageURL,
		"AWS_ACCESS_KEY_ID="+s3Access, "AWS_SECRET_ACCESS_KEY="+s3Secret)
	if err != nil {
		return err
	}
	defer sat.Stop()
	key, err := sat.Account(ctx)
	if err != nil {
		return err
	}
	up := result{name: "S3 upload", target: 0}
	dl := result{name: "S3 download", target: 0}
	for i := range runs {
		// Straight to S3: the same multipart client Satchel uses.
		d, err := timed(func() error {
			f, err := os.Open(src)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = direct.Put(ctx, fmt.Sprintf("direct-%d", i), f)
			return err
		})
		if err != nil {
			return fmt.Errorf("put to S3: %w", err)
		}
		up.base = append(up.base, rate(size, d))
		// Straight from S3: one GetObject of the whole object.
		d, err = timed(func() error {
			out, err := raw.GetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("bench"), Key: aws.String(fmt.Sprintf("direct-%d", i))})
			if err != nil {
				return err
			}
			defer out.Body.Close()
			n, err := io.Copy(io.Discard, out.Body)
			if err == nil && n != size {
				err = fmt.Errorf("got %d bytes", n)
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("get from S3: %w", err)
		}
		dl.base = append(dl.base, rate(size, d))
		direct.Delete(ctx, fmt.Sprintf("direct-%d", i))

		id, d, err := sat.timedUpload(ctx, key, src, fmt.Sprintf("s3-%d.bin", i))
		if err != nil {
			return fmt.Errorf("satchel upload to S3: %w", err)
		}
		up.ours = append(up.ours, rate(size, d))
		d, err = timed(func() error { return download(ctx, sat.URL+"/api/v1/files/"+id+"/content", key, size) })
		if err != nil {
			return fmt.Errorf("satchel download from S3: %w", err)
		}
		dl.ours = append(dl.ours, rate(size, d))
		if err := sat.Delete(ctx, key, id); err != nil {
			return err
		}
		fmt.Printf("S3 run %d: upload direct %s satchel %s; download direct %s satchel %s\n", i+1,
			mbps(up.base[i]), mbps(up.ours[i]), mbps(dl.base[i]), mbps(dl.ours[i]))
	}
	rss, err := sat.PeakRSS()
	if err != nil {
		return err
	}
	printResults("versitygw", []result{up, dl})
	fmt.Printf("%-30s %14s %14s %8s %10s\n", "peak RSS (S3)", "", human(rss), "", "< 150 MiB")
	return nil
}
