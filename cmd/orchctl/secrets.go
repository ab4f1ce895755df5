package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/orch-io/orch/api"
	"github.com/orch-io/orch/master/manifest"
	"github.com/spf13/cobra"
)

// secretCommand and configCommand: `orchctl secret|config create NAME
// --from-literal k=v --from-file k=PATH`. Values are read here and sent
// once; nothing prints them back.
func (a *app) secretCommand() *cobra.Command {
	return a.dataCommand("secret", "Secrets: values services get as files on tmpfs and as environment variables, encrypted at rest")
}

func (a *app) configCommand() *cobra.Command {
	return a.dataCommand("config", "Configs: values services get as read-only files and as environment variables")
}

func (a *app) dataCommand(kind, short string) *cobra.Command {
	parent := &cobra.Command{Use: kind, Short: short}
	var literals, files []string
	create := &cobra.Command{
		Use:   "create NAME --from-literal KEY=VALUE [--from-file KEY=PATH]",
		Short: "Create or replace a " + kind + "; the services that use it roll out",
		Example: fmt.Sprintf(`  orchctl %s create db --from-literal password=s3cret
  orchctl %s create tls --from-file cert.pem=./cert.pem`, kind, kind),
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := readKeyValues(literals, files)
			if err != nil {
				return err
			}
			return a.createData(cmd.Context(), kind, args[0], data)
		},
	}
	create.Flags().StringArrayVar(&literals, "from-literal", nil, "KEY=VALUE (repeatable)")
	create.Flags().StringArrayVar(&files, "from-file", nil, "KEY=PATH: the file's content is the value (repeatable)")
	parent.AddCommand(create)
	return parent
}

// readKeyValues reads --from-literal and --from-file pairs; a key given
// twice is refused.
func readKeyValues(literals, files []string) (map[string][]byte, error) {
	data := map[string][]byte{}
	add := func(flag, kv string, read func(string) ([]byte, error)) error {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fmt.Errorf("--%s %q: want KEY=%s", flag, kv, map[bool]string{true: "PATH", false: "VALUE"}[flag == "from-file"])
		}
		if _, dup := data[k]; dup {
			return fmt.Errorf("--%s: key %q is given twice", flag, k)
		}
		b, err := read(v)
		if err != nil {
			return fmt.Errorf("--%s %s: %w", flag, k, err)
		}
		data[k] = b
		return nil
	}
	for _, kv := range literals {
		if err := add("from-literal", kv, func(v string) ([]byte, error) { return []byte(v), nil }); err != nil {
			return nil, err
		}
	}
	for _, kv := range files {
		if err := add("from-file", kv, os.ReadFile); err != nil {
			return nil, err
		}
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("no values: give --from-literal KEY=VALUE or --from-file KEY=PATH")
	}
	return data, nil
}

func (a *app) createData(ctx context.Context, kind, name string, data map[string][]byte) error {
	c, err := a.client()
	if err != nil {
		return err
	}
	if kind == "secret" {
		info, err := c.PutSecret(ctx, &api.SecretManifest{Kind: api.KindSecretManifest, Name: name, Namespace: a.namespace, Data: data})
		if err != nil {
			return fmt.Errorf("secret/%s: %w", name, err)
		}
		fmt.Fprintf(a.stdout, "secret/%s version %d (keys %s)\n", name, info.Version, strings.Join(info.Keys, ", "))
		return nil
	}
	m := &api.ConfigManifest{Kind: api.KindConfigManifest, Name: name, Namespace: a.namespace}
	for k, v := range data {
		// Text stays text (readable in `get config -o yaml`); other bytes
		// go as binaryData.
		if utf8.Valid(v) {
			if m.Data == nil {
				m.Data = map[string]string{}
			}
			m.Data[k] = string(v)
		} else {
			if m.BinaryData == nil {
				m.BinaryData = map[string][]byte{}
			}
			m.BinaryData[k] = v
		}
	}
	info, err := c.PutConfig(ctx, m)
	if err != nil {
		return fmt.Errorf("config/%s: %w", name, err)
	}
	fmt.Fprintf(a.stdout, "config/%s version %d (keys %s)\n", name, info.Version, strings.Join(configKeys(info), ", "))
	return nil
}

func configKeys(c *api.ConfigInfo) []string {
	keys := slices.Collect(maps.Keys(c.Data))
	keys = append(keys, slices.Collect(maps.Keys(c.BinaryData))...)
	slices.Sort(keys)
	return keys
}

// isDataKind: get and delete take secrets and configs apart from the
// kinds of the watch API.
func isDataKind(s string) (string, bool) {
	switch strings.ToLower(s) {
	case "secret", "secrets":
		return "secret", true
	case "config", "configs", "cm":
		return "config", true
	}
	return "", false
}

// getData prints secrets (names, keys, versions, users; never values) or
// configs.
func (a *app) getData(ctx context.Context, kind, name string, allNamespaces bool) error {
	c, err := a.client()
	if err != nil {
		return err
	}
	ns := a.namespace
	if allNamespaces {
		ns = ""
	}
	type row struct {
		ns, name string
		keys     []string
		version  uint64
		users    []string
	}
	var rows []row
	var values []any
	if kind == "secret" {
		var list []api.SecretInfo
		if name != "" {
			one, err := c.GetSecret(ctx, a.namespace, name)
			if err != nil {
				return fmt.Errorf("secret/%s: %w", name, err)
			}
			list = []api.SecretInfo{*one}
		} else if list, err = c.ListSecrets(ctx, ns); err != nil {
			return err
		}
		for _, s := range list {
			rows = append(rows, row{s.Namespace, s.Name, s.Keys, s.Version, s.UsedBy})
			values = append(values, s)
		}
	} else {
		var list []api.ConfigInfo
		if name != "" {
			one, err := c.GetConfig(ctx, a.namespace, name)
			if err != nil {
				return fmt.Errorf("config/%s: %w", name, err)
			}
			list = []api.ConfigInfo{*one}
		} else if list, err = c.ListConfigs(ctx, ns); err != nil {
			return err
		}
		for _, cfg := range list {
			rows = append(rows, row{cfg.Namespace, cfg.Name, configKeys(&cfg), cfg.Version, cfg.UsedBy})
			values = append(values, cfg)
		}
	}
	if a.structured() {
		if name != "" && len(values) == 1 {
			return a.printValue(values[0])
		}
		return a.printValue(values)
	}
	header := []string{"NAME", "NAMESPACE", "KEYS", "VERSION", "USED BY"}
	var table [][]string
	for _, r := range rows {
		table = append(table, []string{r.name, r.ns, dash(strings.Join(r.keys, ",")), u64(r.version), dash(strings.Join(r.users, ","))})
	}
	return writeTable(a.stdout, header, table)
}

func (a *app) deleteData(ctx context.Context, kind string, names []string) error {
	c, err := a.client()
	if err != nil {
		return err
	}
	for _, name := range names {
		if kind == "secret" {
			err = c.DeleteSecret(ctx, a.namespace, name)
		} else {
			err = c.DeleteConfig(ctx, a.namespace, name)
		}
		if err != nil {
			return fmt.Errorf("%s/%s: %w", kind, name, err)
		}
		fmt.Fprintf(a.stdout, "%s/%s deleted\n", kind, name)
	}
	return nil
}

// applyData sends the secrets and configs of a manifest, before its
// services (which may use them).
func (a *app) applyData(ctx context.Context, objs []manifest.Object) (failed int, err error) {
	c, err := a.client()
	if err != nil {
		return 0, err
	}
	for _, o := range objs {
		switch {
		case o.Secret != nil:
			if _, err := c.PutSecret(ctx, o.Secret); err != nil {
				fmt.Fprintf(a.stderr, "error: secret/%s: %v\n", o.Secret.Name, err)
				failed++
				continue
			}
			fmt.Fprintf(a.stdout, "secret/%s applied\n", o.Secret.Name)
		case o.Config != nil:
			if _, err := c.PutConfig(ctx, o.Config); err != nil {
				fmt.Fprintf(a.stderr, "error: config/%s: %v\n", o.Config.Name, err)
				failed++
				continue
			}
			fmt.Fprintf(a.stdout, "config/%s applied\n", o.Config.Name)
		}
	}
	return failed, nil
}
