package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/satchelhq/satchel/internal/config"
)

// serve runs a node until ctx ends, then drains requests in flight (for at
// most the shutdown timeout) and closes the database.
func serve(ctx context.Context, cfg config.Config, env Env) error {
	log := newLogger(cfg, env.Stderr)
	// Bind first, so a busy port fails at start, before any other work.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	defer ln.Close()
	if cfg.PublicURL == "http://"+cfg.Addr {
		// The default public URL names the address actually bound (it
		// differs when the port is 0).
		cfg.PublicURL = "http://" + ln.Addr().String()
	}
	node, err := Build(ctx, cfg, log, Options{})
	if err != nil {
		return err
	}
	defer node.Close()

	srv := &http.Server{
		Handler:           node.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	if err := node.Jobs.Start(context.WithoutCancel(ctx)); err != nil {
		srv.Close()
		return err
	}
	stopJobs := func() {
		// Jobs running get the rest of the shutdown timeout; any cut
		// short are rescued and run again (by this or another node).
		stopCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		if err := node.Jobs.Stop(stopCtx); err != nil {
			log.Warn("stop the job queue", "err", err)
		}
	}
	log.Info("satchel is listening", "addr", ln.Addr().String(), "public_url", cfg.PublicURL,
		"database", node.Store.Kind(), "storage", cfg.StorageURL)

	select {
	case err := <-served:
		stopJobs()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: draining requests in flight", "timeout", cfg.ShutdownTimeout.String())
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Warn("requests still in flight at the shutdown deadline were cut off", "err", err)
		srv.Close()
		// Cut-off handlers clean up after themselves (an upload removes
		// its row and bytes); the database must outlive them.
		waitCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := node.API.Wait(waitCtx); err != nil {
			log.Warn("handlers still running after the connections closed", "err", err)
		}
		cancel()
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	// Then the background work; the database closes last (deferred).
	stopJobs()
	log.Info("stopped")
	return nil
}
