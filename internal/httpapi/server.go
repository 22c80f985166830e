// Package httpapi is Satchel's HTTP interface: one route table, the handlers,
// the middleware, and the one map from errors to problem documents.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/satchelhq/satchel/internal/app"
	"github.com/satchelhq/satchel/internal/metrics"
	"github.com/satchelhq/satchel/internal/web"
)

// Pinger is a dependency whose health /readyz reports.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Deps are what the HTTP layer is built from.
type Deps struct {
	Accounts  *app.Accounts
	Files     *app.Files
	Uploads   *app.Uploads
	Shares    *app.Shares
	Pages     *web.Pages
	Database  Pinger
	Storage   Pinger
	Metrics   *metrics.Metrics
	Log       *slog.Logger
	PublicURL string
	// UserQuota is reported by GET /me; 0 means unlimited.
	UserQuota int64
	// BodyTimeout is how long a request body may send nothing.
	BodyTimeout time.Duration
	// TrustedProxies may say who the client is in X-Forwarded-For.
	TrustedProxies []netip.Prefix
}

// Server serves the API.
type Server struct {
	accounts       *app.Accounts
	files          *app.Files
	uploads        *app.Uploads
	shares         *app.Shares
	pages          *web.Pages
	database       Pinger
	storage        Pinger
	metrics        *metrics.Metrics
	log            *slog.Logger
	publicURL      string
	secure         bool // cookies get Secure: the public URL is https
	quota          int64
	bodyTimeout    time.Duration
	trustedProxies []netip.Prefix
	mux            *http.ServeMux
	handler        http.Handler

	metricsHandler http.Handler
	inflight       sync.WaitGroup
}

// New returns a Server.
func New(d Deps) *Server {
	s := &Server{
		accounts: d.Accounts, files: d.Files, uploads: d.Uploads, shares: d.Shares, pages: d.Pages, database: d.Database,
		trustedProxies: d.TrustedProxies, storage: d.Storage,
		metrics: d.Metrics, log: d.Log, publicURL: d.PublicURL, quota: d.UserQuota,
		secure: strings.HasPrefix(d.PublicURL, "https://"), bodyTimeout: d.BodyTimeout,
		mux: http.NewServeMux(),
	}
	if s.bodyTimeout <= 0 {
		s.bodyTimeout = time.Minute
	}
	s.metricsHandler = promhttp.HandlerFor(d.Metrics.Registry, promhttp.HandlerOpts{})
	for _, rt := range s.routes() {
		s.mux.Handle(rt.Method+" "+rt.Path, s.adapt(rt))
	}
	for _, p := range fallbackPatterns {
		s.mux.Handle(p, s.adapt(route{Handle: s.noRoute}))
	}
	s.mux.Handle("GET /static/", web.Static())
	s.mux.Handle("GET /{$}", s.appPageHandler("files"))
	s.mux.Handle("GET /shares", s.appPageHandler("shares"))
	s.mux.Handle("GET /account", s.appPageHandler("account"))
	s.mux.Handle("GET /login", s.signInPage("login"))
	s.mux.Handle("GET /register", s.signInPage("register"))

	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, problemForStatus(r.Context(), http.StatusForbidden,
			"cross-origin requests that change state are refused"))
	}))
	s.handler = s.observe(csrf.Handler(s.mux))
	return s
}

// ServeHTTP serves a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.inflight.Add(1)
	defer s.inflight.Done()
	s.handler.ServeHTTP(w, r)
}

// Wait waits until no request is being handled, or ctx ends. After an
// http.Server is closed, its handlers may still be running (and cleaning
// up); the database must stay open until they return.
func (s *Server) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		s.inflight.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// route is one row of the route table.
type route struct {
	Method string
	Path   string
	// Auth routes need a login session or an API key.
	Auth   bool
	Handle func(w http.ResponseWriter, r *http.Request) error
}

// routes is the one route table. The OpenAPI test walks it.
func (s *Server) routes() []route {
	return []route{
		{"GET", "/healthz", false, s.healthz},
		{"GET", "/readyz", false, s.readyz},
		{"GET", "/metrics", false, s.serveMetrics},
		{"GET", "/api/openapi.json", false, s.openAPI},

		{"POST", "/api/v1/users", false, s.register},
		{"POST", "/api/v1/sessions", false, s.login},
		{"DELETE", "/api/v1/sessions/current", true, s.logout},
		{"GET", "/api/v1/me", true, s.getMe},
		{"PATCH", "/api/v1/me", true, s.updateMe},
		{"POST", "/api/v1/api-keys", true, s.createAPIKey},
		{"GET", "/api/v1/api-keys", true, s.listAPIKeys},
		{"DELETE", "/api/v1/api-keys/{id}", true, s.deleteAPIKey},

		{"POST", "/api/v1/files", true, s.uploadFile},
		{"GET", "/api/v1/files", true, s.listFiles},
		{"GET", "/api/v1/files/{id}", true, s.getFile},
		{"PATCH", "/api/v1/files/{id}", true, s.renameFile},
		{"DELETE", "/api/v1/files/{id}", true, s.deleteFile},
		{"GET", "/api/v1/files/{id}/content", true, s.fileContent},
		{"HEAD", "/api/v1/files/{id}/content", true, s.fileContent},
		{"GET", "/api/v1/files/{id}/thumbnail", true, s.fileThumbnail},

		{"POST", "/api/v1/uploads", true, s.createUpload},
		{"GET", "/api/v1/uploads", true, s.listUploads},
		{"GET", "/api/v1/uploads/{id}", true, s.getUpload},
		{"DELETE", "/api/v1/uploads/{id}", true, s.abortUpload},
		{"PUT", "/api/v1/uploads/{id}/chunks/{index}", true, s.putChunk},
		{"POST", "/api/v1/uploads/{id}/complete", true, s.completeUpload},

		{"POST", "/api/v1/files/{id}/shares", true, s.createShare},
		{"GET", "/api/v1/files/{id}/shares", true, s.listFileShares},
		{"GET", "/api/v1/shares", true, s.listShares},
		{"DELETE", "/api/v1/shares/{id}", true, s.deleteShare},
		{"GET", "/api/v1/shares/{id}/qr", true, s.shareQR},

		{"GET", "/s/{token}", false, s.sharePage},
		{"POST", "/s/{token}/unlock", false, s.unlockShare},
		{"GET", "/s/{token}/download", false, s.shareDownload},
		{"HEAD", "/s/{token}/download", false, s.shareDownload},
		{"GET", "/s/{token}/thumbnail", false, s.shareThumbnail},
	}
}

// adapt turns a route's handler into an http.Handler: it authenticates when
// the route needs it and writes the problem document for a returned error.
func (s *Server) adapt(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rt.Auth {
			p, err := s.authenticate(r)
			if err != nil {
				writeError(w, r, err)
				return
			}
			ctx := context.WithValue(r.Context(), principalKey{}, p)
			ctx = context.WithValue(ctx, loggerKey{}, loggerFrom(ctx).With("user_id", p.User.ID))
			r = r.WithContext(ctx)
		}
		if err := rt.Handle(w, r); err != nil {
			writeError(w, r, err)
		}
	})
}

var allMethods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"}

// fallbackPatterns catch the requests that match no route: under the API's
// paths (the JSON API, share links, the operations routes) and anywhere else.
var fallbackPatterns = []string{"/api/", "/api", "/s/", "/healthz", "/readyz", "/metrics", "/"}

// noRoute answers requests that match no route: 405 with Allow when the path
// exists for other methods, else 404; as problem documents, except that a
// browser asking for a page outside /api gets a page.
func (s *Server) noRoute(w http.ResponseWriter, r *http.Request) error {
	var allowed []string
	for _, m := range allMethods {
		probe := *r
		probe.Method = m
		if _, pattern := s.mux.Handler(&probe); pattern != "" && !slices.Contains(fallbackPatterns, pattern) {
			allowed = append(allowed, m)
		}
	}
	if len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeProblem(w, problemForStatus(r.Context(), http.StatusMethodNotAllowed,
			r.Method+" is not allowed here; use "+strings.Join(allowed, ", ")))
		return nil
	}
	if wantsHTML(r) && r.URL.Path != "/api" && !strings.HasPrefix(r.URL.Path, "/api/") {
		pageHeaders(w)
		return s.pages.Render(w, http.StatusNotFound, "notfound", nil)
	}
	writeProblem(w, problemForStatus(r.Context(), http.StatusNotFound, "there is nothing at this path"))
	return nil
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, err := w.Write([]byte("ok\n"))
	return err
}

// readyz answers 200 when the database and the storage both answer.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	checks := map[string]string{"database": "ok", "storage": "ok"}
	ready := true
	for name, p := range map[string]Pinger{"database": s.database, "storage": s.storage} {
		if err := p.Ping(ctx); err != nil {
			loggerFrom(ctx).WarnContext(ctx, "not ready", "dependency", name, "err", err)
			checks[name] = "unavailable"
			ready = false
		}
	}
	if !ready {
		p := problemForStatus(ctx, http.StatusServiceUnavailable, "the database or the storage does not answer")
		p.extra = map[string]any{"checks": checks}
		writeProblem(w, p)
		return nil
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "checks": checks})
	return nil
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) error {
	s.metricsHandler.ServeHTTP(w, r)
	return nil
}
