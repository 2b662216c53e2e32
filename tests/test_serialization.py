"""save/load: round trips, files NumPy reads without pickle, and errors that name what is wrong."""

import zipfile

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.nn import SerializationError


class TwoLayer(nn.Module):
    def __init__(self, hidden=4):
        super().__init__()
        self.encoder = nn.Linear(3, hidden)
        self.decoder = nn.Linear(hidden, 2)

    def forward(self, x):
        return self.decoder(self.encoder(x).tanh())


def test_round_trip_restores_every_parameter(tmp_path):
    np.random.seed(0)
    model = TwoLayer()
    path = tmp_path / "model.npz"
    tg.save(model, path)
    np.random.seed(1)
    other = TwoLayer()
    assert not np.array_equal(other.encoder.weight.numpy(), model.encoder.weight.numpy())
    assert tg.load(other, path) is other
    for (k, a), (k2, b) in zip(model.named_parameters(), other.named_parameters()):
        assert k == k2
        np.testing.assert_array_equal(a.numpy(), b.numpy())
        assert b.dtype == np.float32
    x = tg.Tensor(np.ones((2, 3), np.float32))
    np.testing.assert_array_equal(model(x).numpy(), other(x).numpy())


def test_the_file_is_a_plain_npz_with_state_dict_keys(tmp_path):
    model = TwoLayer().double()
    path = tmp_path / "weights.pt"  # any name: nothing is appended
    nn.save(model, str(path))
    assert path.exists() and not (tmp_path / "weights.pt.npz").exists()
    with np.load(path, allow_pickle=False) as npz:
        assert sorted(npz.files) == sorted(model.state_dict())
        for k, v in model.state_dict().items():
            assert npz[k].dtype == np.float64
            np.testing.assert_array_equal(npz[k], v)


def test_load_keeps_the_modules_dtype_and_backend(tmp_path, backend):
    model = TwoLayer().double()
    tg.save(model, tmp_path / "m.npz")
    target = TwoLayer().to(backend)  # float32, on `backend`
    tg.load(target, tmp_path / "m.npz")
    for (k, a), b in zip(model.named_parameters(), target.parameters()):
        assert b.dtype == np.float32 and b.backend == backend
        np.testing.assert_allclose(b.numpy(), a.numpy().astype(np.float32), err_msg=k)
    tg.save(target, tmp_path / "from_backend.npz")  # arrays come back to the host to be written
    with np.load(tmp_path / "from_backend.npz", allow_pickle=False) as npz:
        np.testing.assert_array_equal(npz["decoder.bias"], target.decoder.bias.numpy())


def test_missing_and_extra_keys_are_named(tmp_path):
    path = tmp_path / "m.npz"
    np.savez(path, **{"encoder.weight": np.zeros((4, 3)), "encoder.bias": np.zeros(4), "head.weight": np.zeros(2)})
    model = TwoLayer()
    before = model.encoder.weight.numpy().copy()
    with pytest.raises(SerializationError) as info:
        tg.load(model, path)
    message = str(info.value)
    assert "m.npz" in message
    assert "missing keys ['decoder.weight', 'decoder.bias']" in message
    assert "unexpected keys ['head.weight']" in message
    np.testing.assert_array_equal(model.encoder.weight.numpy(), before)  # nothing half-loaded

    tg.load(model, path, strict=False)  # the keys that match are loaded
    np.testing.assert_array_equal(model.encoder.weight.numpy(), np.zeros((4, 3)))


def test_wrong_shapes_are_named(tmp_path):
    tg.save(TwoLayer(hidden=5), tmp_path / "h5.npz")
    with pytest.raises(SerializationError) as info:
        tg.load(TwoLayer(hidden=4), tmp_path / "h5.npz")
    message = str(info.value)
    assert "'encoder.weight': (5, 3) in the file, (4, 3) in the module" in message
    assert "'decoder.weight': (2, 5) in the file, (2, 4) in the module" in message
    assert "'decoder.bias'" not in message  # (2,) fits
    with pytest.raises(SerializationError, match="wrong shapes"):
        tg.load(TwoLayer(hidden=4), tmp_path / "h5.npz", strict=False)


@pytest.mark.parametrize(
    "content",
    [b"", b"this is not an npz file at all", b"PK\x03\x04 truncated zip"],
    ids=["empty", "text", "truncated-zip"],
)
def test_corrupt_files_raise_naming_the_path(tmp_path, content):
    path = tmp_path / "broken.npz"
    path.write_bytes(content)
    with pytest.raises(SerializationError, match=r"broken\.npz.*not a readable \.npz"):
        tg.load(TwoLayer(), path)


def test_damaged_array_inside_the_archive(tmp_path):
    path = tmp_path / "damaged.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("encoder.weight.npy", b"\x93NUMPY garbage header")
    with pytest.raises(SerializationError, match=r"damaged\.npz"):
        tg.load(TwoLayer(), path)


def test_pickled_arrays_are_refused(tmp_path):
    path = tmp_path / "pickled.npz"
    np.savez(path, **{"encoder.weight": np.array([{"a": 1}], dtype=object)})
    with pytest.raises(SerializationError, match=r"pickled\.npz"):
        tg.load(TwoLayer(), path)


def test_a_single_npy_array_is_not_a_model_file(tmp_path):
    path = tmp_path / "one.npy"
    np.save(path, np.zeros((2, 3)))
    with pytest.raises(SerializationError, match=r"one\.npy.*\(2, 3\)"):
        tg.load(TwoLayer(), path)


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.npz"):
        tg.load(TwoLayer(), tmp_path / "nowhere.npz")


# ----------------------------------------------------------------------------------------------
# A failed save leaves the previous checkpoint as it was (issue 10, item 1)


def _checkpoint_then_fail(tmp_path, monkeypatch, error):
    """Save a good checkpoint, then a second save whose writer fails on its second array after the
    first array's bytes went out. Returns the path and the good file's bytes."""
    path = tmp_path / "model.npz"
    tg.save(TwoLayer(), path)
    good = path.read_bytes()
    real_write_array = np.lib.format.write_array
    calls = []

    def failing_write_array(f, array, **kwargs):
        calls.append(array.shape)
        if len(calls) == 2:
            f.write(b"\x93NUMPY partial")
            raise error
        return real_write_array(f, array, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", failing_write_array)
    with pytest.raises(type(error)):
        tg.save(TwoLayer(hidden=40), path)
    monkeypatch.undo()
    assert len(calls) == 2
    return path, good


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), KeyboardInterrupt()],
                         ids=["disk-full", "interrupted"])
def test_failed_save_keeps_the_previous_file_and_no_temporary(tmp_path, monkeypatch, error):
    path, good = _checkpoint_then_fail(tmp_path, monkeypatch, error)
    assert path.read_bytes() == good  # byte-identical
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]  # the temporary file is gone
    tg.load(TwoLayer(), path)  # and it still loads


def test_a_save_to_a_new_name_that_fails_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(np.lib.format, "write_array", lambda *a, **k: (_ for _ in ()).throw(OSError(28, "full")))
    with pytest.raises(OSError):
        tg.save(TwoLayer(), tmp_path / "new.npz")
    assert list(tmp_path.iterdir()) == []


_SIZE_LIMIT_SCRIPT = r"""
import resource, signal, sys
import numpy as np
import tinygrad_rnn as tg
from tinygrad_rnn import nn
path, mode = sys.argv[1], sys.argv[2]
# Python ignores SIGXFSZ, so the write fails with EFBIG and save raises; with the default
# action the signal kills the process midway, as a power cut or `kill -9` would.
signal.signal(signal.SIGXFSZ, signal.SIG_IGN if mode == "ignore-signal" else signal.SIG_DFL)
resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, resource.RLIM_INFINITY))
try:
    tg.save(nn.LSTM(32, 64), path)  # about 100 kB: over the limit
except OSError as exc:
    print("save raised", exc.errno)
    sys.exit(3)
"""


@pytest.mark.parametrize("mode", ["ignore-signal", "killed"])
def test_save_over_a_file_size_limit_keeps_the_previous_file(tmp_path, mode):
    import errno
    import signal
    import subprocess
    import sys

    path = tmp_path / "lstm.npz"
    tg.save(nn.LSTM(8, 16), path)
    good = path.read_bytes()
    run = subprocess.run([sys.executable, "-c", _SIZE_LIMIT_SCRIPT, str(path), mode], capture_output=True, text=True)
    if mode == "ignore-signal":
        assert run.returncode == 3 and f"save raised {errno.EFBIG}" in run.stdout, run.stderr
        assert sorted(p.name for p in tmp_path.iterdir()) == ["lstm.npz"]
    else:
        assert run.returncode == -signal.SIGXFSZ, run.stderr
        # a killed process cannot clean up: its temporary file stays, hidden, beside the target
        assert all(p.name.startswith(".lstm.npz.") for p in tmp_path.iterdir() if p.name != "lstm.npz")
    assert path.read_bytes() == good
    tg.load(nn.LSTM(8, 16), path)


def test_save_replaces_an_existing_file_whole(tmp_path):
    path = tmp_path / "m.npz"
    tg.save(TwoLayer(hidden=40), path)
    np.random.seed(3)
    small = TwoLayer(hidden=2)
    tg.save(small, path)  # shorter than the file it replaces: no stale tail may survive
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]
    loaded = tg.load(TwoLayer(hidden=2), path)
    np.testing.assert_array_equal(loaded.encoder.weight.numpy(), small.encoder.weight.numpy())


# ----------------------------------------------------------------------------------------------
# A file left by a save that failed midway (issue 10, item 2)


@pytest.mark.parametrize("partial", [b"", b"\x93NUMPY", b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_"],
                         ids=["empty-entry", "magic-only", "half-header"])
def test_load_of_a_half_written_archive_names_the_path_and_the_key(tmp_path, partial):
    # What an interrupted save of the old, in-place kind left: ZipFile's `with` wrote the
    # directory on the way out, so the archive opens, but the entry being written is cut short.
    path = tmp_path / "half.npz"
    model = TwoLayer()
    with zipfile.ZipFile(path, "w") as archive:
        with archive.open("encoder.weight.npy", "w") as entry:
            np.lib.format.write_array(entry, model.encoder.weight.numpy())
        with archive.open("encoder.bias.npy", "w") as entry:
            entry.write(partial)
    with pytest.raises(SerializationError) as info:
        tg.load(TwoLayer(), path)
    message = str(info.value)
    assert "half.npz" in message and "'encoder.bias'" in message, message


def test_save_syncs_the_new_file_before_renaming_it_over_the_target(tmp_path, monkeypatch):
    import os

    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def spy_fsync(fd):
        events.append(("fsync", os.path.realpath(f"/proc/self/fd/{fd}") if os.path.exists("/proc/self/fd") else fd))
        real_fsync(fd)

    def spy_replace(src, dst):
        events.append(("replace", os.fspath(src), os.fspath(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", spy_fsync)
    monkeypatch.setattr(os, "replace", spy_replace)
    target = tmp_path / "m.npz"
    tg.save(TwoLayer(), target)
    kinds = [e[0] for e in events]
    assert "replace" in kinds, events
    replaced = events[kinds.index("replace")]
    assert os.path.dirname(replaced[1]) == str(tmp_path) and replaced[2] == str(target)  # same directory
    assert ("fsync", replaced[1]) in events[: kinds.index("replace")] or not os.path.exists("/proc/self/fd")


def test_save_keeps_the_permissions_and_writes_through_a_symlink(tmp_path):
    import os

    real = tmp_path / "real.npz"
    tg.save(TwoLayer(), real)
    os.chmod(real, 0o600)
    link = tmp_path / "latest.npz"
    link.symlink_to(real)
    np.random.seed(5)
    model = TwoLayer()
    tg.save(model, link)
    assert link.is_symlink() and os.readlink(link) == str(real)  # the link still points at the file
    assert (real.stat().st_mode & 0o777) == 0o600
    loaded = tg.load(TwoLayer(), real)
    np.testing.assert_array_equal(loaded.encoder.weight.numpy(), model.encoder.weight.numpy())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest.npz", "real.npz"]
