# chartship — the two commands a fresh machine needs are `make demo` and `make test`.
SHELL := /bin/bash
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: all build dist demo test test-short vet fmt bench fuzz cluster-up cluster-down clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/chartship ./cmd/chartship

# Release archives (linux, darwin × amd64, arm64) and SHA256SUMS in build/dist/,
# reproducible: the same commit gives the same bytes (scripts/dist says how).
dist:
	VERSION=$(VERSION) ./scripts/dist build/dist

# A full release of the embedded sample chart, into a local registry, git catalog
# and cluster that the demo starts itself. The demo command (an in-process
# registry server) is only in a -tags demo build: bin/chartship is built with it
# for the demo and rebuilt without it afterwards, whatever the demo's outcome.
demo:
	$(GO) build -tags demo -ldflags "$(LDFLAGS)" -o bin/chartship ./cmd/chartship
	./scripts/demo; rc=$$?; $(GO) build -ldflags "$(LDFLAGS)" -o bin/chartship ./cmd/chartship; exit $$rc

# All tests. Prepares (and builds, the first time: slow) a Docker engine with the
# offline kind node image for the real-pod suite and the local kwok control plane for
# the fast API-level tests, runs every test, stops everything.
test:
	./scripts/test

# Tests that need no cluster; those that need one skip (also with CI=true: -short
# makes internal/testcluster skip rather than fail).
test-short:
	$(GO) test -short ./...

vet:
	$(GO) vet ./...

fmt:
	gofmt -l -w $$(git ls-files '*.go')

bench:
	./scripts/bench

# Every fuzz target (or those FUZZ, a regexp, matches) for FUZZTIME each (default 1m), one
# after the other, and a table of what each did; a crasher stays as a seed in
# testdata/fuzz/ (scripts/fuzz says how).
FUZZTIME ?= 1m
FUZZ ?= .
fuzz:
	./scripts/fuzz -t $(FUZZTIME) '$(FUZZ)'

clean:
	rm -rf bin build
