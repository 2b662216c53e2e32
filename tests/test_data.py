"""The data generators: shapes, the rules of each task, baselines against their formulas, seeds."""

import numpy as np
import pytest

from tinygrad_rnn import data
from tinygrad_rnn.data import adding, copy as copy_data


# ---------------------------------------------------------------------------------------------
# Adding problem


@pytest.mark.parametrize("form", ["arjovsky", "hochreiter"])
def test_adding_shapes_and_dtype(form):
    x, y = data.adding_problem(7, 30, form=form, rng=0)
    assert x.shape == (7, 30, 2) and y.shape == (7, 1)
    assert x.dtype == np.float32 and y.dtype == np.float32
    x64, _ = data.adding_problem(3, 30, form=form, rng=0, dtype=np.float64)
    assert x64.dtype == np.float64


def test_adding_arjovsky_rules():
    T = 40
    x, y = data.adding_problem(500, T, form="arjovsky", rng=1)
    values, markers = x[..., 0], x[..., 1]
    assert values.min() >= 0.0 and values.max() <= 1.0
    # exactly one marker in each half
    np.testing.assert_array_equal(markers[:, : T // 2].sum(axis=1), 1.0)
    np.testing.assert_array_equal(markers[:, T // 2 :].sum(axis=1), 1.0)
    np.testing.assert_allclose(y[:, 0], (values * markers).sum(axis=1), rtol=1e-6)


def test_adding_hochreiter_rules():
    T = 60
    x, y = data.adding_problem(2000, T, form="hochreiter", rng=2)
    values, markers = x[..., 0], x[..., 1]
    assert values.min() >= -1.0 and values.max() <= 1.0
    marked = markers == 1.0
    np.testing.assert_array_equal(marked.sum(axis=1), 2)
    positions = np.sort(np.argwhere(marked)[:, 1].reshape(-1, 2), axis=1)
    assert positions[:, 0].max() < 10  # X1 among the first ten pairs
    assert positions[:, 1].max() < T // 2  # X2 among the first T/2 - 1 unmarked pairs
    # -1 marks the first and last pair unless the first is X1; zero elsewhere
    assert np.all(markers[:, -1] == -1.0)
    assert np.all((markers[:, 0] == -1.0) | (markers[:, 0] == 1.0))
    assert np.all(np.isin(markers[:, 1:-1], [0.0, 1.0]))
    # when the first pair is marked, its value is 0
    first_marked = markers[:, 0] == 1.0
    assert first_marked.any()
    assert np.all(values[first_marked, 0] == 0.0)
    np.testing.assert_allclose(y[:, 0], 0.5 + (values * marked).sum(axis=1) / 4.0, rtol=1e-6)
    assert y.min() >= 0.0 and y.max() <= 1.0


@pytest.mark.parametrize("form, constant", [("arjovsky", 1.0), ("hochreiter", 0.5)])
def test_adding_baseline_matches_formula(form, constant):
    # Answering the mean target needs no memory; its MSE, measured, is the formula's.
    _, y = data.adding_problem(200_000, 100, form=form, rng=3, dtype=np.float64)
    measured = np.mean((y - constant) ** 2)
    formula = data.adding_baseline_mse(form, T=100)
    assert measured == pytest.approx(formula, rel=0.01)
    # and no other constant does better (the mean is the minimiser)
    assert np.mean((y - y.mean()) ** 2) == pytest.approx(formula, rel=0.01)


def test_adding_baseline_values():
    assert data.adding_baseline_mse("arjovsky") == pytest.approx(0.1667, abs=1e-4)
    # X1 is zeroed with probability 1/10, X2 with probability 0.9/49
    assert data.adding_baseline_mse("hochreiter", T=100) == pytest.approx((0.9 + 1 - 0.9 / 49) / 48)


def test_adding_accuracy():
    target = np.array([[0.5], [0.5], [0.5], [0.5]])
    pred = np.array([0.5, 0.53, 0.545, 0.4])
    assert data.adding_accuracy(pred, target) == 0.5
    with pytest.raises(ValueError, match="3 predictions for 4 targets"):
        data.adding_accuracy(pred[:3], target)


def test_adding_bad_arguments():
    with pytest.raises(ValueError, match="form must be one of"):
        data.adding_problem(2, 10, form="sum")
    with pytest.raises(ValueError, match="T must be a positive integer"):
        data.adding_problem(2, 0)
    with pytest.raises(ValueError, match="needs T >= 6"):
        data.adding_problem(2, 5, form="hochreiter")
    with pytest.raises(TypeError, match="rng must be"):
        data.adding_problem(2, 10, rng="seed")


# ---------------------------------------------------------------------------------------------
# Copy task


def test_copy_layout():
    T = 15
    x, y = data.copy_task(50, T, rng=4)
    assert x.shape == y.shape == (50, T + 20)
    assert x.dtype == y.dtype == np.int64
    symbols = x[:, :10]
    assert symbols.min() >= 1 and symbols.max() <= 8
    np.testing.assert_array_equal(x[:, 10 : 10 + T - 1], copy_data.BLANK)
    np.testing.assert_array_equal(x[:, 10 + T - 1], copy_data.MARKER)
    np.testing.assert_array_equal(x[:, 10 + T :], copy_data.BLANK)
    np.testing.assert_array_equal(y[:, : T + 10], copy_data.BLANK)
    np.testing.assert_array_equal(y[:, T + 10 :], symbols)


def test_copy_baseline_matches_formula():
    # The best memoryless model answers each position with that position's label frequencies.
    # Its cross-entropy, measured on data, is the formula's 10 ln 8 / (T + 20).
    T = 100
    _, y = data.copy_task(20_000, T, rng=5)
    counts = np.stack([(y == k).sum(axis=0) for k in range(copy_data.NUM_CLASSES)], axis=1)
    probs = counts / counts.sum(axis=1, keepdims=True)
    per_step = -np.log(probs[np.arange(y.shape[1]), y]).mean()
    assert per_step == pytest.approx(data.copy_baseline(T), rel=0.01)
    assert data.copy_baseline(100) == pytest.approx(0.1733, abs=1e-4)


def test_copy_shorter_copy_length():
    x, y = data.copy_task(4, 6, rng=0, copy_length=3)
    assert x.shape == (4, 12)
    np.testing.assert_array_equal(y[:, -3:], x[:, :3])
    assert data.copy_baseline(6, copy_length=3) == pytest.approx(3 * np.log(8) / 12)


# ---------------------------------------------------------------------------------------------
# Sequence classification and labelling


def test_temporal_order():
    T = 100
    x, y = data.temporal_order(4000, T, rng=6)
    assert x.shape == (4000, T) and y.shape == (4000,)
    assert np.all(x[:, 0] == 7) and np.all(x[:, -1] == 6)  # E ... B
    relevant = np.isin(x, [4, 5])
    np.testing.assert_array_equal(relevant.sum(axis=1), 2)
    pos = np.argwhere(relevant)[:, 1].reshape(-1, 2)
    assert pos[:, 0].min() >= 10 and pos[:, 0].max() <= 20
    assert pos[:, 1].min() >= 50 and pos[:, 1].max() <= 60
    rows = np.arange(len(x))
    first, second = x[rows, pos[:, 0]], x[rows, pos[:, 1]]
    np.testing.assert_array_equal(y, 2 * (first == 5) + (second == 5))
    # classes are balanced, so chance is ln 4
    freq = np.bincount(y, minlength=4) / len(y)
    assert np.allclose(freq, 0.25, atol=0.03)


def test_delayed_echo():
    x, y = data.delayed_echo(10, 12, delay=3, num_symbols=5, rng=7)
    assert x.shape == y.shape == (10, 12)
    assert x.min() >= 1 and x.max() <= 5
    np.testing.assert_array_equal(y[:, :3], 0)
    np.testing.assert_array_equal(y[:, 3:], x[:, :-3])
    with pytest.raises(ValueError, match="delay"):
        data.delayed_echo(2, 3, delay=3)


def test_running_parity():
    x, y = data.running_parity(5, 9, rng=8)
    for row_x, row_y in zip(x, y):
        expected = [sum(row_x[: t + 1]) % 2 for t in range(9)]
        np.testing.assert_array_equal(row_y, expected)


# ---------------------------------------------------------------------------------------------
# Determinism


@pytest.mark.parametrize(
    "make",
    [
        lambda rng: data.adding_problem(8, 20, form="arjovsky", rng=rng),
        lambda rng: data.adding_problem(8, 20, form="hochreiter", rng=rng),
        lambda rng: data.copy_task(8, 20, rng=rng),
        lambda rng: data.temporal_order(8, 20, rng=rng),
        lambda rng: data.delayed_echo(8, 20, rng=rng),
        lambda rng: data.running_parity(8, 20, rng=rng),
    ],
)
def test_same_seed_same_data(make):
    a = make(11)
    b = make(np.random.default_rng(11))
    c = make(12)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert any(not np.array_equal(u, w) for u, w in zip(a, c))


# ---------------------------------------------------------------------------------------------
# Characters


def test_shipped_text_loads_without_header():
    text = data.load_text("moby_dick")
    assert text.startswith("CHAPTER 1. Loomings.")
    assert "Call me Ishmael." in text
    assert "#" not in text[:200]
    assert 20_000 < len(text) < 100_000
    assert data.available_texts() == ["moby_dick"]
    with pytest.raises(ValueError, match="unknown text 'hamlet'"):
        data.load_text("hamlet")


def test_vocab_round_trip():
    text = data.load_text()
    vocab = data.CharVocab(text)
    assert vocab.chars == sorted(set(text)) and len(vocab) == len(set(text))
    ids = vocab.encode(text[:500])
    assert ids.dtype == np.int64
    assert vocab.decode(ids) == text[:500]
    with pytest.raises(ValueError, match=r"not in the vocabulary: \['~'\]"):
        vocab.encode("a~")
    with pytest.raises(ValueError, match="outside"):
        vocab.decode([len(vocab)])


def test_one_hot():
    ids = np.array([[0, 2], [1, 1]])
    out = data.one_hot(ids, 3)
    assert out.shape == (2, 2, 3) and out.dtype == np.float32
    np.testing.assert_array_equal(out.argmax(-1), ids)
    np.testing.assert_array_equal(out.sum(-1), 1)
    with pytest.raises(ValueError, match="0..2"):
        data.one_hot(np.array([3]), 3)


def test_batchify_and_tbptt_batches_continue_each_stream():
    ids = np.arange(103)
    streams = data.batchify(ids, 4)
    assert streams.shape == (25, 4)
    np.testing.assert_array_equal(streams[:, 1], np.arange(25, 50))  # one contiguous stretch per column
    chunks = list(data.tbptt_batches(streams, 10))
    assert [c[0].shape for c in chunks] == [(10, 4), (10, 4), (4, 4)]
    for inputs, targets in chunks:
        np.testing.assert_array_equal(targets, inputs + 1)  # the next id in each stream
    # chunk j+1 starts where chunk j stopped: stitched together they give the stream again
    stitched = np.concatenate([c[0] for c in chunks] + [chunks[-1][1][-1:]])
    np.testing.assert_array_equal(stitched, streams)


def test_train_val_split():
    train, val = data.train_val_split(np.arange(100), 0.1)
    assert len(train) == 90 and len(val) == 10 and val[0] == 90
    with pytest.raises(ValueError, match="val_fraction"):
        data.train_val_split(np.arange(10), 1.0)
