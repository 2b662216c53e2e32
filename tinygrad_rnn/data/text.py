"""Characters as data: a vocabulary, encode/decode, and batches for truncated BPTT.

The project ships one small public-domain text (`load_text('moby_dick')`: the first three chapters
of Melville's Moby-Dick, about 52 KB), enough for a min-char-rnn style model to learn words.

The batching follows the usual recipe for language models trained with truncated BPTT:

1. `batchify(ids, B)` cuts the text into B equal streams, side by side: an array (L, B), time
   first, column b being one contiguous stretch of the text.
2. `tbptt_batches(streams, k)` walks down the streams k steps at a time, giving inputs
   streams[t : t+k] and targets streams[t+1 : t+k+1] (the next character). Chunk j+1 continues
   exactly where chunk j stopped in every column, so the hidden state at the end of one chunk is
   the right initial state for the next one: carry it over, detached from the graph.
"""

from importlib import resources

import numpy as np

from ._rng import check_positive

TEXTS = ("moby_dick",)


def available_texts():
    """Names accepted by `load_text`."""
    return list(TEXTS)


def load_text(name="moby_dick"):
    """The text shipped as tinygrad_rnn/data/<name>.txt, without its '#' header lines."""
    if name not in TEXTS:
        raise ValueError(f"load_text: unknown text {name!r}; available: {list(TEXTS)}")
    raw = resources.files(__package__).joinpath(f"{name}.txt").read_text(encoding="utf-8")
    lines = raw.split("\n")
    start = 0
    while start < len(lines) and lines[start].startswith("#"):
        start += 1  # the header names the source and its licence; it is not part of the text
    while start < len(lines) and not lines[start].strip():
        start += 1
    return "\n".join(lines[start:])


class CharVocab:
    """The sorted set of characters in a text; a character's id is its index in that list."""

    def __init__(self, text):
        if not text:
            raise ValueError("CharVocab: the text is empty")
        self.chars = sorted(set(text))
        self.index = {ch: i for i, ch in enumerate(self.chars)}

    def __len__(self):
        return len(self.chars)

    @property
    def size(self):
        return len(self.chars)

    def encode(self, text):
        """The ids of the characters of `text`, as an int64 array."""
        unknown = sorted(set(text) - set(self.index))
        if unknown:
            raise ValueError(f"CharVocab.encode: characters not in the vocabulary: {unknown}")
        return np.array([self.index[ch] for ch in text], dtype=np.int64)

    def decode(self, ids):
        """The string spelled by `ids` (any iterable of ints)."""
        ids = np.asarray(ids).reshape(-1)
        bad = ids[(ids < 0) | (ids >= len(self.chars))]
        if bad.size:
            raise ValueError(f"CharVocab.decode: ids {bad[:5].tolist()} are outside 0..{len(self.chars) - 1}")
        return "".join(self.chars[i] for i in ids)

    def __repr__(self):
        return f"CharVocab({len(self.chars)} characters)"


def one_hot(ids, num_classes, dtype=np.float32):
    """An array of shape ids.shape + (num_classes,) with a 1 at each id (network input)."""
    ids = np.asarray(ids)
    if ids.size and (ids.min() < 0 or ids.max() >= num_classes):
        raise ValueError(f"one_hot: ids must lie in 0..{num_classes - 1}, got min {ids.min()} max {ids.max()}")
    out = np.zeros(ids.shape + (num_classes,), dtype=dtype)
    np.put_along_axis(out, ids[..., None], 1, axis=-1)
    return out


def train_val_split(ids, val_fraction=0.1):
    """The first (1 - val_fraction) of the ids for training, the rest for validation."""
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"train_val_split: val_fraction must be in [0, 1), got {val_fraction}")
    cut = int(round(len(ids) * (1.0 - val_fraction)))
    return ids[:cut], ids[cut:]


def batchify(ids, batch_size):
    """Cut `ids` into `batch_size` equal contiguous streams: an array (L, batch_size), time first.

    The last len(ids) mod batch_size ids are dropped, so that every stream has the same length.
    """
    check_positive("batchify", batch_size=batch_size)
    ids = np.asarray(ids)
    length = len(ids) // batch_size
    if length < 2:
        raise ValueError(f"batchify: {len(ids)} ids are too few for {batch_size} streams of length >= 2")
    return ids[: length * batch_size].reshape(batch_size, length).T.copy()


def tbptt_batches(streams, seq_len):
    """Yield (inputs, targets), each (k, B) with k <= seq_len, walking down the streams in order.

    targets[t] = inputs[t + 1] along each stream: the next character.
    """
    check_positive("tbptt_batches", seq_len=seq_len)
    streams = np.asarray(streams)
    if streams.ndim != 2:
        raise ValueError(f"tbptt_batches: streams must be (L, B) from batchify, got shape {streams.shape}")
    for start in range(0, streams.shape[0] - 1, seq_len):
        k = min(seq_len, streams.shape[0] - 1 - start)
        yield streams[start : start + k], streams[start + 1 : start + k + 1]
