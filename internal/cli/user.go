package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/satchelhq/satchel/internal/app"
	"github.com/satchelhq/satchel/internal/secret"
)

// userCreate makes an account from the command line; the password comes on
// standard input so it never shows in the process list or shell history.
func userCreate(ctx context.Context, args []string, env Env) error {
	var (
		username, email string
		passwordStdin   bool
	)
	cfg, err := loadConfig("user create", args, env, func(fs *flag.FlagSet) {
		fs.StringVar(&username, "username", "", "the new user's name")
		fs.StringVar(&email, "email", "", "the new user's email address")
		fs.BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input (required)")
	})
	if err != nil {
		return err
	}
	if username == "" || email == "" || !passwordStdin {
		return fmt.Errorf("%w: satchel user create needs --username, --email and --password-stdin", errUsage)
	}
	line, err := bufio.NewReader(env.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return errors.New("no password on standard input")
	}
	password := strings.TrimRight(line, "\r\n")

	log := newLogger(cfg, env.Stderr)
	store, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer store.Close()
	accounts := app.NewAccounts(store, secret.NewHasher(secret.DefaultParams, runtime.NumCPU()), time.Now, log, false)
	u, err := accounts.CreateUser(ctx, username, email, password)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "created user %s (%s)\n", u.Username, u.ID)
	return nil
}
