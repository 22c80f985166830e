package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/satchelhq/satchel/internal/config"
)

func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// codeBlock returns the first ```sh block after heading.
func codeBlock(t *testing.T, doc, heading string) string {
	t.Helper()
	i := strings.Index(doc, heading)
	if i < 0 {
		t.Fatalf("README has no %q", heading)
	}
	rest := doc[i:]
	start := strings.Index(rest, "```sh\n")
	end := strings.Index(rest[start+6:], "```")
	if start < 0 || end < 0 {
		t.Fatalf("no sh block after %q", heading)
	}
	return rest[start+6 : start+6+end]
}

// TestREADMECurlExamples runs the README's curl session, as written, against
// a real server.
func TestREADMECurlExamples(t *testing.T) {
	script := codeBlock(t, readme(t), "## Using the API")
	const base = "SATCHEL=http://127.0.0.1:8080\n"
	if !strings.HasPrefix(script, base) {
		t.Fatalf("the example does not start with %q", base)
	}
	p := start(t)
	script = "SATCHEL=" + p.URL + "\n" + strings.TrimPrefix(script, base)
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the README example fails: %v\n%s", err, out)
	}
	text := string(out)
	for _, want := range []string{`"username":"alice"`, "hello.txt\nhello.txt\n", "\nhello\n", "hello, satchel\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if b, err := os.ReadFile(filepath.Join(cmd.Dir, "copy.txt")); err != nil || string(b) != "hello, satchel\n" {
		t.Errorf("downloaded copy: %q %v", b, err)
	}
}

// TestREADMEConfigurationTable checks that the README documents every
// setting with its flag and default.
func TestREADMEConfigurationTable(t *testing.T) {
	doc := readme(t)
	for _, s := range config.Settings() {
		var row string
		for _, line := range strings.Split(doc, "\n") {
			if strings.HasPrefix(line, "| `"+s.Env+"` |") {
				row = line
			}
		}
		if row == "" {
			t.Errorf("README has no row for %s", s.Env)
			continue
		}
		if !strings.Contains(row, "`--"+s.Flag+"`") {
			t.Errorf("README row of %s lacks --%s", s.Env, s.Flag)
		}
		if s.Default != "" && !strings.Contains(row, "`"+s.Default+"`") {
			t.Errorf("README row of %s lacks its default %q", s.Env, s.Default)
		}
	}
}
