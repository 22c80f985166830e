// Package e2e drives Satchel's web UI in a real headless Chromium (Debian's
// chromium package) through chromedp, against a whole node.
package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/satchelhq/satchel/internal/testutil/dbtest"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

// chromiumPath finds Debian's chromium.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("SATCHEL_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := exec.LookPath(p); err == nil {
			return p
		}
	}
	t.Fatalf("Chromium is not installed (apt-get install chromium), or set SATCHEL_CHROMIUM")
	return ""
}

// newBrowser starts a headless Chromium for the test.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox, // tests run as root in CI
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil { // start the browser now
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// tab is a browser tab that records the page's errors.
type tab struct {
	ctx    context.Context
	t      *testing.T
	mu     sync.Mutex
	errors []string
}

// newTab opens a tab; with fresh, in a browser context of its own (no
// cookies, no storage), like another person's browser.
func newTab(t *testing.T, browserCtx context.Context, fresh bool) *tab {
	t.Helper()
	var opts []chromedp.ContextOption
	if fresh {
		opts = append(opts, chromedp.WithNewBrowserContext())
	}
	ctx, cancel := chromedp.NewContext(browserCtx, opts...)
	t.Cleanup(cancel)
	tb := &tab{ctx: ctx, t: t}
	if err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			tb.record("exception: " + ev.ExceptionDetails.Text + " " + describe(ev.ExceptionDetails.Exception))
		case *page.EventJavascriptDialogOpening:
			// "Leave the page while an upload runs?" The test means it.
			go func() {
				_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
			}()
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, describe(a))
				}
				tb.record("console.error: " + strings.Join(parts, " "))
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	return tb
}

func describe(o *runtime.RemoteObject) string {
	if o == nil {
		return ""
	}
	if o.Description != "" {
		return o.Description
	}
	return string(o.Value)
}

func (tb *tab) record(s string) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.errors = append(tb.errors, s)
}

// pageErrors returns the errors the page raised so far, and forgets them.
func (tb *tab) pageErrors() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	errs := tb.errors
	tb.errors = nil
	return errs
}

// do runs actions, failing the test on error.
func (tb *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 90*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.t.Fatalf("%s: %v (page errors: %v)", what, err, tb.pageErrors())
	}
}

// eval evaluates a JavaScript expression.
func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor evaluates a JavaScript predicate until it is true. Evaluation
// errors (the page is navigating) are retried until the timeout.
func (tb *tab) waitFor(what, predicate string, timeout time.Duration) {
	tb.t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("Boolean("+predicate+")"))
		cancel()
		if err == nil && ok {
			return
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	tb.t.Fatalf("waiting for %s: gave up after %s (last error: %v; page errors: %v)", what, timeout, last, tb.pageErrors())
}

// artifacts keeps screenshots; they are copied where CI can pick them up
// when the test fails, or always when SATCHEL_E2E_ARTIFACTS names a
// directory.
type artifacts struct {
	dir string
}

func newArtifacts(t *testing.T) *artifacts {
	a := &artifacts{dir: t.TempDir()}
	t.Cleanup(func() {
		dest := os.Getenv("SATCHEL_E2E_ARTIFACTS")
		if !t.Failed() && dest == "" {
			return
		}
		if dest == "" {
			dest = filepath.Join("artifacts", t.Name())
		}
		if err := os.MkdirAll(dest, 0o755); err != nil {
			t.Logf("keep screenshots: %v", err)
			return
		}
		entries, _ := os.ReadDir(a.dir)
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(a.dir, e.Name()))
			if err == nil {
				os.WriteFile(filepath.Join(dest, e.Name()), b, 0o644)
			}
		}
		abs, _ := filepath.Abs(dest)
		t.Logf("screenshots kept in %s", abs)
	})
	return a
}

// shoot takes full-page screenshots at a phone's and a desktop's width.
func (a *artifacts) shoot(tb *tab, name string) {
	tb.t.Helper()
	for _, width := range []int64{390, 1280} {
		var shot []byte
		tb.do("resize to "+fmt.Sprint(width), chromedp.EmulateViewport(width, 900))
		ctx, cancel := context.WithTimeout(tb.ctx, 30*time.Second)
		shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		cancel()
		if err != nil {
			tb.t.Fatalf("screenshot %s: %v", name, err)
		}
		// Nothing may stick out sideways on a phone.
		if width == 390 {
			if overflow := eval[bool](tb, `document.documentElement.scrollWidth > 390`); overflow {
				tb.t.Errorf("%s: the page is wider than a 390 px screen", name)
			}
		}
		if err := os.WriteFile(filepath.Join(a.dir, fmt.Sprintf("%s-%d.png", name, width)), shot, 0o644); err != nil {
			tb.t.Fatal(err)
		}
	}
	tb.do("restore size", chromedp.EmulateViewport(1280, 900))
}

// allowDownloads sends the tab's downloads to dir, named by their GUID.
func (tb *tab) allowDownloads(dir string) {
	tb.do("allow downloads", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		enabled := true
		_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: dir, EventsEnabled: &enabled,
			BrowserContextID: chromedp.FromContext(tb.ctx).BrowserContextID,
		})
		return err
	}))
}
