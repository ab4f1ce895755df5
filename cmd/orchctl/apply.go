package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/api/client"
	"github.com/orch-io/orch/master/manifest"
	orchpb "github.com/orch-io/orch/proto"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"
)

func (a *app) applyCommand() *cobra.Command {
	var files []string
	cmd := &cobra.Command{
		Use:   "apply -f FILE",
		Short: "Create or update services, jobs, secrets and configs from manifests",
		Long: `Create or update the services, secrets and configs of one or more manifest
files (YAML or JSON, several documents per file separated by ---). Every
document is checked before anything is sent: one invalid field and nothing
is applied. Secrets and configs are sent before services.`,
		Example: `  orchctl apply -f hello.yaml
  cat hello.yaml | orchctl apply -f -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			objs, specs, err := a.readObjects(files, cmd.Flags().Changed("namespace"))
			if err != nil {
				return err
			}
			// Secrets and configs first: the services may use them.
			failed, err := a.applyData(cmd.Context(), objs)
			if err != nil {
				return err
			}
			if len(specs) > 0 {
				err = a.apply(cmd.Context(), specs)
			}
			if err == nil && failed > 0 {
				err = errAlreadyReported{failed}
			}
			return err
		},
	}
	cmd.Flags().StringArrayVarP(&files, "filename", "f", nil, "manifest file, - for stdin (repeatable)")
	_ = cmd.MarkFlagRequired("filename")
	_ = cmd.MarkFlagFilename("filename", "yaml", "yml", "json")
	return cmd
}

// readManifests parses and validates every file before any is applied.
// With -n given, documents without a namespace go there and documents with
// another one are refused (kubectl's rule).
func (a *app) readManifests(files []string, nsFlag bool) ([]*orchpb.ServiceSpec, error) {
	var specs []*orchpb.ServiceSpec
	for _, f := range files {
		data, err := a.readFile(f)
		if err != nil {
			return nil, err
		}
		parsed, err := manifest.Parse(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", displayFile(f), err)
		}
		for _, s := range parsed {
			if nsFlag && s.GetNamespace() != a.namespace {
				// The parser fills in "default", so a document that says
				// nothing reads the same as one that says default.
				if s.GetNamespace() != orchpb.DefaultNamespace {
					return nil, fmt.Errorf("%s: service %s: namespace %s does not match -n %s", displayFile(f), s.GetName(), s.GetNamespace(), a.namespace)
				}
				s.Namespace = a.namespace
			}
		}
		specs = append(specs, parsed...)
	}
	return specs, nil
}

// readObjects is readManifests for every kind: the secrets and configs,
// and the service specs, of the files.
func (a *app) readObjects(files []string, nsFlag bool) ([]manifest.Object, []*orchpb.ServiceSpec, error) {
	var objs []manifest.Object
	var specs []*orchpb.ServiceSpec
	for _, f := range files {
		data, err := a.readFile(f)
		if err != nil {
			return nil, nil, err
		}
		parsed, err := manifest.ParseAll(data)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", displayFile(f), err)
		}
		for _, o := range parsed {
			ns := o.Namespace()
			if nsFlag && ns != a.namespace {
				if ns != orchpb.DefaultNamespace {
					return nil, nil, fmt.Errorf("%s: %s %s: namespace %s does not match -n %s", displayFile(f), strings.ToLower(o.Kind()), o.Name(), ns, a.namespace)
				}
				o.SetNamespace(a.namespace)
			}
			if o.Service != nil {
				specs = append(specs, o.Service)
			} else {
				objs = append(objs, o)
			}
		}
	}
	return objs, specs, nil
}

func (a *app) readFile(f string) ([]byte, error) {
	var (
		data []byte
		err  error
	)
	if f == "-" {
		data, err = io.ReadAll(a.stdin)
	} else {
		data, err = os.ReadFile(f)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", displayFile(f), err)
	}
	return data, nil
}

func displayFile(f string) string {
	if f == "-" {
		return "stdin"
	}
	return f
}

// apply sends each spec, reporting created, configured or unchanged. It goes
// on past a failed service and fails at the end, as kubectl does.
func (a *app) apply(ctx context.Context, specs []*orchpb.ServiceSpec) error {
	c, err := a.client()
	if err != nil {
		return err
	}
	var applied []proto.Message
	failed := 0
	for _, spec := range specs {
		what := "service"
		if spec.IsJob() {
			what = "job"
		}
		svc, result, err := applyOne(ctx, c, spec)
		if err != nil {
			fmt.Fprintf(a.stderr, "error: %s/%s: %v\n", what, spec.GetName(), err)
			failed++
			continue
		}
		applied = append(applied, svc)
		if !a.structured() {
			fmt.Fprintf(a.stdout, "%s/%s %s\n", what, spec.GetName(), result)
		}
	}
	if a.structured() && len(applied) > 0 {
		if err := a.printObjects(applied, len(specs) == 1); err != nil {
			return err
		}
	}
	if failed > 0 {
		return errAlreadyReported{failed}
	}
	return nil
}

// applyOne reads the service (or job) first so that it can say what the
// write did: a new one, a new generation, or the same spec again.
func applyOne(ctx context.Context, c *client.Client, spec *orchpb.ServiceSpec) (*orchpb.Service, string, error) {
	get, put := c.GetService, c.ApplyService
	if spec.IsJob() {
		get, put = c.GetJob, c.ApplyJob
	}
	old, err := get(ctx, spec.GetNamespace(), spec.GetName())
	if err != nil && !errors.Is(err, api.ErrNotFound) {
		return nil, "", err
	}
	svc, err := put(ctx, spec, nil)
	if err != nil {
		return nil, "", err
	}
	switch {
	case old == nil:
		return svc, "created", nil
	case svc.GetGeneration() == old.GetGeneration():
		return svc, "unchanged", nil
	}
	return svc, "configured", nil
}
