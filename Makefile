# pjd — see README.md. `make run` starts a local demo server; `make test` runs everything.
SHELL := /bin/bash
GO ?= go
CACHE ?= $(or $(PJD_CACHE),$(HOME)/.cache/pjd)
STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(CACHE)/bin/staticcheck-$(STATICCHECK_VERSION)
VERSITYGW_VERSION := v1.8.0
VERSITYGW := $(CACHE)/bin/versitygw-$(VERSITYGW_VERSION)
TEST_TIMEOUT ?= 45m
export PJD_VERSITYGW ?= $(VERSITYGW)

.PHONY: run build test lint vet fmt-check staticcheck unit tidy-check tools versitygw clean

## run: build pjd and start a local demo server (SQLite + files in ./pjd-data, dev token issuer, demo patients)
run: build
	./bin/pjd serve --dev

build:
	$(GO) build -o bin/pjd ./cmd/pjd

## test: formatting, vet, staticcheck, go.mod tidiness, then every test with -race
test: lint unit

lint: fmt-check vet staticcheck tidy-check

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.git/*')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

staticcheck: $(STATICCHECK)
	$(STATICCHECK) ./...

tidy-check:
	@cp go.mod /tmp/pjd-go.mod.bak && cp go.sum /tmp/pjd-go.sum.bak; \
	$(GO) mod tidy >/dev/null 2>&1; \
	if ! diff -q go.mod /tmp/pjd-go.mod.bak >/dev/null || ! diff -q go.sum /tmp/pjd-go.sum.bak >/dev/null; then \
	  cp /tmp/pjd-go.mod.bak go.mod; cp /tmp/pjd-go.sum.bak go.sum; \
	  echo "go.mod/go.sum are not tidy: run 'go mod tidy'"; exit 1; fi

unit:
	$(GO) test -race -timeout $(TEST_TIMEOUT) -count=1 ./...

tools: $(STATICCHECK) $(VERSITYGW)

$(STATICCHECK):
	@mkdir -p $(dir $@)
	GOBIN=$(CACHE)/bin/.staticcheck-build $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	mv $(CACHE)/bin/.staticcheck-build/staticcheck $@ && rmdir $(CACHE)/bin/.staticcheck-build

## versitygw: the S3 server the tests start (built once from source, ~2.5 min, cached outside the repo)
versitygw: $(VERSITYGW)

$(VERSITYGW):
	@mkdir -p $(dir $@)
	GOBIN=$(CACHE)/bin/.versitygw-build $(GO) install github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW_VERSION)
	mv $(CACHE)/bin/.versitygw-build/versitygw $@ && rmdir $(CACHE)/bin/.versitygw-build

clean:
	rm -rf bin
