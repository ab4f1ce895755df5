// Command build makes the sample workload's image tarball without docker or a
// registry:
//
//	go run ./images/build -o images/hello.tar
//
// It cross-builds images/hello as a static linux binary and writes a
// docker-archive tarball (which containerd and `orchctl image load` import)
// holding one image, tagged orch.local/hello:1 by default. File times and the
// image's creation time are fixed (SOURCE_DATE_EPOCH, else the Unix epoch), so
// the same source and toolchain give the same image digest.
//
// It writes only the output file and a temporary directory it removes.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		os.Exit(1)
	}
}

func run() error {
	out := flag.String("o", "images/hello.tar", "output tarball")
	tag := flag.String("tag", "orch.local/hello:1", "image reference to tag the image with")
	src := flag.String("src", "./images/hello", "Go package of the workload")
	arch := flag.String("arch", runtime.GOARCH, "GOARCH of the image")
	ver := flag.String("version", "", "version the binary reports (default: the tag's tag)")
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flag.Args())
	}

	ref, err := name.NewTag(*tag)
	if err != nil {
		return fmt.Errorf("tag %q: %w", *tag, err)
	}
	if *ver == "" {
		*ver = ref.TagStr()
	}
	created, err := buildTime()
	if err != nil {
		return err
	}

	tmp, err := os.MkdirTemp("", "orch-image-build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "hello")
	if err := goBuild(*src, bin, *arch, *ver); err != nil {
		return err
	}

	img, err := image(bin, *arch, created)
	if err != nil {
		return err
	}
	if dir := filepath.Dir(*out); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	// Written beside the target and renamed, so a failed run never leaves a
	// truncated tarball where a good one was.
	part := *out + ".partial"
	if err := tarball.WriteToFile(part, ref, img); err != nil {
		os.Remove(part)
		return fmt.Errorf("write %s: %w", *out, err)
	}
	if err := os.Rename(part, *out); err != nil {
		os.Remove(part)
		return fmt.Errorf("write %s: %w", *out, err)
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("wrote %s: %s (%s, linux/%s)\n", *out, ref, digest, *arch)
	return nil
}

// goBuild cross-compiles pkg into a static, reproducible binary.
func goBuild(pkg, outFile, arch, version string) error {
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false",
		"-ldflags", "-s -w -buildid= -X main.version="+version,
		"-o", outFile, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s: %w", pkg, err)
	}
	return nil
}

// buildTime honours SOURCE_DATE_EPOCH (reproducible-builds.org), else the
// Unix epoch: never the wall clock, which would change the digest.
func buildTime() (time.Time, error) {
	v := strings.TrimSpace(os.Getenv("SOURCE_DATE_EPOCH"))
	if v == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	secs, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q: %w", v, err)
	}
	return time.Unix(secs, 0).UTC(), nil
}
