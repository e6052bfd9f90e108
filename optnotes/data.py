"""Data sets for the network chapter: real handwritten digits, and generated spirals.

The digits are the 8×8 images that scikit-learn ships inside its package
(1,797 images, 10 classes): nothing is downloaded. The spirals are generated
from a seed. Both are split into training and test sets the same way every
time.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from . import _checks


def split(X, y, test_fraction: float = 0.2, seed: int = 0):
    """A seeded shuffle and split: (X_train, y_train, X_test, y_test)."""
    test_fraction = _checks.number(
        "test_fraction", test_fraction, low=0.0, high=1.0, low_open=True, high_open=True
    )
    order = np.random.default_rng(seed).permutation(len(y))
    n_test = max(1, int(round(test_fraction * len(y))))
    test, train = order[:n_test], order[n_test:]
    return X[train], y[train], X[test], y[test]


def digits(test_fraction: float = 0.2, seed: int = 0):
    """scikit-learn's 8×8 digits, pixels scaled to [0, 1], split (seeded)."""
    table = np.loadtxt(_digits_file(), delimiter=",")
    pixels, labels = table[:, :-1], table[:, -1].astype(np.int64)
    return split(pixels / 16.0, labels, test_fraction, seed)


def _digits_file() -> Path:
    """The file ``sklearn.datasets.load_digits`` reads (one image a row, its label
    last), found without importing scikit-learn, which takes a second: a page
    that trains on the digits pays that second every build."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "the digits come with scikit-learn, which is not installed: "
            "pip install scikit-learn (requirements.txt pins it)"
        )
    return Path(spec.submodule_search_locations[0], "datasets", "data", "digits.csv.gz")


def spirals(
    per_class: int = 200,
    classes: int = 3,
    noise: float = 0.2,
    seed: int = 0,
    test_fraction: float = 0.25,
):
    """Interleaved spirals in the plane, one arm per class (seeded), split."""
    per_class = _checks.whole("per_class", per_class, low=2)
    classes = _checks.whole("classes", classes, low=2)
    noise = _checks.non_negative("noise", noise)
    rng = np.random.default_rng(_checks.whole("seed", seed))
    X, y = [], []
    for c in range(classes):
        r = np.linspace(0.05, 1.0, per_class)
        angle = (
            np.linspace(0, 4, per_class)
            + 2 * np.pi * c / classes
            + noise * rng.normal(size=per_class)
        )
        X.append(np.column_stack([r * np.sin(angle), r * np.cos(angle)]))
        y.append(np.full(per_class, c))
    return split(np.concatenate(X), np.concatenate(y).astype(np.int64), test_fraction, seed)
