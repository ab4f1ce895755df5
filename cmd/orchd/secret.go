package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/pflag"
)

// secretFlags is a token given on the command line (--token, which every
// user of the machine sees in ps) or in a file (--token-file).
type secretFlags struct {
	value, file string
}

func (s *secretFlags) register(fl *pflag.FlagSet, what string) {
	fl.StringVar(&s.value, "token", "", what+" (every user sees it in ps: prefer --token-file)")
	fl.StringVar(&s.file, "token-file", "", "file holding the "+what+", readable by its owner only")
}

// given reports whether either flag was set.
func (s *secretFlags) given() bool { return s.value != "" || s.file != "" }

// get returns the token from whichever flag was set, or "".
func (s *secretFlags) get() (string, error) {
	switch {
	case s.value != "" && s.file != "":
		return "", errors.New("--token and --token-file: give one")
	case s.file != "":
		return readSecretFile(s.file)
	}
	return strings.TrimSpace(s.value), nil
}

// readSecretFile reads a token from path, refusing a file other users may
// read or write (as ssh refuses such a key) and warning about one its
// group may read.
func readSecretFile(path string) (string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("--token-file: %w", err)
	}
	switch mode := info.Mode().Perm(); {
	case mode&0o007 != 0:
		return "", fmt.Errorf("--token-file: %s is open to every user (mode %04o): chmod 600 %s", path, mode, path)
	case mode&0o070 != 0:
		slog.Warn("token file is readable by its group; chmod 600 it", "path", path, "mode", fmt.Sprintf("%04o", mode))
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("--token-file: %w", err)
	}
	token := strings.TrimSpace(string(data))
	if token == "" {
		return "", fmt.Errorf("--token-file: %s is empty", path)
	}
	return token, nil
}
