package main

import (
	"fmt"
	"os"
	"runtime/debug"

	"github.com/orch-io/orch/agent"
	"github.com/orch-io/orch/agent/runtime"
	"github.com/orch-io/orch/master/manifest"
	"github.com/spf13/pflag"
)

// agentOpsFlags are the agent's flags for images and replica output.
type agentOpsFlags struct {
	insecureRegistries []string
	imageGCThreshold   float64
	logMaxSize         string
	logMaxFiles        int
}

func (f *agentOpsFlags) register(fl *pflag.FlagSet) {
	fl.StringSliceVar(&f.insecureRegistries, "insecure-registry", nil, "registry (HOST or HOST:PORT) to pull from without verified TLS, over HTTPS with any certificate or plain HTTP; repeatable. Registries on loopback always may")
	fl.Float64Var(&f.imageGCThreshold, "image-gc-threshold", 85, "percent of the image disk in use past which unused images are removed, least recently used first, down to 5 points below; 0 turns collection off")
	fl.StringVar(&f.logMaxSize, "log-max-size", "10Mi", "size past which a replica's output file is rotated")
	fl.IntVar(&f.logMaxFiles, "log-max-files", 3, "output files kept per replica, the current one included (at least 2)")
}

func (f *agentOpsFlags) apply(cfg *agent.Config) error {
	size, err := manifest.ParseMemory(f.logMaxSize)
	if err != nil || size <= 0 {
		return fmt.Errorf("--log-max-size: %q: want a size such as 10Mi", f.logMaxSize)
	}
	if f.logMaxFiles < 2 {
		return fmt.Errorf("--log-max-files: %d: want at least 2", f.logMaxFiles)
	}
	if f.imageGCThreshold < 0 || f.imageGCThreshold > 100 {
		return fmt.Errorf("--image-gc-threshold: %v: want a percentage, 0 to 100", f.imageGCThreshold)
	}
	cfg.LogMaxSize, cfg.LogMaxFiles = size, f.logMaxFiles
	cfg.ImageGCHighPercent = f.imageGCThreshold
	return nil
}

func (f *agentOpsFlags) runtimeOptions() []runtime.Option {
	return []runtime.Option{runtime.WithInsecureRegistries(f.insecureRegistries)}
}

// agentGCPercent keeps a standalone agent's heap close to what it uses (GC
// at +50% instead of Go's +100%): the agent is small and long-lived, and a
// worker's memory belongs to its replicas. It takes a few MB off the
// agent's resident memory at 50 replicas for a little more GC work. GOGC in
// the environment overrides it.
const agentGCPercent = 50

func tuneAgentGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(agentGCPercent)
	}
}
