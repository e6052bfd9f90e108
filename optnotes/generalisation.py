r"""Do adaptive methods generalise worse? The chapter's protocol and Wilson et al.'s example.

Two things, numpy only, pure (the same inputs give the same outputs):

- :func:`tune_and_test`, the measurement: a validation split carved from the
  training set (seeded), each rule's learning rate chosen on it from a grid,
  then the test accuracy of several seeds at the chosen rate;
- :func:`wilson_data`, the linearly separable data of Wilson, Roelofs, Stern,
  Srebro & Recht (2017, §3.3), on which gradient descent from zero finds the
  minimum-norm solution and the adaptive rules a multiple of
  :math:`\operatorname{sign}(X^\top y)`, with :func:`wilson_test_error`, the exact
  error of a weight vector on a new example.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from . import _checks, data, networks

# --- Wilson et al.'s example (2017, §3.3) -------------------------------------


def wilson_data(n: int = 50, p: float = 0.6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    r"""``n`` examples of Wilson et al.'s generative model, as (X, y), seeded.

    Each label is +1 with probability ``p`` and −1 otherwise. Example ``i`` has
    :math:`x_{i1} = y_i`, :math:`x_{i2} = x_{i3} = 1`, and features of its own:
    one for a positive example, five for a negative one, in a block of five
    starting at column :math:`3 + 5i` (counting from 0); every other entry is 0.
    So :math:`d = 3 + 5n > n`: the paper (§3.3) takes :math:`d = 6n`, whose
    last :math:`n - 3` columns the training set never uses (a rule started at
    zero leaves them at zero), so they are left out. The construction needs
    more positive than negative examples (then
    :math:`X \operatorname{sign}(X^\top y) = 4y`, the condition of their
    Lemma 3.1); a draw without raises ``ValueError``. A draw with no negative
    example at all is allowed: there the minimum-norm fit errs too (with
    probability :math:`1 - p`), as the tests check.
    """
    n = _checks.whole("n", n, low=1)
    p = _checks.number("p", p, low=0.5, high=1.0, low_open=True)
    rng = np.random.default_rng(_checks.whole("seed", seed))
    y = np.where(rng.random(n) < p, 1.0, -1.0)
    positives = int(np.sum(y > 0))
    if positives <= n - positives:
        raise ValueError(
            f"seed {seed} drew {positives} positive and {n - positives} negative labels: "
            "the construction needs more positive ones (try another seed, a larger n or p)"
        )
    X = np.zeros((n, 3 + 5 * n))
    X[:, 0] = y
    X[:, 1:3] = 1.0
    for i in range(n):
        own = 1 if y[i] > 0 else 5
        X[i, 3 + 5 * i : 3 + 5 * i + own] = 1.0
    return X, y


def wilson_test_error(w, p: float) -> float:
    r"""The probability that ``w`` misclassifies a new example of the model.

    A new example's own features are new columns, on which any ``w`` fitted to
    the training set is 0, so it is scored :math:`w_1 y + w_2 + w_3`: right for
    a positive example when that is > 0, for a negative one when < 0 (a score
    of exactly 0 counts as an error). Exact, no sampling.
    """
    w = _checks.parameters("w", w)
    p = _checks.number("p", p, low=0.5, high=1.0, low_open=True)
    if w.ndim != 1 or w.size < 3:
        raise ValueError(f"w must be a vector of at least 3 weights, got shape {w.shape}")
    positive_right = w[0] + w[1] + w[2] > 0
    negative_right = -w[0] + w[1] + w[2] < 0
    return float(p * (not positive_right) + (1 - p) * (not negative_right))


# --- The protocol: split, tune on validation, re-run seeds ---------------------


@dataclass(frozen=True)
class Tuned:
    """One rule's measurement: the grid, the validation accuracy of each rate
    (NaN where the run blew up), the rate chosen, and per seed the test
    accuracy and the final training loss at that rate."""

    name: str
    rates: np.ndarray
    val_accuracy: np.ndarray
    rate: float
    seeds: tuple[int, ...]
    test_accuracy: np.ndarray
    train_loss: np.ndarray

    @property
    def at_edge(self) -> bool:
        """Whether the chosen rate is the grid's smallest or largest."""
        return self.rate in (self.rates[0], self.rates[-1])


def _rates(name, rates) -> np.ndarray:
    rates = _checks.parameters(f"the rates of {name}", rates)
    if rates.ndim != 1 or rates.size == 0 or np.any(rates <= 0):
        raise ValueError(f"the rates of {name} must be a list of positive numbers, got {rates}")
    if np.any(np.diff(rates) <= 0):
        raise ValueError(f"the rates of {name} must be increasing, got {rates}")
    return rates


def tune_and_test(
    rules: Mapping[str, tuple[Callable[[float], object], object]],
    network: networks.Network,
    dataset,
    *,
    epochs: int,
    batch_size: int = 32,
    seeds=(0, 1, 2, 3, 4),
    tune_seed: int = 0,
    val_fraction: float = 0.2,
    split_seed: int = 0,
    extend: int = 2,
) -> dict[str, Tuned]:
    """Tune each rule's learning rate on a validation split, then test it over seeds.

    ``rules`` maps a name to ``(make, rates)``: ``make(lr)`` builds the rule,
    ``rates`` is its increasing grid. ``dataset`` is (X_train, y_train, X_test,
    y_test). The steps:

    1. ``data.split`` carves a validation set (``val_fraction`` of the training
       set, shuffled with ``split_seed``) out of the training set; the rest,
       the fitting set, is all that any run trains on.
    2. Each rate of the grid trains one run (seed ``tune_seed``) on the fitting
       set for ``epochs`` epochs; the rate with the highest final validation
       accuracy is chosen (a tie goes to the lower final training loss, then
       to the smaller rate; a run that blew up is never chosen). When the
       chosen rate is the grid's smallest or largest, the grid grows by one
       rate beyond it (the ratio of its two outermost rates), at most
       ``extend`` times, as Wilson et al. (2017, §4) extended theirs.
    3. At that rate, one run per seed in ``seeds`` (each seed sets the initial
       weights and the order of the minibatches) trains on the fitting set;
       its final test accuracy is recorded. The test set is read only here.
    """
    if not isinstance(rules, Mapping) or not rules:
        raise ValueError("rules must be a non-empty dict of name: (make, rates)")
    if not isinstance(network, networks.Network):
        raise ValueError(f"network must be an optnotes.networks.Network, got {network!r}")
    if len(dataset) != 4:
        raise ValueError("dataset must be (X_train, y_train, X_test, y_test)")
    epochs = _checks.whole("epochs", epochs, low=1)
    seeds = tuple(_checks.whole("a seed", s) for s in seeds)
    if len(seeds) < 2 or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be at least two different seeds (a spread), got {seeds}")
    tune_seed = _checks.whole("tune_seed", tune_seed)
    extend = _checks.whole("extend", extend)
    X, y, X_test, y_test = dataset
    X_fit, y_fit, X_val, y_val = data.split(X, y, val_fraction, split_seed)
    checked = {}
    for name, entry in rules.items():
        if not (isinstance(entry, tuple) and len(entry) == 2 and callable(entry[0])):
            raise ValueError(f"rules[{name!r}] must be (make, rates) with make(lr) -> rule")
        checked[name] = (entry[0], _rates(name, entry[1]))
    tune_set, test_set = (X_fit, y_fit, X_val, y_val), (X_fit, y_fit, X_test, y_test)

    def score(make, lr):
        h = networks.train(
            make(float(lr)), network, tune_set, epochs=epochs, batch_size=batch_size, seed=tune_seed
        )
        if h.diverged_at is not None:
            return np.nan, np.inf
        return h.test_accuracy[-1], h.train_loss[-1]

    out = {}
    for name, (make, rates) in checked.items():
        scores = {float(lr): score(make, lr) for lr in rates}
        for _ in range(extend + 1):
            grid = np.array(sorted(scores))
            val = np.array([scores[lr][0] for lr in grid])
            loss = np.array([scores[lr][1] for lr in grid])
            if np.all(np.isnan(val)):
                raise ValueError(f"every rate of {name} blew up: lower its grid")
            # Highest validation accuracy; then lowest training loss; then smallest rate.
            best = np.lexsort((grid, loss, -np.nan_to_num(val, nan=-1.0)))[0]
            if grid.size < 2 or 0 < best < grid.size - 1 or len(scores) == rates.size + extend:
                break
            # The best rate is at an edge of the grid: one more rate beyond it.
            beyond = grid[0] ** 2 / grid[1] if best == 0 else grid[-1] ** 2 / grid[-2]
            scores[float(beyond)] = score(make, beyond)
        rate = float(grid[best])
        test, final_loss = [], []
        for seed in seeds:
            h = networks.train(
                make(rate), network, test_set, epochs=epochs, batch_size=batch_size, seed=seed
            )
            if h.diverged_at is not None:
                raise ValueError(f"{name} at the chosen rate {rate:g} blew up with seed {seed}")
            test.append(h.test_accuracy[-1])
            final_loss.append(h.train_loss[-1])
        out[name] = Tuned(name, grid, val, rate, seeds, np.array(test), np.array(final_loss))
    return out


def paired_difference(a: Tuned, b: Tuned) -> np.ndarray:
    """Per seed, a's test accuracy minus b's (same seeds: the same initial
    weights where the shapes match, and the same order of minibatches)."""
    if a.seeds != b.seeds:
        raise ValueError(f"the two measurements used different seeds: {a.seeds} and {b.seeds}")
    return a.test_accuracy - b.test_accuracy
