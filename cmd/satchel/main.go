// Command satchel is a self-hosted file upload and sharing server.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/satchelhq/satchel/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], cli.Env{Getenv: os.Getenv, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
	stop()
	os.Exit(code)
}
