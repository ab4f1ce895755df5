package agent

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/orch-io/orch/agent/runtime"
)

// fakeCollector is a disk with images on it; removing one frees its size.
type fakeCollector struct {
	total, used uint64
	images      []runtime.ImageInfo
}

func (f *fakeCollector) ImageDisk(context.Context) (runtime.DiskUsage, error) {
	return runtime.DiskUsage{Path: "/fake", Total: f.total, Used: f.used}, nil
}

func (f *fakeCollector) Images(context.Context) ([]runtime.ImageInfo, error) {
	return slices.Clone(f.images), nil
}

func (f *fakeCollector) RemoveImage(_ context.Context, name string) error {
	for i, img := range f.images {
		if img.Name == name {
			if img.InUse {
				return fmt.Errorf("%s: %w", name, runtime.ErrInUse)
			}
			f.used -= uint64(img.Size)
			f.images = slices.Delete(f.images, i, i+1)
			return nil
		}
	}
	return fmt.Errorf("%s: %w", name, runtime.ErrNotFound)
}

func TestCollectImages(t *testing.T) {
	t0 := time.Unix(1000, 0)
	disk := func(used uint64) *fakeCollector {
		return &fakeCollector{total: 100, used: used, images: []runtime.ImageInfo{
			{Name: "old", Size: 5, LastUsed: t0},
			{Name: "older", Size: 5, LastUsed: t0.Add(-time.Hour)},
			{Name: "running", Size: 30, InUse: true, LastUsed: t0.Add(-2 * time.Hour)},
			{Name: "assigned", Size: 30, LastUsed: t0.Add(-3 * time.Hour)},
			{Name: "recent", Size: 5, LastUsed: t0.Add(time.Hour)},
		}}
	}
	cases := []struct {
		name      string
		used      uint64
		high, low float64
		want      []string
	}{
		{"under the high mark: nothing", 84, 85, 80, nil},
		{"least recently used first, until under low", 86, 85, 80, []string{"older", "old"}},
		{"never what runs or is assigned", 99, 85, 10, []string{"older", "old", "recent"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			coll := disk(c.used)
			got, err := collectImages(context.Background(), coll, c.high, c.low, map[string]bool{"assigned": true})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("removed %v, want %v", got, c.want)
			}
		})
	}
}
