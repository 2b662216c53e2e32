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
