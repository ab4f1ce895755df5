package runtime

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/errdefs"
	"golang.org/x/sys/unix"
)

// ImageCollector lets the agent free the disk that images nobody uses take.
// It is separate from Runtime so that a runtime without images (a simulated
// one) need not pretend. Safe for concurrent use.
type ImageCollector interface {
	// ImageDisk is the usage of the filesystem that holds the images'
	// content and snapshots.
	ImageDisk(ctx context.Context) (DiskUsage, error)
	// Images lists the images in the namespace.
	Images(ctx context.Context) ([]ImageInfo, error)
	// RemoveImage deletes an image and waits until its content and
	// snapshots, where nothing else uses them, are gone. An image a
	// container uses is refused (ErrInUse).
	RemoveImage(ctx context.Context, name string) error
}

// ErrInUse: the image is used by a container.
var ErrInUse = errors.New("runtime: in use")

// DiskUsage is a filesystem's size and use, in bytes.
type DiskUsage struct {
	Path        string
	Total, Used uint64
}

// Percent is the share of the filesystem in use, 0 to 100.
func (d DiskUsage) Percent() float64 {
	if d.Total == 0 {
		return 0
	}
	return float64(d.Used) * 100 / float64(d.Total)
}

// ImageInfo is one image as Images sees it.
type ImageInfo struct {
	Name string
	Size int64 // the image's content (compressed layers and metadata)
	// InUse: a container in the namespace was created from it.
	InUse bool
	// LastUsed is the last EnsureImage for it by any process of this
	// package, or its creation when it was never used so.
	LastUsed time.Time
}

// labelLastUsed on an image records its last EnsureImage (RFC 3339), so
// least recently used images go first.
const labelLastUsed = LabelPrefix + "last-used"

var _ ImageCollector = (*Containerd)(nil)

// ImageDisk implements ImageCollector. It measures the filesystem of the
// snapshotter's root, as containerd reports it, which on a standard install
// also holds the content store.
func (c *Containerd) ImageDisk(ctx context.Context) (DiskUsage, error) {
	root, err := c.snapshotterRoot(ctx)
	if err != nil {
		return DiskUsage{}, err
	}
	var st unix.Statfs_t
	if err := unix.Statfs(root, &st); err != nil {
		return DiskUsage{}, fmt.Errorf("image disk %s: %w", root, err)
	}
	total := st.Blocks * uint64(st.Bsize)
	free := st.Bfree * uint64(st.Bsize)
	return DiskUsage{Path: root, Total: total, Used: total - free}, nil
}

func (c *Containerd) snapshotterRoot(ctx context.Context) (string, error) {
	resp, err := c.client.IntrospectionService().Plugins(ctx, "type==io.containerd.snapshotter.v1,id=="+c.snapshotter)
	if err != nil {
		return "", wrap(err, "find the root of snapshotter %s", c.snapshotter)
	}
	for _, p := range resp.Plugins {
		if root := p.Exports["root"]; root != "" {
			return root, nil
		}
	}
	return "", fmt.Errorf("find the root of snapshotter %s: containerd does not report it", c.snapshotter)
}

// Images implements ImageCollector.
func (c *Containerd) Images(ctx context.Context) ([]ImageInfo, error) {
	ctx = c.ns(ctx)
	imgs, err := c.client.ImageService().List(ctx)
	if err != nil {
		return nil, wrap(err, "list images in namespace %s", c.namespace)
	}
	used, err := c.imagesInUse(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]ImageInfo, 0, len(imgs))
	for _, img := range imgs {
		info := ImageInfo{Name: img.Name, InUse: used[img.Name], LastUsed: img.CreatedAt}
		if t, err := time.Parse(time.RFC3339Nano, img.Labels[labelLastUsed]); err == nil {
			info.LastUsed = t
		}
		if size, err := img.Size(ctx, c.client.ContentStore(), nil); err == nil {
			info.Size = size
		}
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b ImageInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (c *Containerd) imagesInUse(ctx context.Context) (map[string]bool, error) {
	ctrs, err := c.client.ContainerService().List(ctx)
	if err != nil {
		return nil, wrap(err, "list containers in namespace %s", c.namespace)
	}
	used := make(map[string]bool, len(ctrs))
	for _, ctr := range ctrs {
		used[ctr.Image] = true
	}
	return used, nil
}

// RemoveImage implements ImageCollector.
func (c *Containerd) RemoveImage(ctx context.Context, name string) error {
	ctx = c.ns(ctx)
	unlock := c.imageLocks.lock(name)
	defer unlock()
	used, err := c.imagesInUse(ctx)
	if err != nil {
		return err
	}
	if used[name] {
		return fmt.Errorf("remove image %s: a container uses it: %w", name, ErrInUse)
	}
	if err := c.client.ImageService().Delete(ctx, name, images.SynchronousDelete()); err != nil {
		return wrap(err, "remove image %s", name)
	}
	c.logger.Info("image removed", "image", name)
	return nil
}

// touchImage records that name was just used, for least-recently-used
// collection. Failure only makes collection order less exact.
func (c *Containerd) touchImage(ctx context.Context, name string) {
	store := c.client.ImageService()
	img, err := store.Get(ctx, name)
	if err != nil {
		return
	}
	if img.Labels == nil {
		img.Labels = map[string]string{}
	}
	img.Labels[labelLastUsed] = time.Now().UTC().Format(time.RFC3339Nano)
	if _, err := store.Update(ctx, img, "labels."+labelLastUsed); err != nil && !errdefs.IsNotFound(err) {
		c.logger.Debug("record image use", "image", name, "err", err)
	}
}
