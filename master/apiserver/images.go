package apiserver

import (
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/orch-io/orch/master/endpoint"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/master/imagestore"
	orchpb "github.com/orch-io/orch/proto"
)

// ImageStore is where uploaded tarballs live on this master.
type ImageStore = imagestore.Store

func (s *Server) loadImage(w http.ResponseWriter, r *http.Request) {
	loaded, err := s.deps.Images.Put(r.Body, r.ContentLength)
	switch {
	case errors.Is(err, imagestore.ErrNoNames):
		writeError(w, endpoint.BadRequest("", err.Error()))
		return
	case errors.Is(err, imagestore.ErrTooLarge):
		writeError(w, &api.Error{Code: "too_large", Message: err.Error(), Status: http.StatusRequestEntityTooLarge})
		return
	case errors.Is(err, imagestore.ErrNoSpace):
		writeError(w, &api.Error{Code: "insufficient_storage", Message: err.Error(), Status: http.StatusInsufficientStorage})
		return
	case err != nil:
		writeError(w, endpoint.ErrorOf(err))
		return
	}
	images := make([]*orchpb.Image, 0, len(loaded.Names))
	for _, name := range loaded.Names {
		img := &orchpb.Image{Name: name, Digest: loaded.Digest, Size: loaded.Size}
		if _, ok := s.propose(w, r, &orchpb.Command{Op: &orchpb.Command_PutImage{PutImage: &orchpb.PutImage{Image: img}}}); !ok {
			return
		}
		images = append(images, s.deps.Store.Image(name))
	}
	writeList(w, images, marshalMessage[*orchpb.Image])
}

func (s *Server) listImages(w http.ResponseWriter, r *http.Request) {
	if !s.consistentRead(w, r) {
		return
	}
	writeList(w, s.deps.Store.Images(), marshalMessage[*orchpb.Image])
}

// imageTarball serves a loaded image to an agent.
func (s *Server) imageTarball(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	img := s.deps.Store.Image(name)
	if img == nil {
		writeError(w, endpoint.NotFound("image "+strconv.Quote(name)+" was not loaded into the cluster"))
		return
	}
	f, err := s.deps.Images.Open(img.GetDigest())
	if err != nil {
		// Not 404: the image is in the cluster, this master has not copied
		// its tarball yet. 503 sends the agent on to another master.
		writeError(w, &api.Error{Code: "unavailable", Message: "image " + name + " is loaded but its tarball is not on this master yet: " + err.Error(), Status: http.StatusServiceUnavailable})
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/x-tar")
	w.Header().Set("Content-Length", strconv.FormatInt(img.GetSize(), 10))
	_, _ = io.Copy(w, f)
}
