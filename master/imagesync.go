package master

import (
	"context"
	"time"

	"github.com/orch-io/orch/master/imagestore"
)

// Image tarballs live on masters' disks, and an upload lands on one master
// (the leader). Every master copies the tarballs it lacks from the others,
// so that an agent gets any loaded image from whichever master it talks
// to, and an image outlives the master it was uploaded to.
const (
	imageSyncEvery = time.Second
	imageRetry     = 5 * time.Second
)

// runImageSync looks once a tick, not on store changes: loads are rare and
// the store changes with every status report.
func (m *Master) runImageSync(ctx context.Context, images *imagestore.Store) {
	failed := map[string]time.Time{} // digest -> last failed attempt
	tick := time.NewTicker(imageSyncEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		m.syncImages(ctx, images, failed)
	}
}

func (m *Master) syncImages(ctx context.Context, images *imagestore.Store, failed map[string]time.Time) {
	for _, img := range m.store.Images() {
		digest := img.GetDigest()
		if f, err := images.Open(digest); err == nil {
			f.Close()
			continue
		}
		if time.Since(failed[digest]) < imageRetry {
			continue
		}
		if err := m.fetchImage(ctx, images, img.GetName(), digest); err != nil {
			failed[digest] = time.Now()
			m.log.Debug("image not copied yet", "image", img.GetName(), "err", err)
			continue
		}
		delete(failed, digest)
		m.log.Info("copied image from another master", "image", img.GetName(), "digest", digest)
	}
}

func (m *Master) fetchImage(ctx context.Context, images *imagestore.Store, name, digest string) error {
	var last error
	for _, rec := range m.store.Masters() {
		if rec.GetId() == m.cfg.NodeID || rec.GetApiAddress() == "" {
			continue
		}
		fctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		body, err := m.peers.FetchImage(fctx, rec.GetApiAddress(), name)
		if err == nil {
			var loaded *imagestore.Loaded
			loaded, err = images.Put(body, -1)
			body.Close()
			if err == nil && loaded.Digest != digest {
				m.log.Warn("a master served an image with another digest", "image", name, "from", rec.GetId(), "want", digest, "got", loaded.Digest)
				err = errDigestMismatch
			}
		}
		cancel()
		if err == nil {
			return nil
		}
		last = err
	}
	if last == nil {
		last = errNoPeerHasImage
	}
	return last
}
