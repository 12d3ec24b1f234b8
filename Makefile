# Common tasks. `make bakeoff` regenerates docs/bakeoff.md, its charts,
# docs/bakeoff-headline.md and the README's copy of it from a fresh run;
# never edit those by hand.
GO ?= go
SEED ?= 1

.PHONY: build test bakeoff

build:
	$(GO) build -o autotuner ./cmd/autotuner

test:
	$(GO) test ./...

bakeoff: build
	./autotuner bakeoff --out docs/bakeoff.md --seed $(SEED) --readme README.md
