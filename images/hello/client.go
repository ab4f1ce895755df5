package main

import (
	"fmt"
	"io"
	"net/http"
	"time"
)

// get prints the body of url and returns 0 for a 2xx answer, 1 otherwise, so
// `hello get http://127.0.0.1:8080/healthz` works as an exec health check.
func get(url string, stdout, stderr io.Writer) int {
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		fmt.Fprintf(stderr, "hello get: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	if _, err := io.Copy(stdout, resp.Body); err != nil {
		fmt.Fprintf(stderr, "hello get %s: reading body: %v\n", url, err)
		return 1
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		fmt.Fprintf(stderr, "hello get %s: %s\n", url, resp.Status)
		return 1
	}
	return 0
}
