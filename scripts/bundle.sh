#!/usr/bin/env bash
# Builds the self-contained Kusari bundle for GPU (or any x86-64 Linux) hosts:
#   dist/kusari-linux-x86_64.tar.xz  →  kusari/kusari         launcher (sets LD_LIBRARY_PATH)
#                                       kusari/bin/kusari     release binary, Swift runtime linked in
#                                       kusari/lib/*.so*      the non-CUDA shared libraries it needs
#                                       kusari/tests/         the test runner (GPU parity tests)
#                                       kusari/Benchmarks/    the PyTorch side-by-side scripts
#                                       kusari/gpu-verify.sh  the whole GPU verification, one command
# CUDA itself (driver, cuBLAS, cuDNN, NVRTC, NCCL) is never bundled: Kusari dlopens the host's.
# The host needs a glibc at least as new as this machine's (printed at the end).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-dist}
scratch=.build-bundle
swift build -c release --static-swift-stdlib --scratch-path "$scratch" --product kusari
binary="$scratch/release/kusari"
# The test runner of the ordinary debug build (its library targets are optimised, see
# Package.swift); it needs the Swift runtime libraries, which the ldd pass below collects.
swift build --build-tests
tests=.build/debug/KusariPackageTests.xctest

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root="$stage/kusari"
mkdir -p "$root/bin" "$root/lib" "$root/tests" "$out"
cp "$binary" "$root/bin/kusari"
cp "$tests" "$root/tests/"
strip --strip-unneeded "$root/bin/kusari"
strip --strip-debug "$root/tests/KusariPackageTests.xctest"
# Every library the binaries load, except glibc's own (the host provides those) and CUDA's.
{ ldd "$binary"; ldd "$tests"; } | awk '/=> \// { print $3 }' | sort -u | while read -r library; do
    case "$(basename "$library")" in
        libc.so.*|libm.so.*|libdl.so.*|libpthread.so.*|librt.so.*|libresolv.so.*|libutil.so.*|ld-linux*) ;;
        libcuda.so*|libnvrtc*|libcublas*|libcudnn*|libnccl*) ;;
        *) cp -L "$library" "$root/lib/" ;;
    esac
done
cat > "$root/kusari" <<'LAUNCHER'
#!/bin/sh
# Runs the bundled kusari with its own libraries first on the search path.
here=$(dirname "$(readlink -f "$0")")
LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "$here/bin/kusari" "$@"
LAUNCHER
chmod +x "$root/kusari"
cp scripts/gpu-verify.sh "$root/"
mkdir -p "$root/Benchmarks/pytorch"
cp Benchmarks/side_by_side.py "$root/Benchmarks/"
cp Benchmarks/pytorch/*.py "$root/Benchmarks/pytorch/"

XZ_OPT="-6 -T0" tar -C "$stage" -cJf "$out/kusari-linux-x86_64.tar.xz" kusari
glibc=$(objdump -T "$binary" "$root"/lib/*.so* 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -n 1)
echo "$out/kusari-linux-x86_64.tar.xz: $(du -h "$out/kusari-linux-x86_64.tar.xz" | cut -f1), $(ls "$root/lib" | wc -l) libraries; needs ${glibc:-GLIBC_?} or newer"
