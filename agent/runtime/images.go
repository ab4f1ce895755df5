package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/errdefs"
	"github.com/containerd/platforms"
	"github.com/distribution/reference"
)

// normalizeRef turns a user's reference into the name containerd stores:
// "nginx" is "docker.io/library/nginx:latest", and a docker-archive's
// "orch.local/hello:1" stays as it is.
func normalizeRef(ref string) (string, error) {
	named, err := reference.ParseDockerRef(ref)
	if err != nil {
		return "", fmt.Errorf("image reference %q: %w", ref, err)
	}
	return named.String(), nil
}

// ImageName is the name under which EnsureImage stores ref ("nginx" is
// "docker.io/library/nginx:latest"), as ImageInfo.Name reports it.
func ImageName(ref string) (string, error) { return normalizeRef(ref) }

// EnsureImage implements Runtime. Concurrent calls for one image wait for
// each other instead of unpacking twice.
func (c *Containerd) EnsureImage(ctx context.Context, ref string) error {
	ctx = c.ns(ctx)
	name, err := normalizeRef(ref)
	if err != nil {
		return err
	}
	unlock := c.imageLocks.lock(name)
	defer unlock()
	if err := c.ensureImage(ctx, ref, name); err != nil {
		return err
	}
	c.touchImage(ctx, name)
	return nil
}

func (c *Containerd) ensureImage(ctx context.Context, ref, name string) error {
	img, err := c.client.GetImage(ctx, name)
	switch {
	case err == nil:
		return c.unpack(ctx, img)
	case !errdefs.IsNotFound(err):
		return wrap(err, "ensure image %s", name)
	}

	if c.source != nil {
		done, err := c.importFromSource(ctx, ref, name)
		if done || err != nil {
			return err
		}
	}
	c.logger.Info("pulling image", "image", name)
	if _, err := c.client.Pull(ctx, name, client.WithPullUnpack, client.WithPullSnapshotter(c.snapshotter), client.WithResolver(c.resolver())); err != nil {
		return wrap(err, "pull image %s", name)
	}
	return nil
}

// importFromSource reports done=false when the source does not hold ref, so
// that the caller falls back to a registry.
func (c *Containerd) importFromSource(ctx context.Context, ref, name string) (done bool, err error) {
	rc, err := c.source(ctx, ref)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return true, fmt.Errorf("ensure image %s: image source: %w", name, err)
	}
	defer rc.Close()
	names, err := c.importImage(ctx, rc)
	if err != nil {
		return true, fmt.Errorf("ensure image %s: %w", name, err)
	}
	if !slices.Contains(names, name) {
		return true, fmt.Errorf("ensure image %s: the image source's tarball holds %v, not it: %w", name, names, ErrNotFound)
	}
	c.logger.Info("imported image from source", "image", name)
	return true, nil
}

// ImportImage implements Runtime. Images are named by the archive: a
// docker-archive's RepoTags, or an OCI layout's io.containerd.image.name or
// org.opencontainers.image.ref.name annotation, which must then be a full
// reference such as orch.local/hello:1.
func (c *Containerd) ImportImage(ctx context.Context, r io.Reader) ([]string, error) {
	return c.importImage(c.ns(ctx), r)
}

func (c *Containerd) importImage(ctx context.Context, r io.Reader) ([]string, error) {
	imgs, err := c.client.Import(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("import image tarball: %w", err)
	}
	if len(imgs) == 0 {
		return nil, errors.New("import image tarball: it names no image")
	}
	names := make([]string, 0, len(imgs))
	for _, i := range imgs {
		img := client.NewImageWithPlatform(c.client, i, platforms.Default())
		if err := c.unpack(ctx, img); err != nil {
			return nil, fmt.Errorf("import image tarball: %w", err)
		}
		names = append(names, i.Name)
	}
	return names, nil
}

func (c *Containerd) unpack(ctx context.Context, img client.Image) error {
	ok, err := img.IsUnpacked(ctx, c.snapshotter)
	if err != nil {
		return wrap(err, "check unpack of image %s", img.Name())
	}
	if ok {
		return nil
	}
	if err := img.Unpack(ctx, c.snapshotter); err != nil {
		return wrap(err, "unpack image %s into %s", img.Name(), c.snapshotter)
	}
	return nil
}

// keyedLocks serialises work per key (here: per image name).
type keyedLocks struct {
	mu    sync.Mutex
	locks map[string]*keyedLock
}

type keyedLock struct {
	mu    sync.Mutex
	users int
}

func (k *keyedLocks) lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = make(map[string]*keyedLock)
	}
	l := k.locks[key]
	if l == nil {
		l = &keyedLock{}
		k.locks[key] = l
	}
	l.users++
	k.mu.Unlock()

	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		k.mu.Lock()
		if l.users--; l.users == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}
