package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
)

// maxFileBody bounds what /file answers and /write accepts: the sample shows
// that a mount holds the expected bytes, it is not a file server.
const maxFileBody = 1 << 20

// handleFile answers the contents of the file at path inside the replica, or
// 404 when it does not exist: how tests see mounted secrets, configs and
// volumes from outside.
func (s *server) handleFile(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Query().Get("path")
	if path == "" {
		http.Error(w, "path: required", http.StatusBadRequest)
		return
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		http.Error(w, fmt.Sprintf("path %s: no such file", path), http.StatusNotFound)
		return
	}
	if err != nil {
		http.Error(w, fmt.Sprintf("path %s: %v", path, err), http.StatusInternalServerError)
		return
	}
	defer f.Close()
	io.Copy(w, io.LimitReader(f, maxFileBody))
}

// handleWrite writes data to the file at path (creating its directory), so
// tests can leave something on a volume and look for it after the replica is
// replaced.
func (s *server) handleWrite(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	path := q.Get("path")
	if path == "" {
		http.Error(w, "path: required", http.StatusBadRequest)
		return
	}
	data := q.Get("data")
	if len(data) > maxFileBody {
		http.Error(w, "data: too long", http.StatusRequestEntityTooLarge)
		return
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		http.Error(w, fmt.Sprintf("path %s: %v", path, err), http.StatusInternalServerError)
		return
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		http.Error(w, fmt.Sprintf("path %s: %v", path, err), http.StatusInternalServerError)
		return
	}
	fmt.Fprintf(w, "wrote %d bytes to %s\n", len(data), path)
}

// handleEnv answers the value of the environment variable name, or 404 when
// it is not set (an empty value is set).
func (s *server) handleEnv(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	if name == "" {
		http.Error(w, "name: required", http.StatusBadRequest)
		return
	}
	value, ok := os.LookupEnv(name)
	if !ok {
		http.Error(w, fmt.Sprintf("name %s: not set", name), http.StatusNotFound)
		return
	}
	io.WriteString(w, value)
}
