// Command testbin is the only program in the runtime tests' image. Its first
// argument picks what it does, so one small static binary covers every case.
package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Println("testbin: no mode")
		os.Exit(2)
	}
	switch mode, args := os.Args[1], os.Args[2:]; mode {
	case "echo":
		// Prints its args, two env vars and the hostname; exits with $EXIT_CODE.
		host, _ := os.Hostname()
		fmt.Printf("args=%v greeting=%s from_image=%s hostname=%s\n",
			args, os.Getenv("GREETING"), os.Getenv("FROM_IMAGE"), host)
		code, _ := strconv.Atoi(os.Getenv("EXIT_CODE"))
		os.Exit(code)
	case "sleep":
		// As PID 1 in its namespace a process gets no default signal
		// action: it must handle SIGTERM to stop on it.
		term := make(chan os.Signal, 1)
		signal.Notify(term, syscall.SIGTERM)
		fmt.Println("ready")
		select {
		case <-term:
			fmt.Println("got SIGTERM")
		case <-time.After(time.Hour):
		}
	case "signal":
		// Reports the first of these signals it gets (the stop signal test).
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGTERM, syscall.SIGUSR1, syscall.SIGINT)
		fmt.Println("ready")
		fmt.Printf("got %v\n", <-sigs)
	case "ignore-term":
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("ready")
		time.Sleep(time.Hour)
	case "alloc":
		// Touches memory until the cgroup's limit has the kernel kill it.
		var keep [][]byte
		for i := 0; ; i++ {
			b := make([]byte, 1<<20)
			for j := range b {
				b[j] = byte(j)
			}
			keep = append(keep, b)
			if i%64 == 0 {
				fmt.Printf("allocated %d MiB\n", i)
			}
		}
	case "cat":
		// Copies stdin to stdout, then says so on stderr (exec tests).
		n, _ := io.Copy(os.Stdout, os.Stdin)
		fmt.Fprintf(os.Stderr, "copied %d bytes\n", n)
	case "tty":
		_, err := unix.IoctlGetTermios(0, unix.TCGETS)
		fmt.Printf("stdin is a terminal: %v\n", err == nil)
	case "show":
		// Prints a file, e.g. /proc/self/status (uid, capabilities, seccomp).
		b, err := os.ReadFile(args[0])
		fmt.Printf("%s%v\n", b, err)
	case "write":
		err := os.WriteFile(args[0], []byte("x"), 0o644)
		fmt.Println("write:", err)
	case "rawsocket":
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_ICMP)
		if err == nil {
			unix.Close(fd)
		}
		fmt.Println("raw socket:", err)
	case "netns":
		ns, err := os.Readlink("/proc/self/ns/net")
		fmt.Println(ns, err)
	default:
		fmt.Println("testbin: unknown mode", mode)
		os.Exit(2)
	}
}
