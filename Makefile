# Kusari — build, test and run. Every target installs the Debian packages it needs first.
SHELL := /bin/bash
APT_PACKAGES := libdnnl-dev zlib1g-dev libmatio-dev libpng-dev libturbojpeg0-dev libcairo2-dev xz-utils g++
SUDO := $(shell [ "$$(id -u)" = "0" ] || echo sudo)
SWIFT ?= swift

.PHONY: deps nvrtc bindings build release test gpu-test run bench clean

## deps: install the C libraries Kusari links (oneDNN, zlib, …) and g++ (the tests compile the GPU kernels for
## the CPU) when missing.
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

## nvrtc: NVIDIA's runtime compiler from its PyPI wheel in a project-local venv, so the tests can
## compile every GPU kernel on a machine without CUDA. Without network it warns and goes on.
NVRTC_VENV := .venv-nvrtc
nvrtc:
	@if ! ls $(NVRTC_VENV)/lib/python3*/site-packages/nvidia/cuda_nvrtc/lib/libnvrtc.so.* >/dev/null 2>&1; then \
		python3 -c 'import ensurepip, venv' 2>/dev/null || { $(SUDO) apt-get update -qq && \
			DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq python3-venv; }; \
		{ python3 -m venv $(NVRTC_VENV) && $(NVRTC_VENV)/bin/pip install -q nvidia-cuda-nvrtc-cu12; } || \
			echo "warning: could not install the NVRTC wheel (no network?); the kernel compile test will be skipped"; \
	fi

## bindings: checks every CUDA/cuDNN/cuBLAS/NCCL/NVRTC function KusariCUDA binds by dlopen, and
## every C constant it names, against NVIDIA's headers (fetched from the PyPI wheels, headers only,
## into .cuda-headers/) with the Swift toolchain's clang. Without network or clang it warns and goes on.
CUDA_HEADERS := .cuda-headers
bindings:
	@if ! command -v $${CLANG:-clang} >/dev/null; then \
		echo "warning: no clang; the C binding check is skipped"; \
	elif python3 scripts/cuda-headers.py $(CUDA_HEADERS); then \
		python3 scripts/check-c-bindings.py $(CUDA_HEADERS); \
	else \
		echo "warning: could not fetch the CUDA headers (no network?); the C binding check is skipped"; \
	fi

## test: set up and run the whole test suite; with NVRTC installed, a kernel that does not compile fails it.
test: deps nvrtc bindings
	@site=$$(ls -d $(NVRTC_VENV)/lib/python3*/site-packages 2>/dev/null | head -n 1); \
	if [ -n "$$site" ] && ls $$site/nvidia/cuda_nvrtc/lib/libnvrtc.so.* >/dev/null 2>&1; then \
		echo "KUSARI_PYTHON_SITE=$$PWD/$$site KUSARI_REQUIRE_NVRTC=1 $(SWIFT) test"; \
		KUSARI_PYTHON_SITE="$$PWD/$$site" KUSARI_REQUIRE_NVRTC=1 $(SWIFT) test; \
	else \
		echo "$(SWIFT) test"; \
		$(SWIFT) test; \
	fi

## gpu-test: on a machine with an NVIDIA GPU and driver, the GPU-vs-CPU checks of KusariCUDA (Philox
## streams, conversions, reductions, cross-entropy, cuBLAS sgemm); fails when no GPU is usable.
## cuBLAS comes from the host's CUDA or from `.venv-nvrtc/bin/pip install nvidia-cublas-cu12`.
gpu-test: deps nvrtc
	@site=$$(ls -d $(NVRTC_VENV)/lib/python3*/site-packages 2>/dev/null | head -n 1); \
	KUSARI_PYTHON_SITE="$${site:+$$PWD/$$site}" KUSARI_REQUIRE_NVRTC=1 KUSARI_REQUIRE_GPU=1 \
		$(SWIFT) test --filter KusariCUDATests

## run: the main job: train the default recipe (synthetic shapes, about a minute on 2 cores);
## leaves log, loss.png, accuracy.png, snapshots and model.npz in result/.
run: release
	.build/release/kusari info
	.build/release/kusari train shapes-cnn --out result

## bench: Kusari vs PyTorch side by side on this machine (needs a venv with torch: see Benchmarks/README.md).
bench: release
	python3 Benchmarks/side_by_side.py --python $${PYTHON:-venv/bin/python}

## bundle: dist/kusari-linux-x86_64.tar.xz, the release binary with the Swift runtime linked in,
## its non-CUDA shared libraries, a launcher, the test runner and gpu-verify.sh (see README).
bundle: deps
	scripts/bundle.sh dist

clean:
	rm -rf .build .build-bundle dist
