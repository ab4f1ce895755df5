package main

import (
	"fmt"
	"time"

	"github.com/orch-io/orch/api"
	"github.com/spf13/cobra"
)

func (a *app) tokenCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Credentials",
	}
	cmd.AddCommand(a.tokenCreateCommand(), a.tokenListCommand(), a.tokenRevokeCommand())
	return cmd
}

func (a *app) tokenCreateCommand() *cobra.Command {
	var req api.TokenRequest
	var ttl time.Duration
	create := &cobra.Command{
		Use:   "create --role agent|master|admin|reader [--ttl 24h]",
		Short: "Make a new bearer token; it is shown once",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if ttl < 0 {
				return fmt.Errorf("--ttl: want a positive duration, got %s", ttl)
			}
			if ttl > 0 {
				req.TTL = ttl.String()
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			tok, err := c.CreateToken(cmd.Context(), req)
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
	create.Flags().StringVar(&req.Role, "role", "", "agent, master, admin or reader")
	create.Flags().DurationVar(&ttl, "ttl", 0, "how long the token is valid, e.g. 24h (default: until revoked)")
	_ = create.MarkFlagRequired("role")
	_ = create.RegisterFlagCompletionFunc("role", cobra.FixedCompletions([]string{"agent", "master", "admin", "reader"}, cobra.ShellCompDirectiveNoFileComp))
	return create
}

func (a *app) tokenListCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the tokens the cluster accepts (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			list, err := c.ListTokens(cmd.Context())
			if err != nil {
				return err
			}
			if a.structured() {
				return a.printValue(list)
			}
			now := time.Now()
			rows := make([][]string, 0, len(list))
			for _, t := range list {
				rows = append(rows, []string{t.ID, t.Role, tokenTime(t.Created, now, "-"), tokenExpiry(t.Expires, now), tokenTime(t.LastUsed, now, "never")})
			}
			return writeTable(a.stdout, []string{"ID", "ROLE", "CREATED", "EXPIRES", "LAST USED"}, rows)
		},
	}
}

func (a *app) tokenRevokeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a token: every master refuses it from now on",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			if err := c.RevokeToken(cmd.Context(), args[0]); err != nil {
				return fmt.Errorf("token/%s: %w", args[0], err)
			}
			fmt.Fprintf(a.stdout, "token/%s revoked\n", args[0])
			return nil
		},
	}
}

// tokenTime is a past time as an age ("5m ago"), or none when unknown.
func tokenTime(t, now time.Time, none string) string {
	if t.IsZero() {
		return none
	}
	return formatAge(now.Sub(t)) + " ago"
}

// tokenExpiry says when a token expires: "in 3h", "expired", or "never".
func tokenExpiry(t, now time.Time) string {
	switch {
	case t.IsZero():
		return "never"
	case !now.Before(t):
		return "expired"
	}
	return "in " + formatAge(t.Sub(now))
}
