// Package localregistry runs a real OCI registry (the distribution project's own
// registry code) inside the process: for `chartship demo`, and under the test
// registry of internal/registrytest.
package localregistry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem" // storage drivers register themselves
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"
	"github.com/sirupsen/logrus"
)

// Options configure the registry.
type Options struct {
	// RootDir keeps blobs and manifests on disk; "" keeps them in memory.
	RootDir string
	// Auth is distribution's auth configuration (htpasswd, token); nil: none.
	Auth configuration.Auth
	// MaxTags bounds the tags a repository may hold (0: no bound).
	MaxTags int
}

var quiet sync.Once

// Handler returns the registry's HTTP handler (it serves /v2/). The registry
// stops when ctx is done.
func Handler(ctx context.Context, opts Options) http.Handler {
	quiet.Do(func() { logrus.SetOutput(io.Discard); logrus.SetLevel(logrus.ErrorLevel) })
	storage := configuration.Storage{
		"delete": configuration.Parameters{"enabled": true},
		"maintenance": configuration.Parameters{"uploadpurging": map[any]any{
			"enabled": false,
		}},
	}
	if opts.RootDir != "" {
		storage["filesystem"] = configuration.Parameters{"rootdirectory": opts.RootDir}
	} else {
		storage["inmemory"] = configuration.Parameters{}
	}
	cfg := &configuration.Configuration{Storage: storage, Auth: opts.Auth, Tags: configuration.Tags{MaxTags: opts.MaxTags}}
	cfg.HTTP.Secret = "chartship-local-registry-upload-state"
	cfg.Log.AccessLog.Disabled = true
	cfg.Log.Level = "error"
	return handlers.NewApp(ctx, cfg)
}

// Server is a registry listening on a loopback port over plain HTTP.
type Server struct {
	Host string // host:port
	srv  *http.Server
	stop context.CancelFunc
	done chan error
}

// Start serves a registry on addr (e.g. "127.0.0.1:0" for any free port).
func Start(addr string, opts Options) (*Server, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("starting a local registry on %s: %w", addr, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		Host: l.Addr().String(),
		srv:  &http.Server{Handler: Handler(ctx, opts), ReadHeaderTimeout: 10 * time.Second},
		stop: cancel,
		done: make(chan error, 1),
	}
	go func() { s.done <- s.srv.Serve(l) }()
	return s, nil
}

// Ref returns the oci:// reference of a namespace in the registry.
func (s *Server) Ref(namespace string) string { return "oci://" + s.Host + "/" + namespace }

// Close stops the server.
func (s *Server) Close() error {
	defer s.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if serveErr := <-s.done; !errors.Is(serveErr, http.ErrServerClosed) && err == nil {
		err = serveErr
	}
	return err
}
