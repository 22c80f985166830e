package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/satchelhq/satchel/internal/testutil/apitest"
)

// writeFile writes size random bytes to a file called name and returns its
// path, content and SHA-256.
func writeFile(t *testing.T, name string, size int) (string, []byte, string) {
	t.Helper()
	b := make([]byte, size)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return p, b, hex.EncodeToString(sum[:])
}

// TestUI walks a person through Satchel in a real browser: register, upload
// with the picker, reload in the middle of an upload and resume it, share a
// file with a password, and download it from another browser.
func TestUI(t *testing.T) {
	env := apitest.StartWith(t, apitest.Options{Backend: apitest.Backends()[0], RealClock: true})
	shots := newArtifacts(t)
	browserCtx := newBrowser(t)
	me := newTab(t, browserCtx, true)
	const MiB = 1 << 20

	// Register; the app signs in and shows the (empty) files page.
	me.do("open the registration page", chromedp.Navigate(env.URL+"/"))
	me.waitFor("the sign-in page", `location.pathname === "/login"`, 10*time.Second)
	shots.shoot(me, "login")
	me.do("register",
		chromedp.Navigate(env.URL+"/register"),
		chromedp.SendKeys(chromedp.ID("username"), "alice"),
		chromedp.SendKeys(chromedp.ID("email"), "alice@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), "correct horse battery"),
		chromedp.Click(chromedp.CSS("#register-form button[type=submit]")),
	)
	me.waitFor("the files page", `location.pathname === "/" && document.getElementById("empty") && !document.getElementById("empty").hidden`, 15*time.Second)

	// Upload 30 MiB with the picker: the bar reaches 100% and the file
	// appears with its SHA-256.
	first, firstBytes, firstSum := writeFile(t, "holiday video.mp4", 30*MiB)
	me.do("pick the first file", chromedp.SetUploadFiles(chromedp.ID("file-input"), []string{first}))
	me.waitFor("the first upload to finish",
		`[...document.querySelectorAll(".upload")].some(u => u.querySelector("progress").value === 100 && u.textContent.includes("Done"))`, 60*time.Second)
	me.waitFor("the first file in the list", `document.querySelector('#file-list li[data-sha256="`+firstSum+`"]') !== null`, 10*time.Second)
	if name := eval[string](me, `document.querySelector("#file-list li .name").textContent`); name != "holiday video.mp4" {
		t.Errorf("listed name: %q", name)
	}
	shots.shoot(me, "files")

	// A second upload, slowed down; reload in the middle, then pick the same
	// file again: only the missing chunks go.
	second, _, secondSum := writeFile(t, "backup.tar", 30*MiB)
	throttle := func(bytesPerSecond float64) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
				MatchedNetworkConditions: []*network.Conditions{{DownloadThroughput: -1, UploadThroughput: bytesPerSecond}},
			})
			return err
		})
	}
	me.do("slow the network down", throttle(2*MiB))
	me.do("pick the second file", chromedp.SetUploadFiles(chromedp.ID("file-input"), []string{second}))
	deadline := time.Now().Add(60 * time.Second)
	for chunks(t, env) < 5 { // the first file's 4 chunks, and one of the second's
		if time.Now().After(deadline) {
			t.Fatalf("no chunk of the second file arrived")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if chunks(t, env) >= 8 {
		t.Fatalf("the second upload finished before the reload; slow the network more")
	}
	me.do("reload in the middle of the upload", chromedp.Reload(), throttle(-1))
	me.waitFor("the interrupted upload to show", `document.querySelector(".upload.interrupted") !== null`, 15*time.Second)
	if text := eval[string](me, `document.querySelector(".upload.interrupted").textContent`); !strings.Contains(text, "backup.tar") || !strings.Contains(text, "same file") {
		t.Errorf("interrupted upload says: %q", text)
	}
	shots.shoot(me, "interrupted")
	me.do("pick the second file again", chromedp.SetUploadFiles(chromedp.ID("file-input"), []string{second}))
	me.waitFor("the second upload to finish", `document.querySelector('#file-list li[data-sha256="`+secondSum+`"]') !== null`, 60*time.Second)
	if got := chunkPuts(t, env); got != 8 {
		t.Errorf("chunk requests that stored or matched a chunk: %d, want 8 (4 per file, none sent twice)", got)
	}
	if n := eval[int](me, `JSON.parse(localStorage.getItem("satchel.uploads.v1") || "{}") && Object.keys(JSON.parse(localStorage.getItem("satchel.uploads.v1") || "{}")).length`); n != 0 {
		t.Errorf("finished uploads still remembered: %d", n)
	}

	// Share the first file with a password.
	me.do("open the share dialog", chromedp.Click(chromedp.CSS(`#file-list li[data-sha256="`+firstSum+`"] button[aria-label^="Share"]`)))
	me.do("fill the share form",
		chromedp.WaitVisible(chromedp.ID("share-password")),
		chromedp.SendKeys(chromedp.ID("share-password"), "open sesame"),
		chromedp.SetValue(chromedp.ID("share-limit"), "5"),
		chromedp.Click(chromedp.CSS("#share-form button[type=submit]")),
	)
	me.waitFor("the link", `document.getElementById("share-url").value !== "" || !document.querySelector("#share-form .error").hidden`, 10*time.Second)
	if msg := eval[string](me, `document.querySelector("#share-form .error").textContent`); msg != "" {
		t.Fatalf("the share form says: %s", msg)
	}
	url := eval[string](me, `document.getElementById("share-url").value`)
	if !strings.HasPrefix(url, env.URL+"/s/") {
		t.Fatalf("share URL %q", url)
	}
	me.waitFor("the QR code", `document.getElementById("share-qr").complete && document.getElementById("share-qr").naturalWidth > 0`, 10*time.Second)
	shots.shoot(me, "share-dialog")
	me.do("close the dialog", chromedp.Click(chromedp.ID("share-done")))

	// Someone else opens the link, unlocks it and downloads the file.
	them := newTab(t, browserCtx, true)
	downloads := t.TempDir()
	them.do("open the link", chromedp.Navigate(url))
	if eval[bool](them, `document.querySelector('a[href$="/download"]') !== null`) {
		t.Fatalf("the locked page offers the download")
	}
	shots.shoot(them, "share-locked")
	them.do("unlock",
		chromedp.SendKeys(chromedp.ID("password"), "open sesame"),
		chromedp.Click(chromedp.CSS("form.unlock button[type=submit]")),
	)
	them.waitFor("the unlocked page", `document.querySelector('a.download') !== null`, 10*time.Second)
	shots.shoot(them, "share-unlocked")
	them.allowDownloads(downloads)
	them.do("download", chromedp.Click(chromedp.CSS("a.download")))
	got := waitDownload(t, downloads, len(firstBytes))
	if !bytes.Equal(got, firstBytes) {
		t.Errorf("the downloaded file differs from the upload (%d bytes)", len(got))
	}

	// The shares page lists the link, with its state and downloads.
	me.do("open the shares page", chromedp.Navigate(env.URL+"/shares"))
	me.waitFor("the link in the list", `document.querySelector("#share-list li .badge.active") !== null &&
		document.querySelector("#share-list li").textContent.includes("1 of 5 downloads") &&
		document.querySelector("#share-list li").textContent.includes("holiday video.mp4")`, 10*time.Second)
	shots.shoot(me, "shares")

	// The account page: storage used, and a new API key shown once.
	me.do("open the account page", chromedp.Navigate(env.URL+"/account"))
	me.waitFor("the storage figure", `document.getElementById("storage-text").textContent.includes("62.9 MB used")`, 10*time.Second)
	me.do("create a key",
		chromedp.SendKeys(chromedp.ID("key-name"), "laptop"),
		chromedp.Click(chromedp.CSS("#key-form button[type=submit]")),
	)
	me.waitFor("the new key", `document.getElementById("new-key-value").value.startsWith("sat_")`, 10*time.Second)
	key := eval[string](me, `document.getElementById("new-key-value").value`)
	script := env.Anonymous()
	script.Key = key
	script.MustJSON("GET", "/api/v1/me", nil, 200)
	shots.shoot(me, "account")

	// Labels for every control, and no script errors anywhere.
	for _, tb := range []*tab{me, them} {
		if unlabelled := eval[string](tb, `[...document.querySelectorAll("input, select, textarea, button")].filter(e =>
				e.type !== "hidden" && !e.closest("[hidden]") && !(e.labels && e.labels.length) && !e.getAttribute("aria-label") && !e.textContent.trim()
			).map(e => e.outerHTML).join("\n")`); unlabelled != "" {
			t.Errorf("controls without a label:\n%s", unlabelled)
		}
		if errs := tb.pageErrors(); len(errs) > 0 {
			t.Errorf("page errors: %v", errs)
		}
	}

	// Signing out ends the session: the app sends the browser to sign in.
	me.do("sign out", chromedp.Click(chromedp.ID("sign-out")))
	me.waitFor("the sign-in page", `location.pathname === "/login"`, 10*time.Second)
	me.do("open the files page", chromedp.Navigate(env.URL+"/"))
	me.waitFor("the sign-in page again", `location.pathname === "/login"`, 10*time.Second)
}

// waitDownload waits for a finished download of size bytes in dir.
func waitDownload(t *testing.T, dir string, size int) []byte {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if info, err := e.Info(); err == nil && !strings.HasSuffix(e.Name(), ".crdownload") && info.Size() == int64(size) {
				b, err := os.ReadFile(filepath.Join(dir, e.Name()))
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no finished download of %d bytes in %s", size, dir)
	return nil
}

// chunks counts the chunks the server has stored.
func chunks(t *testing.T, env *apitest.Env) int {
	t.Helper()
	var n int
	if err := env.Node.Store.DB().QueryRow(`SELECT count(*) FROM upload_chunks`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// chunkPuts counts chunk requests answered 200, from the metrics.
func chunkPuts(t *testing.T, env *apitest.Env) int {
	t.Helper()
	resp := env.Anonymous().Do("GET", "/metrics", nil)
	for _, line := range strings.Split(string(resp.Body), "\n") {
		if strings.HasPrefix(line, "satchel_http_requests_total{") && strings.Contains(line, `route="PUT /api/v1/uploads/{id}/chunks/{index}"`) &&
			strings.Contains(line, `code="200"`) {
			fields := strings.Fields(line)
			n, _ := strconv.ParseFloat(fields[len(fields)-1], 64)
			return int(n)
		}
	}
	return 0
}
