"""Times PyTorch training steps of one seed network on random data.

    python bench_train.py MODEL [--threads 2] [--iterations N | --seconds S] [--warmup W]
                          [--batch B] [--device cpu|cuda] [--amp [--amp-dtype bfloat16|float16]]
                          [--channels 16|64|256]

One step = forward, softmax cross-entropy on the logits, backward, SGD (lr 0.01, momentum 0.9),
in train mode (dropout and batch statistics on). With --amp the forward pass and loss run under
torch.autocast (bfloat16 by default); with --amp-dtype float16 the loss is scaled and the step
taken through torch.amp.GradScaler, PyTorch's recipe for float16. The inputs (standard normal) and the integer
labels are generated once, with a fixed seed, and reused in every step. After the warm-up steps
either exactly N steps are timed, or (default) steps run until S seconds have passed and at least
--min-iterations have run. Prints one JSON line:

    {"framework": "pytorch", "model": ..., "batch": ..., "threads": ..., "device": ...,
     "parameters": ..., "iterations": ..., "seconds": ..., "images_per_second": ...,
     "amp": false | "bf16" | "fp16", ...}
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models import MODELS, build_model, count_parameters  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", choices=list(MODELS))
    parser.add_argument("--threads", type=int, default=2, help="intra-op threads (default 2)")
    parser.add_argument("--iterations", type=int, default=None,
                        help="timed steps (default: run for --seconds)")
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="timed duration when --iterations is not given (default 10)")
    parser.add_argument("--min-iterations", type=int, default=5,
                        help="least timed steps when running for --seconds (default 5)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first (default 3)")
    parser.add_argument("--batch", type=int, default=None, help="default: the seed's batch size")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--amp", action="store_true",
                        help="torch.autocast (cuda or cpu), in --amp-dtype")
    parser.add_argument("--amp-dtype", choices=("bfloat16", "float16"), default=None,
                        help="with --amp: bfloat16 (default) or float16 (with torch.amp.GradScaler)")
    parser.add_argument("--channels", type=int, default=None,
                        help="theano-cnn conv width: 16 (default), 64 or 256")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.amp_dtype is not None and not args.amp:
        parser.error("--amp-dtype needs --amp")
    return args


def main() -> None:
    args = parse_args()
    if args.iterations is not None and args.iterations < 1:
        sys.exit("bench_train.py: --iterations must be at least 1")
    torch.set_num_threads(args.threads)
    with contextlib.suppress(RuntimeError):   # only possible before any parallel work
        torch.set_num_interop_threads(1)
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("bench_train.py: --device cuda but torch.cuda.is_available() is False")
    device = torch.device(args.device)

    torch.manual_seed(args.seed)
    model, spec = build_model(args.model, args.channels)
    parameters = count_parameters(model)
    model = model.to(device).train()
    batch = args.batch or spec.batch

    # Fixed random data, made once.
    generator = torch.Generator().manual_seed(args.seed)
    images = torch.randn(batch, *spec.input_shape, generator=generator).to(device)
    labels = torch.randint(0, spec.classes, (batch,), generator=generator).to(device)

    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    amp_dtype = torch.float16 if args.amp_dtype == "float16" else torch.bfloat16
    scaler = torch.amp.GradScaler(device.type) if args.amp and amp_dtype == torch.float16 else None

    def autocast():
        if args.amp:
            return torch.autocast(device_type=device.type, dtype=amp_dtype)
        return contextlib.nullcontext()

    def step() -> torch.Tensor:
        optimizer.zero_grad(set_to_none=True)
        with autocast():
            loss = loss_fn(model(images), labels)
        if scaler is None:
            loss.backward()
            optimizer.step()
        else:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        return loss

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    for _ in range(args.warmup):
        step()
    sync()

    iterations = 0
    start = time.perf_counter()
    if args.iterations is not None:
        for _ in range(args.iterations):
            loss = step()
        iterations = args.iterations
        sync()
    else:
        while True:
            loss = step()
            iterations += 1
            if iterations >= args.min_iterations:
                # On cuda, read the clock only after the queued work has finished.
                sync()
                if time.perf_counter() - start >= args.seconds:
                    break
    seconds = time.perf_counter() - start
    loss_value = float(loss.detach())

    print(json.dumps({
        "framework": "pytorch",
        "model": args.model,
        "batch": batch,
        "threads": args.threads,
        "device": args.device,
        "parameters": parameters,
        "iterations": iterations,
        "seconds": round(seconds, 4),
        "images_per_second": round(iterations * batch / seconds, 2),
        "amp": ({torch.float16: "fp16", torch.bfloat16: "bf16"}[amp_dtype] if args.amp else False),
        "loss": round(loss_value, 4),
        "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()
