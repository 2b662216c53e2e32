"""Data for the classic recurrent-network experiments, generated with a seed so runs repeat.

- `adding_problem`: two marked numbers to add across T steps (Hochreiter 1997; Arjovsky 2016).
- `copy_task`: ten symbols to write back after a delay of T (Arjovsky 2016).
- `temporal_order`, `delayed_echo`, `running_parity`: many-to-one and many-to-many tasks.
- `load_text`, `CharVocab`, `batchify`, `tbptt_batches`: a character language model's data.

Every generator takes `rng`: None, an int seed, or a numpy.random.Generator.
"""

from .adding import adding_accuracy, adding_baseline_mse, adding_problem
from .copy import copy_baseline, copy_task
from .sequences import (
    TEMPORAL_ORDER_CLASSES,
    TEMPORAL_ORDER_SYMBOLS,
    delayed_echo,
    running_parity,
    temporal_order,
)
from .text import (
    CharVocab,
    available_texts,
    batchify,
    load_text,
    one_hot,
    tbptt_batches,
    train_val_split,
)

__all__ = [
    "adding_problem",
    "adding_baseline_mse",
    "adding_accuracy",
    "copy_task",
    "copy_baseline",
    "temporal_order",
    "delayed_echo",
    "running_parity",
    "TEMPORAL_ORDER_SYMBOLS",
    "TEMPORAL_ORDER_CLASSES",
    "load_text",
    "available_texts",
    "CharVocab",
    "one_hot",
    "batchify",
    "tbptt_batches",
    "train_val_split",
]
