package scheduler

// minHeap is a binary heap with the least element (by less) on top. The
// scheduler only ever changes the element on top (the node or group it just
// placed on), so the heap needs no index of positions.
type minHeap[T any] struct {
	items []T
	less  func(a, b T) bool
}

func (h *minHeap[T]) init() {
	for i := len(h.items)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h *minHeap[T]) len() int { return len(h.items) }
func (h *minHeap[T]) top() T   { return h.items[0] }

// fixTop restores order after the top element changed.
func (h *minHeap[T]) fixTop() { h.down(0) }

// popTop removes the top element.
func (h *minHeap[T]) popTop() {
	last := len(h.items) - 1
	h.items[0] = h.items[last]
	h.items = h.items[:last]
	if last > 0 {
		h.down(0)
	}
}

func (h *minHeap[T]) down(i int) {
	n := len(h.items)
	for {
		least := i
		if l := 2*i + 1; l < n && h.less(h.items[l], h.items[least]) {
			least = l
		}
		if r := 2*i + 2; r < n && h.less(h.items[r], h.items[least]) {
			least = r
		}
		if least == i {
			return
		}
		h.items[i], h.items[least] = h.items[least], h.items[i]
		i = least
	}
}
