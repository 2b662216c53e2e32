"""Every optimizer refuses a hyperparameter that is not a finite real number in its range, naming
the optimizer, the argument and the value (a NaN learning rate used to turn every weight into NaN
after one step, silently)."""

import inspect
import math
import re

import numpy as np
import pytest
import torch

import tinygrad_rnn as tg
from tinygrad_rnn import optim

OPTIMIZERS = [optim.SGD, optim.Adam, optim.Adagrad, optim.RMSprop]


def params():
    return [tg.Tensor(np.zeros(3), requires_grad=True)]


def numeric_arguments(cls):
    """(name, default) of each number the constructor takes; betas as its two items."""
    found = []
    for name, p in inspect.signature(cls.__init__).parameters.items():
        if isinstance(p.default, bool):
            continue
        if isinstance(p.default, (int, float)):
            found.append(name)
        elif isinstance(p.default, tuple):
            found += [f"{name}[{i}]" for i in range(len(p.default))]
    return found


def with_value(cls, argument, value):
    """Keyword arguments that set `argument` (e.g. 'lr', 'betas[1]') to `value`."""
    if "[" in argument:
        name, index = argument[:-1].split("[")
        items = list(inspect.signature(cls.__init__).parameters[name].default)
        items[int(index)] = value
        return {name: tuple(items)}
    return {argument: value}


CASES = [(cls, arg) for cls in OPTIMIZERS for arg in numeric_arguments(cls)]


def test_every_numeric_argument_is_covered():
    assert {arg for cls, arg in CASES if cls is optim.SGD} == {"lr", "momentum", "dampening", "weight_decay"}
    assert {arg for cls, arg in CASES if cls is optim.Adam} == {"lr", "betas[0]", "betas[1]", "eps", "weight_decay"}
    assert len(CASES) == 4 + 5 + 5 + 5


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("cls,argument", CASES, ids=[f"{c.__name__}-{a}" for c, a in CASES])
def test_non_finite_hyperparameters_are_refused(cls, argument, value):
    with pytest.raises(ValueError) as info:
        cls(params(), **with_value(cls, argument, value))
    message = str(info.value)
    assert message.startswith(f"{cls.__name__}: invalid "), message
    assert f"{argument}={value!r}" in message and "must be a finite number" in message, message


@pytest.mark.parametrize("cls,argument", CASES, ids=[f"{c.__name__}-{a}" for c, a in CASES])
def test_non_numbers_are_refused(cls, argument):
    for value in ("0.1", None, True):
        with pytest.raises(TypeError, match=re.escape(f"{cls.__name__}: {argument} must be a real number")):
            cls(params(), **with_value(cls, argument, value))


def test_the_nan_cases_of_the_issue():
    with pytest.raises(ValueError, match=re.escape("Adam: invalid learning rate lr=nan (must be a finite number >= 0)")):
        optim.Adam(params(), lr=math.nan)
    with pytest.raises(ValueError, match=re.escape("SGD: invalid learning rate lr=nan")):
        optim.SGD(params(), lr=math.nan, momentum=math.nan)
    with pytest.raises(ValueError, match=re.escape("SGD: invalid momentum=nan")):
        optim.SGD(params(), lr=0.1, momentum=math.nan)


# Out of range: each refused by PyTorch too, except those marked stricter.
OUT_OF_RANGE = [
    (optim.SGD, {"lr": -0.1}, "learning rate lr=-0.1", True),
    (optim.SGD, {"momentum": -0.5}, "momentum=-0.5", True),
    (optim.SGD, {"weight_decay": -1e-4}, "weight_decay=-0.0001", True),
    (optim.Adam, {"lr": -1e-3}, "learning rate lr=-0.001", True),
    (optim.Adam, {"betas": (0.9, 1.0)}, "beta parameter betas[1]=1.0", True),
    (optim.Adam, {"betas": (-0.1, 0.999)}, "beta parameter betas[0]=-0.1", True),
    (optim.Adam, {"eps": -1e-8}, "epsilon eps=-1e-08", True),
    (optim.Adagrad, {"lr_decay": -1}, "lr_decay=-1", True),
    (optim.Adagrad, {"initial_accumulator_value": -1}, "initial_accumulator_value=-1", True),
    (optim.RMSprop, {"alpha": -0.1}, "alpha=-0.1", True),
    (optim.RMSprop, {"alpha": 1.5}, "alpha=1.5 (must be a finite number in [0, 1])", False),
    (optim.RMSprop, {"momentum": -0.9}, "momentum=-0.9", True),
]


@pytest.mark.parametrize("cls,kwargs,words,torch_refuses", OUT_OF_RANGE)
def test_out_of_range_hyperparameters_are_refused_like_pytorch(cls, kwargs, words, torch_refuses):
    with pytest.raises(ValueError, match=re.escape(f"{cls.__name__}: invalid {words}")):
        cls(params(), **kwargs)
    torch_cls = getattr(torch.optim, cls.__name__)
    if torch_refuses:
        with pytest.raises(ValueError):
            torch_cls([torch.zeros(3, requires_grad=True)], **kwargs)


def test_adam_wants_two_betas():
    with pytest.raises(ValueError, match=re.escape("Adam: invalid betas (0.9,) (two numbers (beta1, beta2)")):
        optim.Adam(params(), betas=(0.9,))


@pytest.mark.parametrize("cls", OPTIMIZERS)
def test_valid_edge_values_are_accepted(cls):
    for argument in numeric_arguments(cls):
        cls(params(), **with_value(cls, argument, 0))
    cls(params(), lr=np.float32(0.5))  # NumPy scalars are real numbers


@pytest.mark.parametrize("cls", OPTIMIZERS)
def test_load_state_dict_refuses_non_finite_hyperparameters(cls):
    opt = cls(params(), lr=0.01)
    state = opt.state_dict()
    state["hyperparameters"] = dict(state["hyperparameters"], lr=math.nan)
    with pytest.raises(ValueError, match=re.escape(f"{cls.__name__}: invalid learning rate lr=nan")):
        opt.load_state_dict(state)
    assert opt.lr == 0.01  # nothing was applied
    state["hyperparameters"]["lr"] = 0.5
    opt.load_state_dict(state)
    assert opt.lr == 0.5


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("cls,argument", CASES, ids=[f"{c.__name__}-{a}" for c, a in CASES])
def test_hyperparameters_set_after_construction_are_checked(cls, argument, value):
    opt = cls(params(), lr=0.01)
    name = argument.split("[")[0]
    before = getattr(opt, name)
    new = with_value(cls, argument, value)[name]
    with pytest.raises(ValueError) as info:
        setattr(opt, name, new)
    assert str(info.value).startswith(f"{cls.__name__}: invalid ") and f"{argument}={value!r}" in str(info.value)
    assert getattr(opt, name) == before  # nothing was applied
    with pytest.raises(TypeError, match=re.escape(f"{cls.__name__}: {argument} must be a real number")):
        setattr(opt, name, with_value(cls, argument, "0.1")[name])


def test_a_valid_value_set_after_construction_is_taken():
    opt = optim.Adam(params(), lr=0.01)
    opt.lr, opt.betas = 0.5, (0.8, 0.9)
    assert (opt.lr, opt.betas) == (0.5, (0.8, 0.9))
    opt.state_in_a_new_attribute = "anything"  # only hyperparameters are checked
