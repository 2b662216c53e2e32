"""One rule for randomness in every data generator: pass a seed or a Generator, get the same data."""

import numpy as np


def as_generator(rng):
    """`rng` may be None (a fresh, unseeded generator), an int seed, or a np.random.Generator."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be None, an int seed or a numpy.random.Generator, got {type(rng).__name__}")


def check_positive(owner, **values):
    """Raise a ValueError naming `owner` for any argument that is not a positive integer."""
    for name, value in values.items():
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{owner}: {name} must be a positive integer, got {value!r}")
