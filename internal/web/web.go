// Package web holds the pages Satchel renders for browsers and their static
// assets, embedded in the binary and parsed once. Nothing is fetched at run
// time; no page carries inline script.
package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"time"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// shared templates are parts of pages, not pages.
var shared = map[string]bool{"layout": true, "icons": true, "app": true}

// appPages are the signed-in pages, with the app's navigation.
var appPages = map[string]bool{"files": true, "shares": true, "account": true}

// Pages renders the embedded templates.
type Pages struct {
	pages map[string]*template.Template
}

// New parses the templates: each page with the shared layout.
func New() (*Pages, error) {
	funcs := template.FuncMap{
		"bytes":    HumanBytes,
		"datetime": func(t time.Time) string { return t.UTC().Format("2 Jan 2006, 15:04 UTC") },
		"iso":      func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	}
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &Pages{pages: map[string]*template.Template{}}
	for _, name := range names {
		base := name[len("templates/") : len(name)-len(".html")]
		if shared[base] {
			continue
		}
		files := []string{"templates/layout.html", "templates/icons.html", name}
		if appPages[base] {
			files = append(files, "templates/app.html")
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, files...)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", name, err)
		}
		p.pages[base] = t
	}
	return p, nil
}

// Render writes page with data and status. It renders into a buffer first,
// so a template error never leaves half a page.
func (p *Pages) Render(w http.ResponseWriter, status int, page string, data any) error {
	t, ok := p.pages[page]
	if !ok {
		return fmt.Errorf("no page %q", page)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return fmt.Errorf("render %s: %w", page, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := io.Copy(w, &buf)
	return err
}

// Static serves the embedded assets under /static/.
func Static() http.Handler {
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	files := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
}

// HumanBytes formats a size for people: 1.5 MB, 340 KB, 12 bytes.
func HumanBytes(n int64) string {
	switch {
	case n < 1000:
		if n == 1 {
			return "1 byte"
		}
		return fmt.Sprintf("%d bytes", n)
	case n < 1_000_000:
		return fmt.Sprintf("%.1f KB", float64(n)/1e3)
	case n < 1_000_000_000:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.2f GB", float64(n)/1e9)
}
