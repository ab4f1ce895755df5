// Package ui is the web page at GET /ui/ (docs/api.md): one static page,
// embedded in the binary, that reads the same JSON API as orchctl from the
// browser with the user's bearer token.
//
// It owns the page's files and serving them; it must not read cluster state
// or check tokens itself. The files are public, the data is not: every call
// the page makes goes through the API's own authentication.
package ui

import (
	"bytes"
	"embed"
	"net/http"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// Prefix is where the page is mounted.
const Prefix = "/ui/"

// contentTypes are the page's files and their types, set here rather than
// from the host's mime tables so they never vary by machine.
var contentTypes = map[string]string{
	"index.html": "text/html; charset=utf-8",
	"api.js":     "text/javascript; charset=utf-8",
	"app.js":     "text/javascript; charset=utf-8",
	"actions.js": "text/javascript; charset=utf-8",
	"style.css":  "text/css; charset=utf-8",
}

// modTime is when this binary started: the files change only with it.
var modTime = time.Now()

// Handler serves GET /ui/ (the page) and the files under it; any other path
// under /ui/ is a 404.
func Handler() http.Handler {
	return http.HandlerFunc(serve)
}

func serve(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, Prefix)
	if name == "" {
		name = "index.html"
	}
	ctype, ok := contentTypes[name]
	if !ok || !strings.HasPrefix(r.URL.Path, Prefix) {
		http.NotFound(w, r)
		return
	}
	data, err := static.ReadFile("static/" + name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-cache")
	h.Set("Referrer-Policy", "no-referrer")
	// Only this origin's own script, style and API: no inline code, no CDN.
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	http.ServeContent(w, r, name, modTime, bytes.NewReader(data))
}

// Redirect sends GET /ui to the page.
func Redirect(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, Prefix, http.StatusMovedPermanently)
}
