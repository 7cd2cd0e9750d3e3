"""Tensor types: the shape of one sample (no batch, no dtype).  (C, H, W) for feature maps, (F,) after
flattening."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from math import prod


@dataclass(frozen=True)
class TensorType:
    shape: tuple[int, ...]

    @staticmethod
    def image(channels: int, height: int, width: int) -> "TensorType":
        return TensorType((channels, height, width))

    @staticmethod
    def vector(features: int) -> "TensorType":
        return TensorType((features,))

    @property
    def is_image(self) -> bool:
        return len(self.shape) == 3

    @property
    def channels(self) -> int:
        return self.shape[0]

    @property
    def height(self) -> int:
        return self.shape[1] if self.is_image else 1

    @property
    def width(self) -> int:
        return self.shape[2] if self.is_image else 1

    @property
    def spatial(self) -> tuple[int, int]:
        return (self.height, self.width)

    @cached_property
    def numel(self) -> int:
        return prod(self.shape)

    def __str__(self) -> str:
        return "x".join(str(d) for d in self.shape)
