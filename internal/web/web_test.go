package web

import (
	"os/exec"
	"strings"
	"testing"
)

// TestJavaScript runs the unit tests of the browser code with Node's own
// test runner (no dependencies).
func TestJavaScript(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("Node.js is needed for the JavaScript tests (apt-get install nodejs): %v", err)
	}
	out, err := exec.Command(node, "--test", "static/app/").CombinedOutput()
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "# fail 0") {
		t.Fatalf("unexpected node output:\n%s", out)
	}
}

func TestQRSVG(t *testing.T) {
	svg, err := QRSVG("https://files.example.com/s/AbCdEfGhIjKlMnOpQrStUvWx")
	if err != nil {
		t.Fatal(err)
	}
	s := string(svg)
	if !strings.HasPrefix(s, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 `) || !strings.HasSuffix(s, "</svg>") {
		t.Errorf("not an SVG document: %.80s", s)
	}
	if n := strings.Count(s, "h1v1h-1z"); n < 200 {
		t.Errorf("only %d dark modules", n)
	}
	for _, bad := range []string{"<script", "href", "onload"} {
		if strings.Contains(s, bad) {
			t.Errorf("the SVG holds %q", bad)
		}
	}
	other, _ := QRSVG("https://files.example.com/s/other")
	if string(other) == s {
		t.Errorf("two texts drew the same code")
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 bytes", 1: "1 byte", 999: "999 bytes", 4096: "4.1 KB", 31_457_280: "31.5 MB", 10 << 30: "10.74 GB"} {
		if got := HumanBytes(n); got != want {
			t.Errorf("HumanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestPagesParse(t *testing.T) {
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	if len(p.pages) == 0 {
		t.Fatal("no pages")
	}
}
