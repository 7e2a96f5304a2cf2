"""The `theano-cnn` recipe (seed 001) written in PyTorch, for the side-by-side run on CIFAR-10.

Same data and policy as `kusari train theano-cnn`:
  * CIFAR-10 binary files; images scaled to [0, 1]; the first 40,000 training images train,
    the last 10,000 validate, the official test batch is evaluated at the end;
  * ZCA whitening fitted on 10,000 evenly spaced training images (population covariance,
    epsilon 0.01 added to the eigenvalues), applied once to the whole dataset;
  * the seed's CNN with Chainer's initialisation (LeCun normal weights, zero biases);
  * SGD momentum 0.9, lr 0.01, weight decay 1e-4, batch 100, 50 epochs, reshuffled every
    epoch from the seed; evaluation in mini-batches of 500 in no-grad mode.

Prints one line per epoch and, last, a JSON line with the accuracies, times and images/s.
Usage: python train_theano_cnn.py --data-dir ../shared/datasets [--epochs 50] [--seed 0] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time

import numpy as np
import torch
from torch import nn

from models import TheanoCNN


def read_cifar10(directory: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    folder = os.path.join(directory, "cifar-10-batches-bin")
    if not os.path.isdir(folder):
        folder = directory

    def read(names: list[str]) -> tuple[np.ndarray, np.ndarray]:
        records = np.concatenate([np.fromfile(os.path.join(folder, n), dtype=np.uint8).reshape(-1, 3073) for n in names])
        return records[:, 1:].reshape(-1, 3, 32, 32), records[:, 0].astype(np.int64)

    train_x, train_y = read([f"data_batch_{i}.bin" for i in range(1, 6)])
    test_x, test_y = read(["test_batch.bin"])
    return train_x, train_y, test_x, test_y


def fit_zca(images: np.ndarray, epsilon: float, max_samples: int) -> tuple[np.ndarray, np.ndarray]:
    total = len(images)
    count = min(total, max_samples)
    rows = [i * total // count for i in range(count)]
    x = images[rows].reshape(count, -1).astype(np.float64) / 255
    mean = x.mean(axis=0)
    centred = x - mean
    covariance = centred.T @ centred / count
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    matrix = (eigenvectors * (1 / np.sqrt(eigenvalues + epsilon))) @ eigenvectors.T
    return mean.astype(np.float32), matrix.astype(np.float32)


def whiten(images: np.ndarray, mean: np.ndarray, matrix: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(images.reshape(len(images), -1).astype(np.float32) / 255)
    return ((x - torch.from_numpy(mean)) @ torch.from_numpy(matrix)).reshape(-1, 3, 32, 32).contiguous()


def chainer_init(model: nn.Module) -> None:
    """LeCun normal weights (std sqrt(1 / fan_in)) and zero biases, as Chainer and Kusari."""
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            fan_in = module.weight[0].numel()
            nn.init.normal_(module.weight, 0.0, math.sqrt(1.0 / fan_in))
            nn.init.zeros_(module.bias)


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 500) -> tuple[float, float]:
    model.eval()
    loss_sum, correct = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(x), batch):
            logits = model(x[start:start + batch])
            target = y[start:start + batch]
            loss_sum += nn.functional.cross_entropy(logits, target, reduction="sum").item()
            correct += (logits.argmax(1) == target).sum().item()
    model.train()
    return loss_sum / len(x), correct / len(x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default="../shared/datasets")
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--flush-denormal", action="store_true",
                        help="torch.set_flush_denormal(True) (off by default, as in PyTorch)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(args.flush_denormal)
    torch.manual_seed(args.seed)
    started = time.perf_counter()

    train_x, train_y, test_x, test_y = read_cifar10(args.data_dir)
    mean, matrix = fit_zca(train_x[:40_000], epsilon=0.01, max_samples=10_000)
    x_train, y_train = whiten(train_x[:40_000], mean, matrix), torch.from_numpy(train_y[:40_000])
    x_val, y_val = whiten(train_x[40_000:], mean, matrix), torch.from_numpy(train_y[40_000:])
    x_test, y_test = whiten(test_x, mean, matrix), torch.from_numpy(test_y)
    prepared = time.perf_counter()

    model = TheanoCNN(channels=args.channels)
    chainer_init(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    shuffle = torch.Generator().manual_seed(args.seed)
    batch = 100
    training_seconds = 0.0
    for epoch in range(1, args.epochs + 1):
        epoch_start = time.perf_counter()
        order = torch.randperm(len(x_train), generator=shuffle)
        loss_sum, correct = 0.0, 0
        for start in range(0, len(order), batch):
            index = order[start:start + batch]
            logits = model(x_train[index])
            loss = nn.functional.cross_entropy(logits, y_train[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(index)
            correct += (logits.argmax(1) == y_train[index]).sum().item()
        training_seconds += time.perf_counter() - epoch_start
        val_loss, val_accuracy = evaluate(model, x_val, y_val)
        if epoch == 1:
            first_epoch_end = time.perf_counter()
        print(f"epoch {epoch:3d} | train loss {loss_sum / len(x_train):.4f}, acc {correct / len(x_train):.4f} "
              f"| val loss {val_loss:.4f}, acc {val_accuracy:.4f} | {time.perf_counter() - started:.1f} s", flush=True)
    last_epoch_end = time.perf_counter()
    test_loss, test_accuracy = evaluate(model, x_test, y_test)
    total = time.perf_counter() - started
    print(json.dumps({"framework": "pytorch", "torch": torch.__version__, "threads": args.threads,
                      "epochs": args.epochs, "validation_accuracy": val_accuracy, "test_loss": test_loss,
                      "test_accuracy": test_accuracy, "preprocessing_seconds": prepared - started,
                      "wall_seconds": total,
                      "training_images_per_second": args.epochs * len(x_train) / training_seconds,
                      # Like Kusari's figure from its log: epochs 2..E, training plus validation.
                      "epoch_images_per_second": (args.epochs - 1) * len(x_train) / (last_epoch_end - first_epoch_end)
                      if args.epochs > 1 else float("nan")}))


if __name__ == "__main__":
    main()
