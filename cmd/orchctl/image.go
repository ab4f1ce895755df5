package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

func (a *app) imageCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "image",
		Short: "Manage images stored in the cluster",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "load FILE.tar",
		Short: "Put an OCI image tarball into the cluster, so agents can run it without a registry",
		Example: `  orchctl image load images/hello.tar
  orchctl get images`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var r io.Reader = a.stdin
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				r = f
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			imgs, err := c.LoadImage(cmd.Context(), r)
			if err != nil {
				return fmt.Errorf("image load %s: %w", displayFile(args[0]), err)
			}
			if a.structured() {
				return a.printObjects(toMessages(imgs), false)
			}
			for _, img := range imgs {
				fmt.Fprintf(a.stdout, "image/%s loaded (%s, %s)\n", img.GetName(), shortDigest(img.GetDigest()), formatBytes(img.GetSize()))
			}
			return nil
		},
	})
	return cmd
}
