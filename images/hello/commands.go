package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"
)

// exitCommand is `hello exit CODE [--after DURATION]`: a process that ends
// the way a job run or an init container should, when told.
func exitCommand(args []string, stdout, stderr io.Writer, sleep func(time.Duration)) int {
	fs := flag.NewFlagSet("hello exit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	after := fs.Duration("after", 0, "how long to wait before exiting")
	if len(args) < 1 {
		fmt.Fprintln(stderr, "usage: hello exit CODE [--after DURATION]")
		return 2
	}
	code, err := strconv.Atoi(args[0])
	if err != nil || code < 0 || code > 255 {
		fmt.Fprintf(stderr, "hello exit: code %q: want an integer 0-255\n", args[0])
		return 2
	}
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if *after < 0 {
		fmt.Fprintf(stderr, "hello exit: --after %s: must not be negative\n", *after)
		return 2
	}
	if *after > 0 {
		fmt.Fprintf(stdout, "exiting with %d in %s\n", code, *after)
		sleep(*after)
	}
	fmt.Fprintf(stdout, "exit %d\n", code)
	return code
}

// catCommand is `hello cat PATH`: the image holds no shell or coreutils, so
// exec checks on mounted files go through the binary itself.
func catCommand(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: hello cat PATH")
		return 2
	}
	f, err := os.Open(args[0])
	if err != nil {
		fmt.Fprintf(stderr, "hello cat: %v\n", err)
		return 1
	}
	defer f.Close()
	if _, err := io.Copy(stdout, f); err != nil {
		fmt.Fprintf(stderr, "hello cat: %s: %v\n", args[0], err)
		return 1
	}
	return 0
}
