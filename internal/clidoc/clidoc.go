// Package clidoc renders a cobra command tree as one markdown page, each
// command's own help (usage, flags, examples) in the order a reader walks
// the tree: docs/cli.md for orchctl and docs/orchd.md for orchd are made
// with it, and their tests fail while the committed pages are stale.
//
// It reads commands; it must not run them or change what they print.
package clidoc

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// Markdown is the page of root's tree: a title, intro, then a section per
// command, its links pointing within the page.
func Markdown(root *cobra.Command, intro string) ([]byte, error) {
	// Execute adds these on the first run; the page shows what users get.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "# %s\n\n%s\n\n", root.Name(), intro)
	if err := write(&buf, root); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// write renders c and, depth first, its commands: those `c --help` lists.
func write(buf *bytes.Buffer, c *cobra.Command) error {
	// The date cobra stamps under each section would make every
	// regeneration a change.
	c.DisableAutoGenTag = true
	if err := doc.GenMarkdownCustom(c, buf, anchor); err != nil {
		return fmt.Errorf("clidoc: %s: %w", c.CommandPath(), err)
	}
	for _, sub := range c.Commands() {
		if !sub.IsAvailableCommand() || sub.IsAdditionalHelpTopicCommand() {
			continue
		}
		if err := write(buf, sub); err != nil {
			return err
		}
	}
	return nil
}

// anchor turns cobra's link to a command's own page ("orchctl_get_nodes.md")
// into the link to its section of this page ("#orchctl-get-nodes").
func anchor(page string) string {
	return "#" + strings.ReplaceAll(strings.TrimSuffix(page, ".md"), "_", "-")
}
