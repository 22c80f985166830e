package main_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/satchelhq/satchel/internal/testutil/dbtest"
	"github.com/satchelhq/satchel/internal/testutil/s3test"
)

// TestTwoNodes runs two satchel processes on one PostgreSQL database and one
// bucket, and sends requests to both in turn: they behave as one.
func TestTwoNodes(t *testing.T) {
	dbURL := dbtest.NewPostgresURL(t, false)
	shared := []string{
		"SATCHEL_DATABASE_URL=" + dbURL,
		"SATCHEL_STORAGE_URL=" + s3test.StorageURL(t),
	}
	a := start(t, shared...)
	b := start(t, shared...)
	nodes := []*proc{a, b}

	// An account and a key made on one node work on the other; so does a
	// session cookie.
	key := keyFor(t, a.URL, "alice")
	if st, body := call(t, "GET", b.URL+"/api/v1/me", key, nil); st != 200 || field(t, body, "username") != "alice" {
		t.Fatalf("the key on the other node: %d %s", st, body)
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	resp, err := browser.Post(a.URL+"/api/v1/sessions", "application/json", strings.NewReader(`{"login":"alice","password":"password-1"}`))
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("sign in on a: %v", err)
	}
	resp.Body.Close()
	aURL, _ := url.Parse(a.URL)
	bURL, _ := url.Parse(b.URL)
	jar.SetCookies(bURL, jar.Cookies(aURL))
	if resp, err := browser.Get(b.URL + "/api/v1/me"); err != nil || resp.StatusCode != 200 {
		t.Errorf("the session cookie on the other node: %v %v", resp.StatusCode, err)
	}

	// A resumable upload with its chunks sent to both nodes at once, and
	// completed on one of them.
	const chunk = 5 << 20
	content := make([]byte, 4*chunk+777)
	rand.Read(content)
	id := createUpload(t, a.URL, key, "shared.bin", len(content), chunk)
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			part := content[i*chunk : min((i+1)*chunk, len(content))]
			if st, body := call(t, "PUT", fmt.Sprintf("%s/api/v1/uploads/%s/chunks/%d", nodes[i%2].URL, id, i), key, bytes.NewReader(part)); st != 200 {
				t.Errorf("chunk %d on node %d: %d %s", i, i%2, st, body)
			}
		}()
	}
	wg.Wait()
	st, body := call(t, "POST", b.URL+"/api/v1/uploads/"+id+"/complete", key, nil)
	sum := sha256.Sum256(content)
	if st != 200 || field(t, body, "sha256") != hex.EncodeToString(sum[:]) {
		t.Fatalf("complete on b: %d %s", st, body)
	}
	fileID := field(t, body, "id")
	if st, got := call(t, "GET", a.URL+"/api/v1/files/"+fileID+"/content", key, nil); st != 200 || !bytes.Equal(got, content) {
		t.Errorf("download from a: %d, %d bytes", st, len(got))
	}

	// A download limit holds across nodes: exactly that many succeed.
	st, body = call(t, "POST", a.URL+"/api/v1/files/"+fileID+"/shares", key, strings.NewReader(`{"max_downloads":5}`))
	if st != 201 {
		t.Fatalf("share: %d %s", st, body)
	}
	token := field(t, body, "token")
	var (
		mu       sync.Mutex
		statuses = map[int]int{}
	)
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("GET", nodes[i%2].URL+"/s/"+token+"/download", nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			mu.Lock()
			statuses[resp.StatusCode]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if statuses[200] != 5 || statuses[410] != 25 {
		t.Errorf("downloads across nodes: %v, want 5 x 200 and 25 x 410", statuses)
	}

	// A password link unlocked on one node is unlocked on the other (the
	// cookie's secret is shared), and wrong guesses count on both.
	st, body = call(t, "POST", a.URL+"/api/v1/files/"+fileID+"/shares", key, strings.NewReader(`{"password":"open sesame"}`))
	locked := field(t, body, "token")
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noRedirect.Post(a.URL+"/s/"+locked+"/unlock", "application/x-www-form-urlencoded", strings.NewReader("password=open+sesame"))
	if err != nil || resp.StatusCode != 303 {
		t.Fatalf("unlock on a: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	cookie := resp.Cookies()[0]
	req, _ := http.NewRequest("HEAD", b.URL+"/s/"+locked+"/download", nil)
	req.AddCookie(cookie)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("the unlock cookie on b: %v %v", resp.StatusCode, err)
	}
	for i := range 5 {
		call(t, "HEAD", nodes[i%2].URL+"/s/"+locked+"/download", "", nil, "X-Share-Password", "guess")
	}
	if st, _ := call(t, "HEAD", a.URL+"/s/"+locked+"/download", "", nil, "X-Share-Password", "open sesame"); st != 429 {
		t.Errorf("after 5 wrong passwords spread over both nodes: %d, want 429", st)
	}

	// Each thumbnail is made once, whichever node takes the job.
	for i := range 4 {
		img := image.NewRGBA(image.Rect(0, 0, 400, 300))
		for p := range img.Pix {
			img.Pix[p] = byte(p * (i + 1))
		}
		img.Set(0, 0, color.RGBA{1, 2, 3, 255})
		var buf bytes.Buffer
		png.Encode(&buf, img)
		if st, body := call(t, "POST", fmt.Sprintf("%s/api/v1/files?filename=img%d.png", nodes[i%2].URL, i), key, &buf); st != 201 {
			t.Fatalf("upload an image: %d %s", st, body)
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, body := call(t, "GET", b.URL+"/api/v1/files?q=img", key, nil)
		var page struct {
			Items []struct {
				HasThumbnail bool `json:"has_thumbnail"`
			} `json:"items"`
		}
		json.Unmarshal(body, &page)
		done := 0
		for _, it := range page.Items {
			if it.HasThumbnail {
				done++
			}
		}
		if done == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("thumbnails made: %d of 4", done)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Five thumbnail jobs (shared.bin had one too; it is not an image),
	// each run once, by one node or the other.
	made := func() int {
		n := 0
		for _, p := range nodes {
			n += int(metric(t, p, `satchel_jobs_finished_total{kind="thumbnail",result="succeeded"}`))
		}
		return n
	}
	for made() < 5 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var jobs, attempts int
	if err := db.QueryRow(`SELECT count(*), max(attempt) FROM river_job WHERE kind = 'thumbnail'`).Scan(&jobs, &attempts); err != nil {
		t.Fatal(err)
	}
	if n := made(); n != 5 || jobs != 5 || attempts != 1 {
		t.Errorf("thumbnail jobs: %d run on the two nodes, %d queued, at most %d attempts; want 5, 5, 1", n, jobs, attempts)
	}

	// Revoking on one node stops the key on the other at once.
	_, body = call(t, "GET", b.URL+"/api/v1/api-keys", key, nil)
	var keys struct {
		Items []struct{ ID string } `json:"items"`
	}
	json.Unmarshal(body, &keys)
	if st, _ := call(t, "DELETE", b.URL+"/api/v1/api-keys/"+keys.Items[0].ID, key, nil); st != 204 {
		t.Fatalf("revoke on b: %d", st)
	}
	if st, _ := call(t, "GET", a.URL+"/api/v1/me", key, nil); st != 401 {
		t.Errorf("a revoked key on the other node: %d, want 401", st)
	}
}

// metric reads one metric line's value from a node.
func metric(t *testing.T, p *proc, name string) float64 {
	t.Helper()
	_, body := call(t, "GET", p.URL+"/metrics", "", nil)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			var f float64
			fmt.Sscan(v, &f)
			return f
		}
	}
	return 0
}
