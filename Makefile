# Common tasks. `make bakeoff` regenerates docs/bakeoff.md, its charts,
# docs/bakeoff-headline.md and the README's copy of it from a fresh run;
# never edit those by hand.
GO ?= go
SEED ?= 1
# The Lambda bootstrap: the Lambda mode alone, without the simulator's
# plotting (docs/operations.md has its size and cold start).
LAMBDA_PKG ?= ./cmd/autotuner-lambda
# The Lambda runtime interface emulator; internal/testenv names the same version.
RIE_VERSION ?= v0.0.0-20261030222936-bef5c4ba774d
# moto, the second-opinion AWS emulator, is unpacked and started by this
# script (see its header); tests find it through AUTOTUNER_MOTO_SCRIPT.
MOTO_START ?= $(abspath ../shared/emulators/start-moto.sh)

.PHONY: build build-lambda test emulators fuzz bench bakeoff

build:
	$(GO) build -o autotuner ./cmd/autotuner

# build-lambda cross-compiles the bootstrap as deploy/sam ships it.
build-lambda:
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -tags lambda.norpc -trimpath -ldflags "-s -w" -o bootstrap $(LAMBDA_PKG)

# test installs every emulator from the project's own files, then runs the
# whole suite with emulators required: a missing one fails, never skips.
test: emulators
	AUTOTUNER_REQUIRE_EMULATORS=1 AUTOTUNER_MOTO_SCRIPT="$(MOTO_START)" PATH="$(CURDIR)/.bin:$$PATH" \
		$(GO) test -count=1 -timeout 45m ./...

emulators:
	npm ci --prefix tools/dynalite --no-audit --no-fund --loglevel=error
	GOBIN="$(CURDIR)/.bin" $(GO) install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(RIE_VERSION)
	@# moto: start it once and stop it, so its Debian dependencies are installed
	@# here, serially, before test binaries start their own in parallel.
	@pid=$$(bash "$(MOTO_START)" $$(shuf -i 20000-40000 -n 1) 2>/dev/null | tail -n 1); case "$$pid" in ''|*[!0-9]*) true;; *) kill "$$pid" 2>/dev/null || true;; esac
	@# zsh and fish let the completion tests load the generated scripts; without
	@# them those tests skip. Installed only where apt-get is at hand.
	@if ! command -v zsh >/dev/null || ! command -v fish >/dev/null; then \
		if command -v apt-get >/dev/null; then \
			apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq zsh fish >/dev/null || true; \
		fi; \
	fi
	@# Each further Node.js tool under tools/ with a lock file (asl-validator, ...) installs the same way.
	@for d in tools/*/; do \
		if [ "$$d" != tools/dynalite/ ] && [ -f "$$d/package-lock.json" ]; then \
			npm ci --prefix "$$d" --no-audit --no-fund --loglevel=error || exit 1; \
		fi; \
	done

# fuzz runs every Fuzz target briefly; a finding fails (.ci/fuzz).
fuzz:
	bash .ci/fuzz

# bench runs every benchmark once, so none can rot (.ci/bench).
bench:
	bash .ci/bench

bakeoff: build
	./autotuner bakeoff --out docs/bakeoff.md --seed $(SEED) --readme README.md

# release-snapshot builds every release artifact into dist/, offline once
# the module cache holds go.sum's modules (go mod download): an archive per
# platform, the Lambda zips and checksums.txt (docs/operations.md, "Release
# artifacts"). LAMBDA_PKG (above) is the main package of the bootstrap.
RELEASE_FLAGS ?=
RELEASE_VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: release-snapshot image cross-build

release-snapshot:
	$(GO) run ./tools/release -dist dist -version $(RELEASE_VERSION) -lambda-pkg $(LAMBDA_PKG) $(RELEASE_FLAGS)

# image builds the container for linux/amd64 and linux/arm64 with Docker's
# buildx; it is not part of release-snapshot, which needs no Docker.
IMAGE ?= autotuner:$(RELEASE_VERSION)
image:
	docker buildx build --platform linux/amd64,linux/arm64 -f deploy/docker/Dockerfile \
		--build-arg VERSION=$(RELEASE_VERSION) --build-arg REVISION=$$(git rev-parse HEAD) \
		--build-arg CREATED=$$(TZ=UTC git log -1 --date=format-local:%Y-%m-%dT%H:%M:%SZ --format=%cd) \
		-t $(IMAGE) .

# cross-build proves every package compiles for Windows (tests included,
# through vet) and macOS (CI runs it).
cross-build:
	GOOS=windows $(GO) vet ./...
	GOOS=darwin $(GO) build ./...
