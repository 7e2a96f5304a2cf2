# Kusari — build, test and run. Every target installs the Debian packages it needs first.
SHELL := /bin/bash
APT_PACKAGES := libdnnl-dev zlib1g-dev libmatio-dev libpng-dev libturbojpeg0-dev libcairo2-dev
SUDO := $(shell [ "$$(id -u)" = "0" ] || echo sudo)
SWIFT ?= swift

.PHONY: deps build release test run bench clean

## deps: install the C libraries Kusari links (oneDNN, zlib) when missing.
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "Installing:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

## test: set up and run the whole test suite.
test: deps
	$(SWIFT) test

## run: the main job: train the default recipe (synthetic shapes, about a minute on 2 cores);
## leaves log, loss.png, accuracy.png, snapshots and model.npz in result/.
run: release
	.build/release/kusari info
	.build/release/kusari train shapes-cnn --out result

## bench: Kusari vs PyTorch side by side on this machine (needs a venv with torch: see Benchmarks/README.md).
bench: release
	python3 Benchmarks/side_by_side.py --python $${PYTHON:-venv/bin/python}

clean:
	rm -rf .build
