package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (a *app) tokenCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Credentials",
	}
	var role string
	create := &cobra.Command{
		Use:   "create --role agent|master|admin|reader",
		Short: "Make a new bearer token; it is shown once",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			tok, err := c.CreateToken(cmd.Context(), role)
			if err != nil {
				return err
			}
			if a.structured() {
				return a.printValue(tok)
			}
			fmt.Fprintln(a.stdout, tok.Token)
			return nil
		},
	}
	create.Flags().StringVar(&role, "role", "", "agent, master, admin or reader")
	_ = create.MarkFlagRequired("role")
	_ = create.RegisterFlagCompletionFunc("role", cobra.FixedCompletions([]string{"agent", "master", "admin", "reader"}, cobra.ShellCompDirectiveNoFileComp))
	cmd.AddCommand(create)
	return cmd
}
