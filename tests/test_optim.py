"""Optimizers against torch.optim: same start, same model, five steps, float64.

Each step both frameworks compute the gradients of the same small model (Linear, tanh, Linear, MSE)
with their own autograd, then step; the parameters must agree to ~1e-12 after every step.
"""

import numpy as np
import pytest
import torch

import tinygrad_rnn as tg
from tinygrad_rnn import nn, optim
import tinygrad_rnn.functional as F

STEPS = 5

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.1, weight_decay=0.05)),
    ("SGD", dict(lr=0.1, momentum=0.5, weight_decay=0.05, nesterov=True)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.05, betas=(0.8, 0.9), eps=1e-3)),
    ("Adam", dict(lr=0.05, weight_decay=0.1)),
    ("Adam", dict(lr=0.05, betas=(0.9, 0.5), amsgrad=True)),
    ("Adam", dict(lr=0.05, weight_decay=0.1, amsgrad=True)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, lr_decay=0.3)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.1, initial_accumulator_value=0.5)),
    ("Adagrad", dict(lr=0.1, eps=1e-2)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-4)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.1)),
]


class TinyModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 5)
        self.fc2 = nn.Linear(5, 2)

    def forward(self, x):
        return self.fc2(self.fc1(x).tanh())


def _models(seed=0):
    torch.manual_seed(seed)
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2)).double()
    ours = TinyModel().double()
    names = {"0.weight": "fc1.weight", "0.bias": "fc1.bias", "2.weight": "fc2.weight", "2.bias": "fc2.bias"}
    ours.load_state_dict({names[k]: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs, names


def _assert_same_params(ours, theirs, names, step):
    own = dict(ours.named_parameters())
    for k, p in theirs.named_parameters():
        diff = np.abs(own[names[k]].numpy() - p.detach().numpy()).max()
        assert diff < 1e-12, f"after step {step}: {names[k]} differs from torch by {diff:.3g}"


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{kw}" for n, kw in CASES])
def test_matches_torch_over_several_steps(name, kwargs):
    rng = np.random.default_rng(0)
    ours, theirs, names = _models()
    opt_ours = getattr(optim, name)(ours.parameters(), **kwargs)
    opt_theirs = getattr(torch.optim, name)(theirs.parameters(), **kwargs)
    start = {k: p.numpy().copy() for k, p in ours.named_parameters()}
    for step in range(1, STEPS + 1):
        x = rng.standard_normal((4, 3))  # a new batch each step: the gradients change
        y = rng.standard_normal((4, 2))

        opt_ours.zero_grad()
        F.mse_loss(ours(tg.Tensor(x)), tg.Tensor(y)).backward()
        opt_ours.step()

        opt_theirs.zero_grad()
        torch.nn.functional.mse_loss(theirs(torch.tensor(x)), torch.tensor(y)).backward()
        opt_theirs.step()

        _assert_same_params(ours, theirs, names, step)
    moved = max(np.abs(p.numpy() - start[k]).max() for k, p in ours.named_parameters())
    assert moved > 1e-3  # the comparison above compared real updates


@pytest.mark.parametrize("name", ["SGD", "Adam", "Adagrad", "RMSprop"])
def test_parameters_without_grad_are_skipped(name):
    """A parameter that no loss reached (grad None) keeps its value and gets no state, in both."""
    rng = np.random.default_rng(1)
    ours, theirs, names = _models()
    kwargs = dict(lr=0.1, momentum=0.9) if name in ("SGD", "RMSprop") else dict(lr=0.1)
    opt_ours = getattr(optim, name)(ours.parameters(), **kwargs)
    opt_theirs = getattr(torch.optim, name)(theirs.parameters(), **kwargs)
    x = rng.standard_normal((4, 3))
    for step in range(1, 4):
        opt_ours.zero_grad()
        ours.fc1(tg.Tensor(x)).sum().backward()  # fc2 gets no gradient
        opt_ours.step()
        opt_theirs.zero_grad()
        theirs[0](torch.tensor(x)).sum().backward()
        opt_theirs.step()
        _assert_same_params(ours, theirs, names, step)
    assert ours.fc2.weight.grad is None
    index = list(ours.parameters()).index(ours.fc2.weight)
    assert opt_ours.state[index] == {}


@pytest.mark.parametrize("name", ["SGD", "Adam", "Adagrad", "RMSprop"])
def test_updates_in_place_on_the_parameters_backend_and_dtype(backend, name):
    """The same steps on every backend give the same numbers; p.data stays the same array."""
    results = {}
    for where in ("numpy", backend):
        np.random.seed(3)
        layer = nn.Linear(3, 2).to(where)  # float32
        data_before = layer.weight.data
        opt = getattr(optim, name)(layer.parameters(), lr=0.1)
        x = tg.Tensor(np.random.default_rng(2).standard_normal((4, 3)).astype(np.float32), backend=where)
        for _ in range(3):
            opt.zero_grad()
            (layer(x) ** 2).sum().backward()
            opt.step()
        assert layer.weight.data is data_before
        assert layer.weight.backend == where and layer.weight.dtype == np.float32
        results[where] = layer.weight.numpy()
    np.testing.assert_allclose(results[backend], results["numpy"], rtol=1e-6)


def test_zero_grad_sets_grads_to_none():
    layer = nn.Linear(2, 2)
    opt = optim.SGD(layer.parameters(), lr=0.1)
    layer(tg.Tensor([[1.0, 2.0]])).sum().backward()
    assert layer.weight.grad is not None
    opt.zero_grad()
    assert all(p.grad is None for p in layer.parameters())


def test_learning_rate_can_be_changed_between_steps():
    p = tg.Tensor(np.array([1.0]), requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    p.grad = tg.Tensor(np.array([1.0]))
    opt.step()
    opt.lr = 0.01
    opt.step()
    np.testing.assert_allclose(p.numpy(), [1.0 - 0.1 - 0.01], rtol=1e-15)


@pytest.mark.parametrize("name,kwargs", [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=0.1)),
                                         ("Adagrad", dict(lr=0.1)), ("RMSprop", dict(lr=0.1, centered=True))])
def test_state_dict_resumes_training_exactly(name, kwargs):
    rng = np.random.default_rng(4)
    batches = [(rng.standard_normal((4, 3)), rng.standard_normal((4, 2))) for _ in range(4)]

    def train(model, opt, some):
        for x, y in some:
            opt.zero_grad()
            F.mse_loss(model(tg.Tensor(x)), tg.Tensor(y)).backward()
            opt.step()

    straight, _, _ = _models()
    train(straight, getattr(optim, name)(straight.parameters(), **kwargs), batches)

    first, _, _ = _models()
    opt = getattr(optim, name)(first.parameters(), **kwargs)
    train(first, opt, batches[:2])
    saved_opt, saved_model = opt.state_dict(), {k: v.copy() for k, v in first.state_dict().items()}
    train(first, opt, batches[2:3])  # wander off; the resumed copy must not see this

    resumed, _, _ = _models(seed=5)
    resumed.load_state_dict(saved_model)
    opt2 = getattr(optim, name)(resumed.parameters(), lr=123.0)  # hyperparameters come from the state
    opt2.load_state_dict(saved_opt)
    assert opt2.lr == kwargs["lr"]
    train(resumed, opt2, batches[2:])
    for (k, a), b in zip(straight.named_parameters(), resumed.parameters()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)


def test_bad_arguments_raise():
    p = tg.Tensor(np.zeros(2), requires_grad=True)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="single Tensor"):
        optim.Adam(p)
    with pytest.raises(ValueError, match="learning rate"):
        optim.SGD([p], lr=-1.0)
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="betas"):
        optim.Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="not a leaf"):
        optim.SGD([p * 2], lr=0.1)
    with pytest.raises(ValueError, match="twice"):
        optim.SGD([p, p], lr=0.1)
    with pytest.raises(TypeError, match="not a Tensor"):
        optim.SGD([np.zeros(2)], lr=0.1)


def test_optim_imports_on_its_own():
    import importlib
    import subprocess
    import sys

    code = "from tinygrad_rnn import optim; print(optim.SGD.__name__, optim.Adam.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["SGD", "Adam"]
    assert importlib.import_module("tinygrad_rnn.optim").RMSprop is optim.RMSprop
