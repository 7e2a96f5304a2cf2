"""PyTorch versions of the four seed networks, for the side-by-side training benchmark.

Each model mirrors the network Kusari trains under the same name (`kusari bench train MODEL`):

  theano-cnn    Theano CIFAR-10 CNN (seed 001), batch 100, input 3x32x32
  tf-cifar10    TensorFlow CIFAR-10 tutorial model (seed 003), batch 128, input 3x24x24
  vgg-cifar100  Chainer examples/cifar VGG for CIFAR-100 (seed 004), batch 64, input 3x32x32
  rcnn-svhn     Recurrent convolutional network RCNN(T=4, K=128, C=10) (seed 000), batch 64,
                input 3x32x32

`python models.py --count` prints `name parameters`, one line per model.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

# Chainer's BatchNormalization defaults: eps 2e-5, decay 0.9 (running = 0.9 * running + 0.1 * batch),
# which is PyTorch's momentum 0.1.
CHAINER_BN_EPS = 2e-5
CHAINER_BN_MOMENTUM = 0.1


def chainer_bn2d(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=CHAINER_BN_EPS, momentum=CHAINER_BN_MOMENTUM)


def chainer_bn1d(features: int) -> nn.BatchNorm1d:
    return nn.BatchNorm1d(features, eps=CHAINER_BN_EPS, momentum=CHAINER_BN_MOMENTUM)


# --------------------------------------------------------------------------------------------
# 001: Theano CIFAR-10 CNN
# --------------------------------------------------------------------------------------------

class TheanoCNN(nn.Module):
    """conv 5x5 valid (16, 64 or 256 filters) -> max-pool 4x4/4 -> ReLU -> fc 1000 ReLU -> fc 10."""

    def __init__(self, channels: int = 16, classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, channels, 5),           # 32 -> 28, valid, with bias
            nn.MaxPool2d(4, 4),                  # 28 -> 7
            nn.ReLU(),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(channels * 7 * 7, 1000),
            nn.ReLU(),
            nn.Linear(1000, classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


# --------------------------------------------------------------------------------------------
# 003: TensorFlow CIFAR-10 tutorial model (1,068,298 parameters)
# --------------------------------------------------------------------------------------------

def tf_lrn() -> nn.LocalResponseNorm:
    # TF: depth_radius=4, bias=1.0, alpha=0.001/9, beta=0.75, i.e. x / (1 + 0.001/9 * sum_9 x^2)^0.75.
    # PyTorch divides alpha by the window size itself, so alpha=0.001 with size=9.
    return nn.LocalResponseNorm(size=9, alpha=0.001, beta=0.75, k=1.0)


def tf_same_maxpool() -> nn.MaxPool2d:
    # 3x3 stride 2 with TF 'SAME' padding: 24 -> 12 -> 6. With ceil_mode the last window hangs
    # one pixel over the bottom/right edge, exactly like TF's (0 before, 1 after) padding.
    return nn.MaxPool2d(3, 2, ceil_mode=True)


class TFCifar10(nn.Module):
    """conv1 5x5x64 -> relu -> pool -> lrn -> conv2 5x5x64 -> relu -> lrn -> pool
    -> fc 384 relu -> fc 192 relu -> linear 10 (input 3x24x24)."""

    PARAMETERS = 1_068_298

    def __init__(self, classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, 5, padding=2), nn.ReLU(), tf_same_maxpool(), tf_lrn(),   # 24 -> 12
            nn.Conv2d(64, 64, 5, padding=2), nn.ReLU(), tf_lrn(), tf_same_maxpool(),  # 12 -> 6
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),                        # 64 * 6 * 6 = 2304
            nn.Linear(64 * 6 * 6, 384), nn.ReLU(),
            nn.Linear(384, 192), nn.ReLU(),
            nn.Linear(192, classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


# --------------------------------------------------------------------------------------------
# 004: Chainer examples/cifar/models/VGG.py
# --------------------------------------------------------------------------------------------

class Block(nn.Sequential):
    """Chainer's Block: conv 3x3 pad 1 without bias -> BatchNorm -> ReLU."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
            chainer_bn2d(out_channels),
            nn.ReLU(),
        )


class VGG(nn.Module):
    """Chainer's CIFAR VGG. Within each group a dropout follows every conv block except the last
    (0.3 in the first group, 0.4 elsewhere), then a 2x2 max-pool; the head is dropout 0.5 ->
    fc 512 (no bias) -> BN -> ReLU -> dropout 0.5 -> fc classes. In Chainer's file fc2 is also
    `nobias=True`, so the last Linear has no bias here either."""

    GROUPS = ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512))

    def __init__(self, classes: int = 100):
        super().__init__()
        layers: list[nn.Module] = []
        in_channels = 3
        for group_index, group in enumerate(self.GROUPS):
            ratio = 0.3 if group_index == 0 else 0.4
            for i, out_channels in enumerate(group):
                layers.append(Block(in_channels, out_channels))
                if i < len(group) - 1:
                    layers.append(nn.Dropout(ratio))
                in_channels = out_channels
            layers.append(nn.MaxPool2d(2, 2))    # 32 -> 16 -> 8 -> 4 -> 2 -> 1
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(0.5),
            nn.Linear(512, 512, bias=False),
            chainer_bn1d(512),
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.Linear(512, classes, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


# --------------------------------------------------------------------------------------------
# 000: Recurrent convolutional network (RCNN) for SVHN, as in the Chainer blog post
# --------------------------------------------------------------------------------------------

class RCL(nn.Module):
    """Recurrent convolutional layer: ff = conv_ff(x); rf = ff; T-1 times rf = conv_r(rf) + ff;
    relu(rf). (The post recomputed conv_ff(x) in every step; the value is the same.)"""

    def __init__(self, steps: int, channels: int):
        super().__init__()
        self.steps = steps
        self.conv_r = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv_ff = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ff = self.conv_ff(x)
        rf = ff
        for _ in range(1, self.steps):
            rf = self.conv_r(rf) + ff
        return torch.relu(rf)


def chainer_cover_all_maxpool() -> nn.MaxPool2d:
    # Chainer max_pooling_2d(x, 3, 2) defaults to cover_all=True: 32 -> 16 -> 8.
    return nn.MaxPool2d(3, 2, ceil_mode=True)


class RCNN(nn.Module):
    """RCNN(T, K, C): conv1 5x5 pad 2 -> relu -> BN -> pool -> dropout; RCL -> BN -> dropout;
    RCL -> BN -> pool -> dropout; RCL -> BN -> dropout; RCL -> BN; max over the channel axis
    (the post's `F.max(rhc5, axis=1)`, giving 8x8 = 64 features) -> linear C (logits)."""

    PARAMETERS = 1_192_330

    def __init__(self, steps: int = 4, channels: int = 128, classes: int = 10):
        super().__init__()
        k = channels
        self.conv1 = nn.Conv2d(3, k, 5, padding=2)
        self.bn1 = chainer_bn2d(k)
        self.pool1 = chainer_cover_all_maxpool()
        self.rcl2, self.bn2 = RCL(steps, k), chainer_bn2d(k)
        self.rcl3, self.bn3 = RCL(steps, k), chainer_bn2d(k)
        self.pool3 = chainer_cover_all_maxpool()
        self.rcl4, self.bn4 = RCL(steps, k), chainer_bn2d(k)
        self.rcl5, self.bn5 = RCL(steps, k), chainer_bn2d(k)
        self.dropout = nn.Dropout(0.5)
        self.l6 = nn.Linear(8 * 8, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.dropout(self.pool1(self.bn1(torch.relu(self.conv1(x)))))   # 32 -> 16
        h = self.dropout(self.bn2(self.rcl2(h)))
        h = self.dropout(self.pool3(self.bn3(self.rcl3(h))))                # 16 -> 8
        h = self.dropout(self.bn4(self.rcl4(h)))
        h = self.bn5(self.rcl5(h))
        h = torch.amax(h, dim=1)                                            # N x 8 x 8
        return self.l6(h.flatten(1))


# --------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ModelSpec:
    name: str
    batch: int                          # the seed's batch size
    input_shape: tuple[int, int, int]   # C, H, W
    classes: int
    build: Callable[..., nn.Module]
    parameters: int | None = None       # expected count, asserted when known


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec("theano-cnn", 100, (3, 32, 32), 10, TheanoCNN),
        ModelSpec("tf-cifar10", 128, (3, 24, 24), 10, TFCifar10, TFCifar10.PARAMETERS),
        ModelSpec("vgg-cifar100", 64, (3, 32, 32), 100, VGG),
        ModelSpec("rcnn-svhn", 64, (3, 32, 32), 10, RCNN, RCNN.PARAMETERS),
    )
}


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters (BatchNorm running statistics are buffers and do not count)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def build_model(name: str, channels: int | None = None) -> tuple[nn.Module, ModelSpec]:
    """Builds `name`; `channels` (16, 64 or 256) sets the conv width of theano-cnn."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
    spec = MODELS[name]
    if channels is not None:
        if name != "theano-cnn":
            raise ValueError("--channels only applies to theano-cnn")
        if channels not in (16, 64, 256):
            raise ValueError("theano-cnn channels must be 16, 64 or 256")
        model = spec.build(channels=channels)
    else:
        model = spec.build()
    if spec.parameters is not None:
        n = count_parameters(model)
        assert n == spec.parameters, f"{name}: {n} parameters, expected {spec.parameters}"
    # Check the shapes end to end (eval mode so BatchNorm accepts a batch of 2).
    model.eval()
    with torch.no_grad():
        out = model(torch.zeros(2, *spec.input_shape))
    assert out.shape == (2, spec.classes), f"{name}: output shape {tuple(out.shape)}"
    model.train()
    return model, spec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", action="store_true", help="print `name parameters` per model")
    args = parser.parse_args()
    if not args.count:
        parser.print_help()
        return
    for name in MODELS:
        model, _ = build_model(name)
        print(name, count_parameters(model))


if __name__ == "__main__":
    main()
