"""save / load a module's parameters as a .npz file: a zip of one .npy array per state_dict key.

    tinygrad_rnn.save(model, "lstm.npz")
    tinygrad_rnn.load(model, "lstm.npz")      # into a model built the same way

The file holds plain arrays only, written and read with allow_pickle=False, so loading a file
from elsewhere cannot run code; NumPy reads it too: `np.load("lstm.npz", allow_pickle=False)`.

A save never overwrites in place: it writes a temporary file beside the target, flushes it to
disk, then renames it over the target (atomic on POSIX and Windows). A save that fails (disk full,
a size limit, an exception, the process killed) leaves the previous checkpoint as it was.
"""

import os
import secrets
import stat
import zipfile
import zlib

import numpy as np

from ..backend import backend_of


class SerializationError(ValueError):
    """A file that is not a .npz of arrays, or whose arrays do not fit the module."""


# What NumPy and zipfile raise on a damaged, truncated or foreign file.
_READ_ERRORS = (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error)


def save(module, path):
    """Write `module.state_dict()` to `path` (exactly that name: no '.npz' is appended), atomically:
    `path` holds either its previous content or the whole new file, never a mix."""
    target = os.path.realpath(os.fspath(path))  # through a symlink to the file it names, as before
    directory, base = os.path.split(target)
    # Same directory as the target, so the final rename never crosses file systems.
    temporary = os.path.join(directory, f".{base}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            if os.path.isfile(target):  # the new file keeps the old one's permissions
                os.chmod(temporary, stat.S_IMODE(os.stat(target).st_mode))
            _write_npz(module, f)
            f.flush()
            os.fsync(f.fileno())  # the bytes are on disk before the name points at them
        os.replace(temporary, target)
    except BaseException:  # KeyboardInterrupt too: the temporary file is ours to remove
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
    _fsync_directory(directory)


def _write_npz(module, f):
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, array in module.state_dict().items():
            host = backend_of(array).to_numpy(array)  # CuPy arrays come to the host first
            with archive.open(name + ".npy", "w", force_zip64=True) as entry:
                np.lib.format.write_array(entry, np.ascontiguousarray(host), allow_pickle=False)


def _fsync_directory(directory):
    """Make the rename itself durable (POSIX); Windows cannot open a directory, and needs not."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


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
    arrays = {}
    with contents:
        for name in contents.files:
            try:
                value = contents[name]
            except _READ_ERRORS as exc:
                raise SerializationError(f"load: {where!r} has a damaged array {name!r} ({exc})") from exc
            if not isinstance(value, np.ndarray):
                # np.load hands back raw bytes for an entry that is not a whole .npy array, as a
                # save interrupted midway (by an older version, or by another writer) leaves.
                raise SerializationError(
                    f"load: {where!r} has a damaged array {name!r}: its entry holds {len(value)} bytes "
                    f"that are not a .npy array (a save that failed midway leaves such a file)"
                )
            arrays[name] = value
    return arrays


def _is_npy(where):
    with open(where, "rb") as f:
        return f.read(6) == b"\x93NUMPY"
