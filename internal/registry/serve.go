package registry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// ListenAndServe serves the registry alone on addr and watches its folder until
// ctx ends, then shuts down gracefully. onListen, when set, is called with the
// address actually bound (useful with port 0) once requests are accepted.
func (r *Registry) ListenAndServe(ctx context.Context, addr string, onListen func(addr string)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	srv := &http.Server{
		Handler:           r.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      time.Minute,
		IdleTimeout:       2 * time.Minute,
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	watched := make(chan error, 1)
	go func() { watched <- r.Watch(ctx) }()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	r.log.Info("registry listening", "addr", ln.Addr().String())
	if onListen != nil {
		onListen(ln.Addr().String())
	}
	select {
	case err := <-served:
		cancel()
		<-watched
		return fmt.Errorf("serving the registry: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	err = srv.Shutdown(shutdownCtx)
	if serr := <-served; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if werr := <-watched; werr != nil && err == nil {
		err = werr
	}
	if err != nil {
		return fmt.Errorf("shutting down the registry server: %w", err)
	}
	return nil
}
