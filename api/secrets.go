package api

// Secrets and configs on the wire (docs/secrets.md). A secret is written
// with its values and read back without them, whatever the token: its
// answer lists keys, never values. A config is read back whole.

// Manifest kinds besides Service.
const (
	KindSecretManifest = "Secret"
	KindConfigManifest = "Config"
)

// SecretManifest is a secret as written (a manifest document or the body
// of PUT .../secrets/{name}): data in base64, or stringData as text.
type SecretManifest struct {
	Kind       string            `json:"kind,omitempty"`
	Name       string            `json:"name"`
	Namespace  string            `json:"namespace,omitempty"`
	Data       map[string][]byte `json:"data,omitempty"`
	StringData map[string]string `json:"stringData,omitempty"`
}

// ConfigManifest is a config as written: data as text, binaryData in base64.
type ConfigManifest struct {
	Kind       string            `json:"kind,omitempty"`
	Name       string            `json:"name"`
	Namespace  string            `json:"namespace,omitempty"`
	Data       map[string]string `json:"data,omitempty"`
	BinaryData map[string][]byte `json:"binaryData,omitempty"`
}

// SecretInfo is what a read of a secret answers: its keys and version, and
// the services that use it. There is no field for values.
type SecretInfo struct {
	Name        string   `json:"name"`
	Namespace   string   `json:"namespace"`
	Keys        []string `json:"keys"`
	Version     uint64   `json:"version"`
	CreateIndex uint64   `json:"createIndex"`
	UsedBy      []string `json:"usedBy,omitempty"`
}

// ConfigInfo is what a read of a config answers: all of it.
type ConfigInfo struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace"`
	Data        map[string]string `json:"data,omitempty"`
	BinaryData  map[string][]byte `json:"binaryData,omitempty"`
	Version     uint64            `json:"version"`
	CreateIndex uint64            `json:"createIndex"`
	UsedBy      []string          `json:"usedBy,omitempty"`
}
