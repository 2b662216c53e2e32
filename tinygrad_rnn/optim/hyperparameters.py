"""The checks every optimizer runs on its hyperparameters before the first step.

A NaN or infinite learning rate, momentum or epsilon is accepted by arithmetic without a word and
turns every weight into NaN after one step, so each hyperparameter must be a finite real number
in its range. The error names the optimizer, the argument and the value:

    Adam(params, lr=float('nan'))
    ValueError: Adam: invalid learning rate lr=nan (must be a finite number >= 0)
"""

import math
import numbers

# A range: (test, how to say it).
AT_LEAST_0 = (lambda v: v >= 0, ">= 0")
FROM_0_TO_1 = (lambda v: 0 <= v <= 1, "in [0, 1]")
FROM_0_BELOW_1 = (lambda v: 0 <= v < 1, "in [0, 1)")
ANY = (lambda v: True, "")

# PyTorch's words for the arguments it names in its own messages.
_LABELS = {"lr": "learning rate ", "eps": "epsilon ", "betas": "beta parameter "}


def check_hyperparameters(optimizer, values, ranges):
    """Raise for the first of `values` (name -> number, or a tuple of numbers for betas) that is not
    a finite real number in ranges[name]. `optimizer` is the class name used in the message."""
    for name, (within, range_text) in ranges.items():
        value = values[name]
        if name == "betas":
            if not isinstance(value, (tuple, list)) or len(value) != 2:
                raise ValueError(f"{optimizer}: invalid betas {value!r} (two numbers (beta1, beta2), each {range_text})")
            items = [(f"betas[{i}]", v) for i, v in enumerate(value)]
        else:
            items = [(name, value)]
        for label, v in items:
            _check_one(optimizer, name, label, v, within, range_text)


def _check_one(optimizer, name, label, value, within, range_text):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{optimizer}: {label} must be a real number, got {type(value).__name__} {value!r}")
    if not math.isfinite(value) or not within(value):
        rule = "a finite number" + (f" {range_text}" if range_text else "")
        raise ValueError(f"{optimizer}: invalid {_LABELS.get(name, '')}{label}={value!r} (must be {rule})")
