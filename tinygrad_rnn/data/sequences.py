"""Small synthetic sequence tasks for the two uses the RNN literature starts from.

- Sequence classification (many-to-one): read the whole sequence, give one label at the end.
  `temporal_order` is Hochreiter & Schmidhuber's (1997, experiment 6a) temporal order problem,
  also used by Pascanu et al. 2013: the class is the order in which two relevant symbols
  (X or Y) appeared among distractors. Chance: cross-entropy ln 4 = 1.386, accuracy 25%.
- Sequence labelling (many-to-many): one label per time step. `delayed_echo` asks for the
  symbol seen `delay` steps ago; `running_parity` for the parity of the ones seen so far.

Inputs are integer symbols, batch first: x (n, T); turn them into vectors with
`tinygrad_rnn.data.one_hot(x, num_classes)`. Labels are int64: (n,) or (n, T).
"""

import numpy as np

from ._rng import as_generator, check_positive

# Symbols of the temporal order problem: four distractors, the two relevant symbols, and the
# start and end markers (Hochreiter & Schmidhuber 1997: a sequence starts with E, ends with B).
TEMPORAL_ORDER_SYMBOLS = ("a", "b", "c", "d", "X", "Y", "B", "E")
TEMPORAL_ORDER_CLASSES = ("XX", "XY", "YX", "YY")  # the paper's classes Q, R, S, U
_X, _Y, _B, _E = 4, 5, 6, 7


def temporal_order(n, T=100, rng=None):
    """`n` sequences of length `T` (x: (n, T) int64 over 8 symbols) and their classes (y: (n,)).

    The first relevant symbol sits at t1 in [T/10, T/5], the second at t2 in [T/2, 3T/5]
    (t1 in 10..20, t2 in 50..60 at T = 100, as in the paper, which also varies the length a
    little; here every sequence has length T). Class = 2 * [first is Y] + [second is Y].
    """
    check_positive("temporal_order", n=n, T=T)
    if T < 10:
        raise ValueError(f"temporal_order: T must be at least 10, got {T}")
    rng = as_generator(rng)
    rows = np.arange(n)
    x = rng.integers(0, 4, size=(n, T))  # distractors a, b, c, d
    x[:, 0] = _E
    x[:, -1] = _B
    t1 = rng.integers(T // 10, T // 5 + 1, size=n)
    t2 = rng.integers(T // 2, (3 * T) // 5 + 1, size=n)
    first_is_y = rng.integers(0, 2, size=n)
    second_is_y = rng.integers(0, 2, size=n)
    x[rows, t1] = _X + first_is_y
    x[rows, t2] = _X + second_is_y
    y = 2 * first_is_y + second_is_y
    return x.astype(np.int64), y.astype(np.int64)


def delayed_echo(n, T, delay=3, num_symbols=4, rng=None):
    """Label each step with the symbol seen `delay` steps earlier (x, y: (n, T) int64).

    Symbols are 1..num_symbols; the first `delay` steps, which have nothing to echo, are labelled
    0. A memoryless model can only guess: cross-entropy ln(num_symbols) on the echo steps.
    """
    check_positive("delayed_echo", n=n, T=T, delay=delay, num_symbols=num_symbols)
    if delay >= T:
        raise ValueError(f"delayed_echo: delay ({delay}) must be smaller than T ({T})")
    rng = as_generator(rng)
    x = rng.integers(1, num_symbols + 1, size=(n, T)).astype(np.int64)
    y = np.zeros((n, T), dtype=np.int64)
    y[:, delay:] = x[:, :-delay]
    return x, y


def running_parity(n, T, rng=None):
    """Bits in, and at each step the parity of the ones seen so far (x, y: (n, T) int64)."""
    check_positive("running_parity", n=n, T=T)
    rng = as_generator(rng)
    x = rng.integers(0, 2, size=(n, T)).astype(np.int64)
    y = np.cumsum(x, axis=1) % 2
    return x, y.astype(np.int64)
