package client

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"sigs.k8s.io/yaml"
)

// EnvConfig names the config file when --config is not given.
const EnvConfig = "ORCH_CONFIG"

// Config is the YAML file that tells a client where its cluster is.
type Config struct {
	// Server is the API's URL, or several comma-separated.
	Server string `json:"server"`
	Token  string `json:"token"`
	// CA is the cluster CA certificate in PEM; empty means the system roots.
	CA string `json:"ca,omitempty"`
}

// DefaultConfigPath is ~/.orch/config.
func DefaultConfigPath() (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("client: default config path: %w", err)
	}
	return filepath.Join(home, ".orch", "config"), nil
}

// ConfigPath picks the file in the order `orchctl --help` states
// (docs/cli.md): explicitPath (the --config flag), then $ORCH_CONFIG, then
// ~/.orch/config.
func ConfigPath(explicitPath string) (string, error) {
	if explicitPath != "" {
		return explicitPath, nil
	}
	if p := os.Getenv(EnvConfig); p != "" {
		return p, nil
	}
	return DefaultConfigPath()
}

// LoadConfig reads the config chosen by ConfigPath and returns it with the
// path it came from. A missing file is an error that matches fs.ErrNotExist,
// so a caller with --server and --token can go on without one.
func LoadConfig(explicitPath string) (*Config, string, error) {
	path, err := ConfigPath(explicitPath)
	if err != nil {
		return nil, "", err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, path, fmt.Errorf("client: config %s: %w", path, err)
	}
	var c Config
	// Not strict: a config written by a newer orchd may carry more keys.
	if err := yaml.Unmarshal(data, &c); err != nil {
		return nil, path, fmt.Errorf("client: config %s: %w", path, err)
	}
	return &c, path, nil
}

// WriteConfig writes c to path atomically, readable by its owner only (it
// holds a credential), creating missing directories with mode 0700.
func WriteConfig(path string, c *Config) (err error) {
	if c == nil {
		return errors.New("client: write config: nil config")
	}
	data, err := yaml.Marshal(c)
	if err != nil {
		return fmt.Errorf("client: write config %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("client: write config %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, ".config-*")
	if err != nil {
		return fmt.Errorf("client: write config %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("client: write config %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("client: write config %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("client: write config %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("client: write config %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("client: write config %s: %w", path, err)
	}
	return nil
}
