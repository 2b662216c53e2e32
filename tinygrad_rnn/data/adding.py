"""The adding problem: remember two marked numbers across a long sequence and add them.

Each time step carries a pair (value, marker). Exactly two steps are marked; the target, given
only after the last step, depends on the two marked values. A network that cannot carry
information over T steps can do no better than a constant guess, whose error is the baseline.

Two forms are in use:

- `form='hochreiter'` (Hochreiter & Schmidhuber 1997, experiment 4): values ~ U[-1, 1];
  markers 1.0 on two pairs, -1.0 on the first and last pair (when unmarked), 0.0 elsewhere.
  X1 is one of the first 10 pairs, X2 one of the first T/2 - 1 still unmarked pairs; when the
  first pair of the sequence is marked, its value is set to 0. Target 0.5 + (X1 + X2) / 4, in [0, 1]. A sequence counts
  as solved when |error| < 0.04. (The paper draws lengths from [T, T + T/10]; here every sequence
  has length exactly T, so that a batch is one array.)
- `form='arjovsky'` (Arjovsky, Shah & Bengio 2016, and most papers since): values ~ U[0, 1];
  one marker 1.0 in each half of the sequence; target X1 + X2. Always answering 1 gives
  MSE 1/6 = 0.167.

Arrays are batch first: x is (n, T, 2), y is (n, 1); pass `batch_first=True` to a layer, or
`x.transpose(1, 0, 2)` for time first.
"""

import numpy as np

from ._rng import as_generator, check_positive

FORMS = ("arjovsky", "hochreiter")

# Hochreiter & Schmidhuber 1997 pick X1 among the first ten pairs.
HOCHREITER_FIRST_WINDOW = 10
# ... and call a sequence processed correctly when the absolute error at its end is below this.
HOCHREITER_TOLERANCE = 0.04


def adding_problem(n, T, form="arjovsky", rng=None, dtype=np.float32):
    """`n` sequences of length `T`: returns (x, y), x of shape (n, T, 2), y of shape (n, 1)."""
    check_positive("adding_problem", n=n, T=T)
    rng = as_generator(rng)
    if form == "arjovsky":
        x, y = _arjovsky(n, T, rng)
    elif form == "hochreiter":
        x, y = _hochreiter(n, T, rng)
    else:
        raise ValueError(f"adding_problem: form must be one of {FORMS}, got {form!r}")
    return x.astype(dtype), y.astype(dtype)


def _arjovsky(n, T, rng):
    if T < 2:
        raise ValueError(f"adding_problem: form 'arjovsky' needs T >= 2 (a marker in each half), got T={T}")
    half = T // 2
    rows = np.arange(n)
    values = rng.uniform(0.0, 1.0, size=(n, T))
    markers = np.zeros((n, T))
    first = rng.integers(0, half, size=n)  # one marker in [0, T/2)
    second = rng.integers(half, T, size=n)  # the other in [T/2, T)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    y = values[rows, first] + values[rows, second]
    return np.stack([values, markers], axis=-1), y[:, None]


def _hochreiter(n, T, rng):
    window = T // 2 - 1  # X2 is one of the first T/2 - 1 pairs that are still unmarked
    if window < 2:
        raise ValueError(f"adding_problem: form 'hochreiter' needs T >= 6, got T={T}")
    first_window = min(HOCHREITER_FIRST_WINDOW, window)
    rows = np.arange(n)
    values = rng.uniform(-1.0, 1.0, size=(n, T))
    markers = np.zeros((n, T))
    markers[:, 0] = -1.0
    markers[:, -1] = -1.0
    first = rng.integers(0, first_window, size=n)
    # Position k among the unmarked pairs is k itself before `first`, k + 1 after it.
    k = rng.integers(0, window, size=n)
    second = np.where(k < first, k, k + 1)
    values[(first == 0) | (second == 0), 0] = 0.0  # the paper's rule when the first pair is marked
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    y = 0.5 + (values[rows, first] + values[rows, second]) / 4.0
    return np.stack([values, markers], axis=-1), y[:, None]


def adding_baseline_mse(form="arjovsky", T=100):
    """The MSE of the best constant answer, which needs no memory at all.

    arjovsky: answer E[X1 + X2] = 1; the error is Var(X1) + Var(X2) = 2 * 1/12 = 1/6.
    hochreiter: answer 0.5; the error is (E[X1^2] + E[X2^2]) / 16. A marked value is U[-1, 1]
    (second moment 1/3) unless it sits on the first pair, where it is 0: X1 does with probability
    1/w (w = 10 candidates), X2 with probability (1 - 1/w) / (T/2 - 1).
    """
    if form == "arjovsky":
        return 1.0 / 6.0
    if form == "hochreiter":
        window = T // 2 - 1
        first_window = min(HOCHREITER_FIRST_WINDOW, window)
        x1_zero = 1.0 / first_window
        x2_zero = (1.0 - x1_zero) / window
        return ((1.0 - x1_zero) + (1.0 - x2_zero)) / 3.0 / 16.0
    raise ValueError(f"adding_baseline_mse: form must be one of {FORMS}, got {form!r}")


def adding_accuracy(pred, target, tolerance=HOCHREITER_TOLERANCE):
    """The share of sequences whose answer is within `tolerance` of the target (|error| < 0.04)."""
    pred = np.asarray(pred, dtype=np.float64).reshape(-1)
    target = np.asarray(target, dtype=np.float64).reshape(-1)
    if pred.shape != target.shape:
        raise ValueError(f"adding_accuracy: {pred.shape[0]} predictions for {target.shape[0]} targets")
    return float(np.mean(np.abs(pred - target) < tolerance))
