package api

// ScaleRequest is the body of POST
// /v1/namespaces/{ns}/services/{name}/scale. Replicas is a pointer so that
// a body without it is refused rather than read as zero.
type ScaleRequest struct {
	Replicas *int64 `json:"replicas"`
}
