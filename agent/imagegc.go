package agent

import (
	"context"
	"errors"
	"slices"

	"github.com/orch-io/orch/agent/runtime"
)

// runImageGC removes unused images while the disk that holds them is past
// the high mark, until ctx ends. It does nothing when collection is off or
// the runtime has no images to collect.
func (a *Agent) runImageGC(ctx context.Context) {
	coll, ok := a.cfg.Runtime.(runtime.ImageCollector)
	if !ok || a.cfg.ImageGCHighPercent <= 0 {
		return
	}
	every(ctx, a.cfg.ImageGCInterval, func() {
		if _, err := collectImages(ctx, coll, a.cfg.ImageGCHighPercent, a.cfg.ImageGCLowPercent, a.replicas.wantedImages()); err != nil && ctx.Err() == nil {
			a.log.Warn("image garbage collection", "err", err)
		}
	})
}

// collectImages removes images no container uses and no assignment wants,
// least recently used first, while disk use is at or past high, until it is
// under low. It returns the names it removed.
func collectImages(ctx context.Context, coll runtime.ImageCollector, high, low float64, wanted map[string]bool) ([]string, error) {
	du, err := coll.ImageDisk(ctx)
	if err != nil {
		return nil, err
	}
	if du.Percent() < high {
		return nil, nil
	}
	imgs, err := coll.Images(ctx)
	if err != nil {
		return nil, err
	}
	imgs = slices.DeleteFunc(imgs, func(i runtime.ImageInfo) bool { return i.InUse || wanted[i.Name] })
	slices.SortFunc(imgs, func(x, y runtime.ImageInfo) int { return x.LastUsed.Compare(y.LastUsed) })
	var removed []string
	var errs []error
	for _, img := range imgs {
		if err := coll.RemoveImage(ctx, img.Name); err != nil {
			if !errors.Is(err, runtime.ErrInUse) {
				errs = append(errs, err)
			}
			continue
		}
		removed = append(removed, img.Name)
		if du, err = coll.ImageDisk(ctx); err != nil {
			errs = append(errs, err)
			break
		}
		if du.Percent() < low {
			break
		}
	}
	return removed, errors.Join(errs...)
}
