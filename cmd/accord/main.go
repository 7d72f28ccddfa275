// Command accord is the Accord event-data platform: contracts, collector, scrubber,
// vault, sinks and code generation in one binary.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/accord-dev/accord/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
