"""Module.load_state_dict and friends, as a PyTorch user would use them."""

import numpy as np
import pytest
import torch

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.errors import ShapeError
from tinygrad_rnn.nn.serialization import SerializationError


def test_load_state_dict_takes_torch_tensors_and_lists():
    ours, theirs = nn.GRU(3, 5), torch.nn.GRU(3, 5)
    ours.load_state_dict(theirs.state_dict())
    np.testing.assert_array_equal(ours.weight_hh_l0.numpy(), theirs.weight_hh_l0.detach().numpy())
    ours.load_state_dict({k: v.detach().numpy().tolist() for k, v in theirs.state_dict().items()})
    np.testing.assert_allclose(ours.bias_ih_l0.numpy(), theirs.bias_ih_l0.detach().numpy(), rtol=1e-6)


def test_load_state_dict_writes_nothing_when_one_shape_is_wrong():
    model = nn.GRU(3, 5)
    before = {k: v.copy() for k, v in model.state_dict().items()}
    bad = {k: np.ones_like(v) for k, v in before.items()}
    bad["bias_hh_l0"] = np.ones(3)
    with pytest.raises(ShapeError, match=r"bias_hh_l0.*\(3,\).*\(15,\)"):
        model.load_state_dict(bad)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


def test_load_state_dict_copies_in_place_like_torch():
    model = nn.Linear(2, 3)
    state = model.state_dict()
    model.load_state_dict({k: np.zeros_like(v) for k, v in state.items()})
    assert (state["weight"] == 0).all()  # the arrays state_dict() returned were written into


def test_cpu_is_an_alias_for_numpy():
    assert tg.Tensor([1.0]).to("cpu").backend == "numpy"
    assert nn.Linear(2, 2).to("cpu").weight.backend == "numpy"


def test_a_file_that_is_not_a_zip_gets_no_pickle_advice(tmp_path):
    path = tmp_path / "g.npz"
    path.write_bytes(b"hello world" * 10)
    with pytest.raises(SerializationError) as info:
        tg.load(nn.Linear(2, 2), str(path))
    assert "g.npz" in str(info.value) and "pickle" not in str(info.value)


def test_gradcheck_perturbs_non_contiguous_inputs():
    x = tg.Tensor(np.random.default_rng(0).standard_normal((4, 3)).T, requires_grad=True)
    assert not x.data.flags.c_contiguous
    assert tg.gradcheck(lambda x: (x * x).sum(), [x])
