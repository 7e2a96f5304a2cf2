#!/usr/bin/env python3
"""The full `theano-cnn` recipe on real CIFAR-10, Kusari and PyTorch one after the other.

Runs

    KUSARI train theano-cnn --data-dir DATA --epochs E --seed S --threads T --out OUT
    PYTHON Benchmarks/pytorch/train_theano_cnn.py --data-dir DATA --epochs E --seed S --threads T

measures each run's wall time (data reading, ZCA fitting and whitening, training, per-epoch
validation, final test), and prints a Markdown table: test and validation accuracy, wall time,
training images/s over epochs 2..E (training plus each epoch's validation pass, from Kusari's
`log` and PyTorch's clock alike; PyTorch's training-steps-only rate is printed too).

    python3 Benchmarks/theano_cifar10_side_by_side.py --python /work/venv/bin/python
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent
REPO = BENCHMARKS.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "datasets"))
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--kusari", default=str(REPO / ".build" / "release" / "kusari"))
    parser.add_argument("--python", default=sys.executable, help="interpreter with torch installed")
    parser.add_argument("--out", default="/tmp/kusari-theano-cnn")
    args = parser.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))

    started = time.perf_counter()
    kusari = subprocess.run([args.kusari, "train", "theano-cnn", "--data-dir", args.data_dir, "--epochs", str(args.epochs),
                             "--seed", str(args.seed), "--threads", str(args.threads), "--out", args.out],
                            env=env, capture_output=True, text=True, check=True)
    kusari_wall = time.perf_counter() - started
    test = re.search(r"test: loss ([0-9.]+), accuracy ([0-9.]+) %", kusari.stdout)
    log = json.loads((Path(args.out) / "log").read_text())
    last = log[-1]
    # Training throughput: images over the epochs after the first (which also holds the set-up).
    first_end = log[0]["elapsed_time"]
    images = 40_000 * (len(log) - 1)
    kusari_rate = images / (last["elapsed_time"] - first_end) if len(log) > 1 else float("nan")

    started = time.perf_counter()
    torch_run = subprocess.run([args.python, str(BENCHMARKS / "pytorch" / "train_theano_cnn.py"), "--data-dir", args.data_dir,
                                "--epochs", str(args.epochs), "--seed", str(args.seed), "--threads", str(args.threads)],
                               env=env, capture_output=True, text=True, check=True, cwd=BENCHMARKS / "pytorch")
    torch_wall = time.perf_counter() - started
    torch_result = json.loads(torch_run.stdout.strip().splitlines()[-1])

    print(f"theano-cnn, CIFAR-10, {args.epochs} epochs, seed {args.seed}, {args.threads} threads")
    print("| framework | test acc | val acc | wall time | img/s (epochs incl. validation) |")
    print("| --- | --- | --- | --- | --- |")
    print(f"| Kusari | {float(test.group(2)):.2f} % | {100 * last['validation/main/accuracy']:.2f} % | "
          f"{kusari_wall:.0f} s | {kusari_rate:,.0f} |")
    print(f"| PyTorch {torch_result['torch']} | {100 * torch_result['test_accuracy']:.2f} % | "
          f"{100 * torch_result['validation_accuracy']:.2f} % | {torch_wall:.0f} s | "
          f"{torch_result['epoch_images_per_second']:,.0f} |")
    print(f"PyTorch training steps alone: {torch_result['training_images_per_second']:,.0f} img/s; "
          f"wall-time ratio PyTorch / Kusari: {torch_wall / kusari_wall:.2f}")


if __name__ == "__main__":
    main()
