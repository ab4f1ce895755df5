package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

func (a *app) snapshotCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "snapshot",
		Short: "Back up the cluster state",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "save FILE",
		Short: "Write a consistent backup of the whole state (restore it with orchd master restore)",
		Long: `Write a consistent backup of the whole cluster state to FILE. It holds the
cluster CA's key and the token digests: keep it as secret as admin.conf.
Restore it with orchd master restore FILE --data-dir DIR.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			c, err := a.client()
			if err != nil {
				return err
			}
			path := args[0]
			tmp, err := os.CreateTemp(filepath.Dir(path), ".snapshot-*")
			if err != nil {
				return err
			}
			defer func() {
				if err != nil {
					tmp.Close()
					os.Remove(tmp.Name())
				}
			}()
			index, err := c.SaveSnapshot(cmd.Context(), tmp)
			if err != nil {
				return err
			}
			if err := tmp.Sync(); err != nil {
				return err
			}
			if err := tmp.Close(); err != nil {
				return err
			}
			if err := os.Rename(tmp.Name(), path); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "snapshot at index %d saved to %s\n", index, path)
			return nil
		},
	})
	return cmd
}
