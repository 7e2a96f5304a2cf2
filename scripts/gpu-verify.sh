#!/usr/bin/env bash
# The whole GPU verification of an unpacked Kusari bundle, in one command, on a host with an
# NVIDIA GPU, its driver, and CUDA libraries (a CUDA image, a toolkit, or PyTorch's pip wheels):
#
#   ./gpu-verify.sh [PYTHON [STEPS]]   (PYTHON: an interpreter with torch, default python3;
#                                       STEPS: which of the steps below to run, default "1 2 3 4",
#                                       for hosts that limit how long one command may run)
#
#   1. `kusari info`: the GPU, the driver and each CUDA library found (or why not);
#   2. the GPU-vs-CPU parity tests (KusariCUDATests from the bundled test runner, one process per
#      test function), which fail rather than skip when no GPU is usable;
#   3. `kusari bench train` of the four seed networks on the GPU beside the same PyTorch models on
#      the same GPU (Benchmarks/side_by_side.py --device cuda), in float32 and with --amp
#      (bfloat16 autocast on both sides);
#   4. the same on the host's CPU cores, for the CPU→GPU speed-up of each network.
# Exits non-zero when any step fails; every selected step runs regardless.
set -uo pipefail
here=$(dirname "$(readlink -f "$0")")
python=${1:-python3}
steps=" ${2:-1 2 3 4} "
runs() { [[ "$steps" == *" $1 "* ]]; }
# CUDA wheels installed with torch live in its site-packages: let Kusari find them there too.
site=$("$python" -c 'import site; print(site.getsitepackages()[0])' 2>/dev/null || true)
export KUSARI_PYTHON_SITE="${KUSARI_PYTHON_SITE:-$site}"
status=0

if runs 1; then
    echo "== 1. kusari info"
    "$here/kusari" info || status=1
fi

if runs 2; then
    # Each test function in its own process: a backend error stops the process (as a CPU op's
    # invalid argument does), and must not hide the results of the other tests.
    echo "== 2. GPU-vs-CPU parity tests"
    runner() {
        LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" KUSARI_REQUIRE_GPU=1 KUSARI_REQUIRE_NVRTC=1 \
            "$here/tests/KusariPackageTests.xctest" --testing-library swift-testing "$@"
    }
    failed=()
    for id in $(runner --list-tests | grep '^KusariCUDATests\.'); do
        runner --filter "$(printf '%s' "$id" | sed 's/[][().*+?^$|\\{}]/\\&/g')" || failed+=("$id")
    done
    if [ ${#failed[@]} -gt 0 ]; then
        status=1
        printf 'failed or stopped: %s\n' "${failed[@]}"
    fi
fi

if runs 3; then
    echo "== 3. training throughput on the GPU, Kusari beside PyTorch (float32, then mixed precision)"
    for precision in "" --amp; do
        "$python" "$here/Benchmarks/side_by_side.py" --kusari "$here/kusari" --python "$python" --device cuda \
            --threads 16 $precision || status=1
    done
fi

if runs 4; then
    echo "== 4. training throughput on the CPU (for the CPU→GPU speed-up)"
    "$python" "$here/Benchmarks/side_by_side.py" --kusari "$here/kusari" --python "$python" --device cpu \
        --threads "$(nproc)" || status=1
fi

exit $status
