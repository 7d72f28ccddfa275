//go:build pprof

// Built with -tags pprof, accord serves Go's profiles (net/http/pprof) on
// ACCORD_PPROF_ADDR, a loopback address, for profiling a running collector
// under load (docs/performance.md, "How to run"). Release builds leave it out.
package main

import (
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof/ on http.DefaultServeMux
	"os"
)

func init() {
	addr := os.Getenv("ACCORD_PPROF_ADDR")
	if addr == "" {
		return
	}
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		fmt.Fprintf(os.Stderr, "accord: ACCORD_PPROF_ADDR %q must be a loopback address such as 127.0.0.1:6060; profiles not served\n", addr)
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "accord: serving profiles on %s: %v\n", addr, err)
		return
	}
	go http.Serve(ln, nil) //nolint:errcheck // ends with the process
}
