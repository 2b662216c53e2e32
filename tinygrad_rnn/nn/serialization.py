"""save / load a module's parameters as a .npz file: a zip of one .npy array per state_dict key.

    tinygrad_rnn.save(model, "lstm.npz")
    tinygrad_rnn.load(model, "lstm.npz")      # into a model built the same way

The file holds plain arrays only, written and read with allow_pickle=False, so loading a file
from elsewhere cannot run code; NumPy reads it too: `np.load("lstm.npz", allow_pickle=False)`.
"""

import os
import zipfile
import zlib

import numpy as np

from ..backend import backend_of


class SerializationError(ValueError):
    """A file that is not a .npz of arrays, or whose arrays do not fit the module."""


# What NumPy and zipfile raise on a damaged, truncated or foreign file.
_READ_ERRORS = (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error)


def save(module, path):
    """Write `module.state_dict()` to `path` (exactly that name: no '.npz' is appended)."""
    with zipfile.ZipFile(os.fspath(path), "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, array in module.state_dict().items():
            host = backend_of(array).to_numpy(array)  # CuPy arrays come to the host first
            with archive.open(name + ".npy", "w", force_zip64=True) as entry:
                np.lib.format.write_array(entry, np.ascontiguousarray(host), allow_pickle=False)


def load(module, path, strict=True):
    """Read the arrays in `path` into `module`'s parameters (keeping their dtype and backend);
    returns the module.

    Raises SerializationError naming the path when the file is not a readable .npz, and naming
    the keys when the file has keys the module lacks, lacks keys the module has (both allowed
    with strict=False) or holds an array whose shape differs from the parameter's.
    """
    where = os.fspath(path)
    arrays = _read_npz(where)
    own = module.state_dict()
    missing = [k for k in own if k not in arrays]
    unexpected = [k for k in arrays if k not in own]
    wrong_shapes = [
        f"'{k}': {tuple(arrays[k].shape)} in the file, {tuple(own[k].shape)} in the module"
        for k in own
        if k in arrays and tuple(arrays[k].shape) != tuple(own[k].shape)
    ]
    problems = []
    if strict and missing:
        problems.append(f"missing keys {missing}")
    if strict and unexpected:
        problems.append(f"unexpected keys {unexpected}")
    if wrong_shapes:
        problems.append("wrong shapes " + "; ".join(wrong_shapes))
    if problems:
        raise SerializationError(
            f"load: {where!r} does not fit {type(module).__name__}: " + ", ".join(problems)
        )
    module.load_state_dict(arrays, strict=strict)
    return module


def _read_npz(where):
    """name -> NumPy array, read fully (so the file is closed again), or a SerializationError."""
    if os.path.isfile(where) and not zipfile.is_zipfile(where) and not _is_npy(where):
        # np.load would guess "pickled data" and suggest allow_pickle=True, which we never want.
        raise SerializationError(f"load: {where!r} is not a readable .npz file (it is not a zip archive, which save() writes)")
    try:
        contents = np.load(where, allow_pickle=False)
    except FileNotFoundError:
        raise
    except _READ_ERRORS as exc:
        raise SerializationError(f"load: {where!r} is not a readable .npz file ({exc})") from exc
    if not isinstance(contents, np.lib.npyio.NpzFile):
        raise SerializationError(
            f"load: {where!r} holds a single array of shape {tuple(contents.shape)} (a .npy file), "
            f"not a .npz archive of named arrays as save() writes"
        )
    try:
        with contents:
            return {name: contents[name] for name in contents.files}
    except _READ_ERRORS as exc:
        raise SerializationError(f"load: {where!r} has a damaged array inside ({exc})") from exc


def _is_npy(where):
    with open(where, "rb") as f:
        return f.read(6) == b"\x93NUMPY"
