package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// resumableResult is one resumable upload's timings.
type resumableResult struct {
	total    time.Duration // from creating the upload to the File
	complete time.Duration // the complete call alone
	fileID   string
}

// ResumableUpload sends the file at path as chunks of chunkSize over streams
// parallel connections, in order (each stream takes the next chunk) or in
// reverse, then completes it.
func (s *satchel) ResumableUpload(ctx context.Context, key, path string, chunkSize int64, streams int, reverse bool) (resumableResult, error) {
	var res resumableResult
	f, err := os.Open(path)
	if err != nil {
		return res, err
	}
	defer f.Close()
	st, _ := f.Stat()
	size := st.Size()
	start := time.Now()
	body := fmt.Sprintf(`{"file_name":"resumable.bin","total_size":%d,"chunk_size":%d}`, size, chunkSize)
	b, err := s.do(ctx, "POST", "/api/v1/uploads", key, strings.NewReader(body), int64(len(body)), 201)
	if err != nil {
		return res, err
	}
	var u struct {
		ID          string `json:"id"`
		ChunkSize   int64  `json:"chunk_size"`
		TotalChunks int    `json:"total_chunks"`
	}
	if err := json.Unmarshal(b, &u); err != nil {
		return res, err
	}
	next := make(chan int)
	go func() {
		defer close(next)
		for i := range u.TotalChunks {
			if reverse {
				i = u.TotalChunks - 1 - i
			}
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each stream reads the file through its own descriptor, as a
			// LimitedReader over an *os.File, so the client sends with
			// sendfile as it does for the other uploads.
			sf, err := os.Open(path)
			if err != nil {
				mu.Lock()
				firstErr = err
				mu.Unlock()
				return
			}
			defer sf.Close()
			for i := range next {
				if err := s.putChunk(ctx, key, u.ID, sf, i, int64(i)*u.ChunkSize, min(u.ChunkSize, size-int64(i)*u.ChunkSize)); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return res, firstErr
	}
	completeStart := time.Now()
	b, err = s.do(ctx, "POST", "/api/v1/uploads/"+u.ID+"/complete", key, nil, -1, 200)
	if err != nil {
		return res, err
	}
	res.complete = time.Since(completeStart)
	res.total = time.Since(start)
	var file struct{ ID string }
	err = json.Unmarshal(b, &file)
	res.fileID = file.ID
	return res, err
}

// putChunk sends n bytes of f from off as chunk i.
func (s *satchel) putChunk(ctx context.Context, key, id string, f *os.File, i int, off, n int64) error {
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, "PUT", fmt.Sprintf("%s/api/v1/uploads/%s/chunks/%d", s.URL, id, i), io.LimitReader(f, n))
	if err != nil {
		return err
	}
	req.ContentLength = n
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("chunk %d: %s", i, resp.Status)
	}
	return nil
}
