package httpapi

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/satchelhq/satchel/internal/app"
	"github.com/satchelhq/satchel/internal/satchel"
)

// unlockCookie names the cookie that unlocks one share link; its path limits
// it to that link.
const unlockCookie = "satchel_unlock"

// pageCSP lets share pages load their own stylesheet and images and nothing
// else: no script at all, no framing, forms post only here.
const pageCSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// publicHeaders are sent on every response of a share link.
func publicHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Robots-Tag", "noindex")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("Cache-Control", "no-store")
}

// wantsJSON reports whether the client prefers JSON to a page.
func wantsJSON(r *http.Request) bool {
	accept := r.Header.Get("Accept")
	return strings.Contains(accept, "application/json") && !strings.Contains(accept, "text/html")
}

// wantsHTML reports whether the client is a browser navigating.
func wantsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// sharePage is what the share page template shows.
type sharePage struct {
	State         string // active, expired, exhausted, limited, missing
	Token         string
	Share         satchel.Share
	File          *satchel.File
	Locked        bool
	DownloadsLeft int
	Error         string
}

// renderShare answers a share link request that failed, as a page for a
// browser and a problem document for anything else.
func (s *Server) shareFailure(w http.ResponseWriter, r *http.Request, token string, err error) error {
	if !wantsHTML(r) || r.Method == http.MethodHead {
		return err
	}
	page := sharePage{Token: token}
	status := classify(err).status
	switch {
	case errors.Is(err, satchel.ErrNotFound):
		page.State = "missing"
	case errors.Is(err, satchel.ErrGone):
		page.State = satchel.ShareExpired
		if strings.Contains(err.Error(), "used up") {
			page.State = satchel.ShareExhausted
		}
	case errors.Is(err, satchel.ErrRateLimited):
		page.State = "limited"
		var de *satchel.Error
		if errors.As(err, &de) {
			page.Error = strings.ToUpper(de.Detail[:1]) + de.Detail[1:] + "."
			w.Header().Set("Retry-After", strconv.Itoa(int(de.RetryAfter.Seconds()+0.999)))
		}
	default:
		return err
	}
	return s.pages.Render(w, status, "share", page)
}

// openShare finds the link of a request and checks that it still works.
func (s *Server) openShare(r *http.Request) (satchel.Share, satchel.File, error) {
	sh, f, err := s.shares.Open(r.Context(), r.PathValue("token"))
	if err != nil {
		return sh, f, err
	}
	return sh, f, s.shares.Gone(sh)
}

func (s *Server) sharePage(w http.ResponseWriter, r *http.Request) error {
	publicHeaders(w)
	token := r.PathValue("token")
	sh, f, err := s.openShare(r)
	if err != nil {
		if !wantsJSON(r) {
			r.Header.Set("Accept", "text/html")
		}
		return s.shareFailure(w, r, token, err)
	}
	s.shares.ViewedPage()
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]any{
			"filename": f.Filename, "size_bytes": f.Size, "mime_type": f.MimeType, "has_password": sh.HasPassword(),
			"has_thumbnail": f.HasThumbnail(), "expires_at": utcPtr(sh.ExpiresAt),
		})
		return nil
	}
	return s.renderSharePage(w, r, http.StatusOK, sh, f, "")
}

func (s *Server) renderSharePage(w http.ResponseWriter, r *http.Request, status int, sh satchel.Share, f satchel.File, problem string) error {
	page := sharePage{State: satchel.ShareActive, Token: sh.Token, Share: sh, File: &f, Error: problem}
	if sh.HasPassword() {
		c, _ := r.Cookie(unlockCookie)
		page.Locked = c == nil || s.shares.Authorize(r.Context(), sh, c.Value, "", "") != nil
	}
	if sh.MaxDownloads != nil {
		page.DownloadsLeft = *sh.MaxDownloads - sh.DownloadCount
	}
	return s.pages.Render(w, status, "share", page)
}

// unlockShare checks the password posted from a link's page.
func (s *Server) unlockShare(w http.ResponseWriter, r *http.Request) error {
	publicHeaders(w)
	token := r.PathValue("token")
	html := !wantsJSON(r)
	if html {
		r.Header.Set("Accept", "text/html")
	}
	sh, f, err := s.openShare(r)
	if err != nil {
		return s.shareFailure(w, r, token, err)
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseMultipartForm(64 << 10); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		return satchel.Errorf(satchel.ErrInvalid, "the form cannot be read")
	}
	cookie, maxAge, err := s.shares.Unlock(r.Context(), sh, r.PostForm.Get("password"), s.clientAddr(r))
	if err != nil {
		if html && errors.Is(err, satchel.ErrUnauthenticated) {
			return s.renderSharePage(w, r, http.StatusUnauthorized, sh, f, "That password is not right. Try again.")
		}
		return s.shareFailure(w, r, token, err)
	}
	if cookie != "" {
		http.SetCookie(w, &http.Cookie{
			Name: unlockCookie, Value: cookie, Path: "/s/" + token, MaxAge: int(maxAge.Seconds()),
			HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.secure || r.TLS != nil,
		})
	}
	http.Redirect(w, r, "/s/"+token, http.StatusSeeOther)
	return nil
}

// authorizeShare lets a request at a link's content through, or says why not.
func (s *Server) authorizeShare(r *http.Request, sh satchel.Share) error {
	var cookie string
	if c, err := r.Cookie(unlockCookie); err == nil {
		cookie = c.Value
	}
	return s.shares.Authorize(r.Context(), sh, cookie, r.Header.Get("X-Share-Password"), s.clientAddr(r))
}

// shareDownload serves a link's file. A response that sends the content
// from its first byte counts as a download, and with a download limit
// exactly that many succeed, however many arrive at once. What counts is
// decided by what http.ServeContent is about to send (its status and
// Content-Range), not by guessing from the request's headers.
//
// The link may come from this node's copy (the hot path reads no row); just
// before anything is written, the count, or for a response that does not
// count a fresh read, confirms it. If the copy turns out stale (the file was
// renamed meanwhile), nothing has been written and the request is served
// again from the current link.
func (s *Server) shareDownload(w http.ResponseWriter, r *http.Request) error {
	token := r.PathValue("token")
	for attempt := 1; ; attempt++ {
		err := s.serveShareOnce(w, r, token)
		if !errors.Is(err, app.ErrStaleLink) {
			return err
		}
		if attempt == 3 {
			return satchel.Errorf(satchel.ErrUnavailable, "the shared file is being renamed; try again")
		}
	}
}

func (s *Server) serveShareOnce(w http.ResponseWriter, r *http.Request, token string) error {
	publicHeaders(w)
	ctx := r.Context()
	sh, f, err := s.shares.OpenForDownload(ctx, token)
	if err == nil {
		err = s.shares.Gone(sh)
	}
	if err == nil {
		err = s.authorizeShare(r, sh)
	}
	if err != nil {
		return s.shareFailure(w, r, token, err)
	}
	content, err := s.shares.OpenContent(ctx, f)
	if err != nil {
		if verr := s.shares.Verify(ctx, sh, f); verr != nil {
			err = verr // the file was deleted, and its blob with it
		}
		return s.shareFailure(w, r, token, err)
	}
	defer content.Close()
	cw := &countingWriter{ResponseWriter: w, r: r, size: f.Size, confirm: func(counts bool) error {
		if counts {
			return s.shares.CountDownload(ctx, sh, f)
		}
		return s.shares.Verify(ctx, sh, f)
	}}
	serveContent(cw, r, "attachment", f.Filename, f.MimeType, f.SHA256, f.CreatedAt, content)
	if cw.err != nil {
		// Nothing was written: answer the refusal instead of the content.
		clearContentHeaders(w.Header())
		if errors.Is(cw.err, app.ErrStaleLink) {
			return cw.err
		}
		publicHeaders(w)
		return s.shareFailure(w, r, token, cw.err)
	}
	return nil
}

// countingWriter confirms a response just before its header is written:
// confirm(true) counts a download when it sends the content's first byte (a
// 200 to a GET, a 206 whose range starts at 0, or a multipart 206 with a
// range that covers byte 0), confirm(false) checks any other. If confirm
// refuses, nothing is written and err says why.
type countingWriter struct {
	http.ResponseWriter
	r       *http.Request
	size    int64 // of the content
	confirm func(counts bool) error
	decided bool
	err     error
}

func (c *countingWriter) counts(code int) bool {
	if c.r.Method != http.MethodGet {
		return false
	}
	switch code {
	case http.StatusOK:
		return true
	case http.StatusPartialContent:
		h := c.ResponseWriter.Header()
		if strings.HasPrefix(h.Get("Content-Type"), "multipart/byteranges") {
			return rangesCoverFirstByte(c.r.Header.Get("Range"), c.size)
		}
		return strings.HasPrefix(h.Get("Content-Range"), "bytes 0-")
	}
	return false
}

// rangesCoverFirstByte reports whether one of the ranges of a Range header
// that http.ServeContent accepted covers byte 0 of content of size bytes:
// one that starts at 0, or a suffix range as long as the content.
func rangesCoverFirstByte(header string, size int64) bool {
	spec, _ := strings.CutPrefix(header, "bytes=")
	for _, ra := range strings.Split(spec, ",") {
		start, end, _ := strings.Cut(strings.TrimSpace(ra), "-")
		start, end = strings.TrimSpace(start), strings.TrimSpace(end)
		if start == "" {
			if n, err := strconv.ParseInt(end, 10, 64); err == nil && n >= size {
				return true
			}
		} else if n, err := strconv.ParseInt(start, 10, 64); err == nil && n == 0 {
			return true
		}
	}
	return false
}

func (c *countingWriter) WriteHeader(code int) {
	if !c.decided {
		c.decided = true
		if c.err = c.confirm(c.counts(code)); c.err != nil {
			return // the caller answers with the refusal
		}
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if !c.decided {
		c.WriteHeader(http.StatusOK)
	}
	if c.err != nil {
		return 0, c.err
	}
	return c.ResponseWriter.Write(p)
}

func (c *countingWriter) ReadFrom(src io.Reader) (int64, error) {
	if !c.decided {
		c.WriteHeader(http.StatusOK)
	}
	if c.err != nil {
		return 0, c.err
	}
	if rf, ok := c.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(struct{ io.Writer }{c.ResponseWriter}, src)
}

func (c *countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// shareThumbnail serves a link's thumbnail; it never counts as a download.
func (s *Server) shareThumbnail(w http.ResponseWriter, r *http.Request) error {
	publicHeaders(w)
	sh, f, err := s.openShare(r)
	if err == nil {
		err = s.authorizeShare(r, sh)
	}
	if err != nil {
		return err
	}
	thumb, err := s.shares.OpenThumbnail(r.Context(), f)
	if err != nil {
		return err
	}
	defer thumb.Close()
	serveThumbnail(w, r, f, thumb)
	return nil
}

// clientAddr is the address of the client: the connection's peer, unless
// that is a trusted proxy, in which case the last address in
// X-Forwarded-For that is not one. IPv6 clients are keyed by their /64.
func (s *Server) clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	addr = addr.Unmap()
	if s.trusted(addr) {
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
			if err != nil {
				break
			}
			addr = a.Unmap()
			if !s.trusted(addr) {
				break
			}
		}
	}
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.trustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
