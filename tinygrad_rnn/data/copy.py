"""The copy task (Arjovsky, Shah & Bengio 2016): read 10 symbols, wait T steps, write them back.

Alphabet of 10 categories: 0 is the blank, 1..8 are the symbols to remember, 9 is the marker.
An input sequence has length T + 20:

    10 symbols drawn from 1..8 | T - 1 blanks | the marker | 10 blanks

and the target is T + 10 blanks followed by the 10 symbols, in order. A network with no memory
can still learn to answer "blank" for the first T + 10 steps and to guess uniformly among the 8
symbols for the last 10, which costs 10 ln 8 / (T + 20) nats per step on average (0.173 at
T = 100). Beating that number is the sign that something was carried across the T steps.

Arrays are batch first and hold integer categories: x and y are (n, T + 20); `one_hot` in
`tinygrad_rnn.data.text` turns x into network input.
"""

import numpy as np

from ._rng import as_generator, check_positive

BLANK = 0
MARKER = 9
NUM_SYMBOLS = 8  # the symbols are 1..8
NUM_CLASSES = 10  # blank, 8 symbols, marker
COPY_LENGTH = 10


def copy_task(n, T, rng=None, copy_length=COPY_LENGTH):
    """`n` sequences with a delay of `T`: returns (x, y), both int64 of shape (n, T + 2*copy_length)."""
    check_positive("copy_task", n=n, T=T, copy_length=copy_length)
    rng = as_generator(rng)
    length = T + 2 * copy_length
    symbols = rng.integers(1, NUM_SYMBOLS + 1, size=(n, copy_length))
    x = np.full((n, length), BLANK, dtype=np.int64)
    y = np.full((n, length), BLANK, dtype=np.int64)
    x[:, :copy_length] = symbols
    x[:, copy_length + T - 1] = MARKER  # after the T - 1 blanks
    y[:, -copy_length:] = symbols
    return x, y


def copy_baseline(T, copy_length=COPY_LENGTH):
    """Cross-entropy per step (nats) of the best memoryless answer: copy_length * ln 8 / length."""
    check_positive("copy_baseline", T=T, copy_length=copy_length)
    return copy_length * np.log(NUM_SYMBOLS) / (T + 2 * copy_length)
