# pjd — see README.md. `make run` starts a local demo server; `make test` runs everything.
SHELL := /bin/bash
GO ?= go
# Tools and the PostgreSQL template cluster are cached here, outside the
# repository; conformance/services and .ci/setup read the same variable.
export PJD_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/pjd
TEST_TIMEOUT ?= 45m
# Packages outside ./... (the Go tool skips dot-directories) that are built,
# vetted and tested too.
CI_PACKAGES := ./.ci/testsummary

.PHONY: run build test setup lint vet fmt-check staticcheck unit tidy-check tools versitygw clean

## run: build pjd and start a local demo server (SQLite + files in ./pjd-data, dev token issuer, demo patients)
run: build
	./bin/pjd serve --dev

# -buildvcs=auto: record the commit (pjd version) even where GOFLAGS turns it off.
build:
	$(GO) build -buildvcs=auto -o bin/pjd ./cmd/pjd

## test: set-up (.ci/setup), formatting, vet, staticcheck, go.mod tidiness, then every test with -race and a summary
test: setup lint unit

## setup: install or build what the tests use where possible, say what is missing (.ci/setup)
setup:
	@.ci/setup

lint: fmt-check vet staticcheck tidy-check

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.git/*')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./... $(CI_PACKAGES)

# The pinned staticcheck, found or built by .ci/setup; when it cannot be had,
# this step says so and is skipped (with CI=true it fails).
staticcheck:
	@.ci/setup run staticcheck ./... $(CI_PACKAGES)

tidy-check:
	@if ! $(GO) mod tidy -diff >/dev/null 2>&1; then \
	  $(GO) mod tidy -diff; echo "go.mod/go.sum are not tidy: run 'go mod tidy'"; exit 1; fi

# Every test, with the race detector; .ci/testsummary prints failures in full
# and ends with how many tests passed and which were skipped, and why.
unit:
	@set -o pipefail; $(GO) test -race -json -timeout $(TEST_TIMEOUT) -count=1 ./... $(CI_PACKAGES) 2>&1 | \
	  $(GO) run $(CI_PACKAGES) $(if $(filter true 1,$(CI)),-strict)

## tools: the pinned staticcheck and versitygw, built once into $(PJD_CACHE)/bin (.ci/setup tools)
tools:
	@.ci/setup tools

## versitygw: the S3 server the tests start (built once from source, ~2.5 min, cached outside the repo)
versitygw: tools

clean:
	rm -rf bin
