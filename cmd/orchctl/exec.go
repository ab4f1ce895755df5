package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/orch-io/orch/api/client"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
)

// exitCodeError makes orchctl exit with the exec'd command's code.
type exitCodeError struct{ code int }

func (e exitCodeError) Error() string { return fmt.Sprintf("command exited %d", e.code) }

func (a *app) execCommand() *cobra.Command {
	var (
		stdin, tty bool
		container  string
	)
	cmd := &cobra.Command{
		Use:   "exec REPLICA -- COMMAND [ARG...]",
		Short: "Run a command in a running replica",
		Long: `Run a command inside a running replica (its display name, hello.2, or its id),
on whichever node runs it, printing its output. orchctl exits with the
command's exit code. -i sends orchctl's stdin to the command; -t gives it a
terminal (use both, -it, for a shell).`,
		Example: `  orchctl exec hello.1 -- /hello version
  orchctl exec hello.1 -- /hello get http://127.0.0.1:8080/healthz
  orchctl exec -it hello.1 -- /bin/sh
  orchctl exec hello.1 -c proxy -- /hello get http://127.0.0.1:8080/`,
		Args: func(cmd *cobra.Command, args []string) error {
			if cmd.ArgsLenAtDash() != 1 || len(args) < 2 {
				return errors.New("want REPLICA -- COMMAND [ARG...]")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			opts := client.ExecOptions{Stdout: a.stdout, Stderr: a.stderr, TTY: tty, Container: container}
			if stdin {
				opts.Stdin = a.stdin
			}
			if tty {
				restore, resize, err := a.rawTerminal()
				if err != nil {
					return err
				}
				defer restore()
				opts.Resize = resize
			}
			code, err := c.Exec(cmd.Context(), args[0], a.namespace, args[1:], opts)
			if err != nil {
				return err
			}
			if code != 0 {
				return exitCodeError{code}
			}
			return nil
		},
	}
	cmd.Flags().BoolVarP(&stdin, "stdin", "i", false, "send stdin to the command")
	cmd.Flags().BoolVarP(&tty, "tty", "t", false, "give the command a terminal")
	cmd.Flags().StringVarP(&container, "container", "c", "", "run in this sidecar or init container (default: the main container)")
	return cmd
}

// rawTerminal puts orchctl's own terminal, when stdin is one, in raw mode
// (keys go to the remote terminal as typed) and reports its size now and
// on every SIGWINCH. restore undoes both.
func (a *app) rawTerminal() (restore func(), sizes <-chan [2]uint16, err error) {
	in, ok := a.stdin.(*os.File)
	if !ok {
		return func() {}, nil, nil
	}
	fd := int(in.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return func() {}, nil, nil // not a terminal: nothing to set up
	}
	raw := *old
	raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	raw.Oflag &^= unix.OPOST
	raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	raw.Cflag &^= unix.CSIZE | unix.PARENB
	raw.Cflag |= unix.CS8
	raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &raw); err != nil {
		return nil, nil, fmt.Errorf("exec -t: raw terminal: %w", err)
	}
	ch := make(chan [2]uint16, 1)
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	stop := make(chan struct{})
	send := func() {
		if ws, err := unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ); err == nil {
			select {
			case ch <- [2]uint16{ws.Col, ws.Row}:
			default:
			}
		}
	}
	send()
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-winch:
				send()
			}
		}
	}()
	return func() {
		signal.Stop(winch)
		close(stop)
		_ = unix.IoctlSetTermios(fd, unix.TCSETS, old)
	}, ch, nil
}
