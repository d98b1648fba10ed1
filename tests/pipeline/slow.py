"""Functions pipeline tests call through ``map_slices`` (``module:function``)."""

from __future__ import annotations

import time

import numpy as np


def slow_double(image: np.ndarray, delay: float = 0.2) -> np.ndarray:
    """Twice the image, slowly (keeps a run busy while another one starts)."""
    time.sleep(delay)
    return image * 2


def negate(image: np.ndarray) -> np.ndarray:
    """The negated image."""
    return -image
