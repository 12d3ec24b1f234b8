# Common tasks. `make bakeoff` regenerates docs/bakeoff.md, its charts and
# docs/bakeoff-headline.md from a fresh run; never edit those by hand.
GO ?= go
SEED ?= 1

.PHONY: build test bakeoff

build:
	$(GO) build -o autotuner ./cmd/autotuner

test:
	$(GO) test ./...

bakeoff: build
	./autotuner bakeoff --out docs/bakeoff.md --seed $(SEED)
