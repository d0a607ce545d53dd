# hushbox: every entry point of the project (see docs/ and DESIGN.md).
#
#   make run      build, then serve with defaults (data in ./hushbox-data)
#   make build    bin/hushbox for this machine
#   make arm      bin/hushbox-linux-armv7 (static, for the RPi 2 / Cubieboard)
#   make test     go vet + go test + ARMv7 build checked under qemu-arm-static
#   make bench    Go benchmarks + REGISTER benchmark against Kamailio
#   make fuzz     every fuzz target for FUZZTIME each
#   make screenshots  docs/img/dashboard.png from a live daemon in headless Chromium
#   make clean

export PATH := /usr/local/go/bin:$(PATH)
SHELL := /bin/bash

GO        ?= go
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X hushbox/pbx/buildinfo.Version=$(VERSION)
DATA      ?= ./hushbox-data
RUN_ARGS  ?=
TEST_TIMEOUT ?= 20m
FUZZTIME  ?= 20s
ARM_BIN   := bin/hushbox-linux-armv7

.PHONY: all run build arm arm-check test vet unit bench fuzz screenshots clean

all: build

build:
	@mkdir -p bin
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/hushbox ./cmd/hushbox

run: build
	bin/hushbox serve --data $(DATA) $(RUN_ARGS)

# Static ARMv7 hard-float binary: CGO off, pure-Go net and user lookups.
arm:
	@mkdir -p bin
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=7 \
		$(GO) build -trimpath -tags netgo,osusergo -ldflags '-s -w $(LDFLAGS)' -o $(ARM_BIN) ./cmd/hushbox

# The ARM binary must start and report its version under user-mode qemu.
# A missing qemu-arm-static is an error in CI (CI=true), a warning elsewhere.
arm-check: arm
	@if ! command -v qemu-arm-static >/dev/null 2>&1; then \
		if [ "$${CI:-}" = "true" ]; then echo "arm-check: qemu-arm-static missing (CI=true)" >&2; exit 1; fi; \
		echo "arm-check: qemu-arm-static missing, skipped" >&2; exit 0; \
	fi; \
	out="$$(qemu-arm-static $(ARM_BIN) version)"; echo "$$out"; \
	case "$$out" in "hushbox "*" linux/arm") ;; *) echo "arm-check: unexpected output: $$out" >&2; exit 1;; esac

vet:
	@unformatted="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

unit:
	$(GO) test -timeout $(TEST_TIMEOUT) ./...

test: vet unit arm-check

bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./...
	scripts/bench-register.sh

# The dashboard screenshot for the docs: a test that only runs when asked.
screenshots:
	@mkdir -p docs/img
	HUSHBOX_SCREENSHOTS=1 HUSHBOX_SCREENSHOT_DIR=$(CURDIR)/docs/img \
		$(GO) test -count=1 -run '^TestWebDashboardScreenshot$$' -v ./pbx/interop/

fuzz:
	FUZZTIME=$(FUZZTIME) GO=$(GO) scripts/fuzz.sh

clean:
	rm -rf bin out
