package controllers

// forgetGone deletes from remembered every id that is not one of live's,
// and calls also with each id it deleted. Every item of live is to be
// remembered already, so only a map larger than live can hold one that is
// gone: a pass over thousands of replicas or nodes usually builds no set.
func forgetGone[V any, T interface{ GetId() string }](remembered map[string]V, live []T, also func(id string)) {
	if len(remembered) <= len(live) {
		return
	}
	keep := make(map[string]struct{}, len(live))
	for _, x := range live {
		keep[x.GetId()] = struct{}{}
	}
	for id := range remembered {
		if _, ok := keep[id]; !ok {
			delete(remembered, id)
			if also != nil {
				also(id)
			}
		}
	}
}
