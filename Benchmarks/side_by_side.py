#!/usr/bin/env python3
"""Side-by-side training throughput: Kusari vs PyTorch on the same machine.

For each model, runs (one after the other, never together)

    KUSARI bench train MODEL --threads T --json --device D --seconds S [--amp --amp-dtype bf16|fp16]
    PYTHON Benchmarks/pytorch/bench_train.py MODEL --threads T --device D --seconds S
           [--amp --amp-dtype bfloat16|float16]

with OMP_NUM_THREADS / MKL_NUM_THREADS set to T in the children, reads the one JSON line each
prints, and prints a Markdown table with the ratio of images/s (Kusari / PyTorch).

Standard library only: this script runs with any python3; only the interpreter given by
--python (default: the one running this script) needs torch.

    python3 Benchmarks/side_by_side.py --python venv/bin/python
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent
REPO = BENCHMARKS.parent
PYTORCH_SCRIPT = BENCHMARKS / "pytorch" / "bench_train.py"
ALL_MODELS = ("theano-cnn", "tf-cifar10", "vgg-cifar100", "rcnn-svhn")
# --amp-dtype values, as bench_train.py spells them, and Kusari's names for them.
AMP_DTYPES = {"bfloat16": "bf16", "float16": "fp16"}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(ALL_MODELS),
                        help=f"comma-separated (default: {','.join(ALL_MODELS)})")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--kusari", default=str(REPO / ".build" / "release" / "kusari"),
                        help="the kusari binary (default: .build/release/kusari)")
    parser.add_argument("--python", default=sys.executable,
                        help="interpreter with torch installed (default: this one)")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="timed seconds per model and framework (default 10)")
    parser.add_argument("--amp", action="store_true",
                        help="mixed precision in both frameworks: autocast to --amp-dtype (Kusari's "
                             "--amp, PyTorch's torch.autocast)")
    parser.add_argument("--amp-dtype", choices=AMP_DTYPES, default=None,
                        help="with --amp: bfloat16 (default) or float16 (both then scale the loss "
                             "dynamically, torch.amp.GradScaler in PyTorch)")
    parser.add_argument("--skip-kusari", action="store_true", help="run PyTorch only")
    parser.add_argument("--skip-pytorch", action="store_true", help="run Kusari only")
    args = parser.parse_args()
    if args.amp_dtype is not None and not args.amp:
        parser.error("--amp-dtype needs --amp")
    args.amp_dtype = args.amp_dtype or "bfloat16"
    return args


def child_env(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = str(threads)
    env["MKL_NUM_THREADS"] = str(threads)
    return env


def seconds_text(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else str(seconds)


def run_json(label: str, command: list[str], env: dict[str, str]) -> dict | None:
    """Runs `command`; returns the last JSON object line of its stdout, or None (reported)."""
    print(f"[{label}] {' '.join(command)}", file=sys.stderr, flush=True)
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True)
    except OSError as error:
        print(f"[{label}] could not start: {error}", file=sys.stderr)
        return None
    if done.returncode != 0:
        print(f"[{label}] exited with status {done.returncode}; stderr:\n{done.stderr.rstrip()}",
              file=sys.stderr)
        return None
    for line in reversed(done.stdout.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                result = json.loads(line)
            except json.JSONDecodeError:
                continue
            print(f"[{label}] {line}", file=sys.stderr, flush=True)
            return result
    print(f"[{label}] printed no JSON line; stdout:\n{done.stdout.rstrip()}\n"
          f"stderr:\n{done.stderr.rstrip()}", file=sys.stderr)
    return None


def number(value, digits: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


def main() -> None:
    args = parse_args()
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    env = child_env(args.threads)
    common = ["--threads", str(args.threads), "--device", args.device,
              "--seconds", seconds_text(args.seconds)]
    kusari_amp = ["--amp", "--amp-dtype", AMP_DTYPES[args.amp_dtype]] if args.amp else []
    pytorch_amp = ["--amp", "--amp-dtype", args.amp_dtype] if args.amp else []

    if hasattr(os, "getloadavg") and os.getloadavg()[0] > 0.5:
        print(f"warning: 1-minute load average is {os.getloadavg()[0]:.2f}; other work on this "
              "machine will distort the figures", file=sys.stderr)

    rows = []
    for model in models:
        kusari = None
        if not args.skip_kusari:
            kusari = run_json("kusari", [args.kusari, "bench", "train", model, "--json"] + common
                              + kusari_amp, env)
        pytorch = None
        if not args.skip_pytorch:
            pytorch = run_json("pytorch", [args.python, str(PYTORCH_SCRIPT), model] + common
                               + pytorch_amp, env)
        rows.append((model, kusari, pytorch))

    print()
    print(f"Training throughput, {args.device}{f' AMP ({args.amp_dtype})' if args.amp else ''}, "
          f"{args.threads} threads, "
          f"~{seconds_text(args.seconds)} s timed per run (images/s, higher is better)")
    print()
    print("| model | batch | params (kusari / pytorch) | Kusari img/s | PyTorch img/s "
          "| ratio Kusari/PyTorch |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for model, kusari, pytorch in rows:
        k = kusari or {}
        p = pytorch or {}
        batch = k.get("batch") or p.get("batch")
        batch_text = number(batch)
        if kusari and pytorch and k.get("batch") != p.get("batch"):
            batch_text = f"{number(k.get('batch'))} / {number(p.get('batch'))} **(mismatch)**"
        params = f"{number(k.get('parameters'))} / {number(p.get('parameters'))}"
        if kusari and pytorch and k.get("parameters") != p.get("parameters"):
            params += " **(mismatch)**"
        k_ips, p_ips = k.get("images_per_second"), p.get("images_per_second")
        ratio = f"{k_ips / p_ips:.2f}" if k_ips and p_ips else "—"
        print(f"| {model} | {batch_text} | {params} | {number(k_ips)} | {number(p_ips)} "
              f"| {ratio} |")


if __name__ == "__main__":
    main()
