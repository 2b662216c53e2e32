"""What a layer call does to Python's cyclic garbage collector (nn/recurrent.py, _cyclic_gc_paused):
it pauses it while the graph is built, then hands the graph to the oldest generation. These tests
check that nothing the program relies on changes: the collector's switch, objects it froze itself,
and that cycles, made before or during the call, are still collected."""

import gc
import weakref

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn


class Cycle:
    """An object that refers to itself: only the cyclic collector frees it."""

    def __init__(self):
        self.me = self


def _layer_and_input(T=30):
    rng = np.random.default_rng(0)
    layer = nn.LSTM(3, 5, dtype=np.float64)
    x = tg.Tensor(rng.standard_normal((T, 2, 3)), requires_grad=True)
    return layer, x


@pytest.fixture
def collector_on():
    was_enabled = gc.isenabled()
    gc.enable()
    yield
    if not was_enabled:
        gc.disable()


def test_the_collector_is_on_again_after_a_call_and_off_if_it_was_off(collector_on):
    layer, x = _layer_and_input()
    layer(x)
    assert gc.isenabled()
    gc.disable()
    try:
        layer(x)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_graph_skips_the_young_generation(collector_on):
    """Without the hand-over, the young generation would hold every op and tensor of the call
    (thousands), and the first allocation after it would make the collector scan them all."""
    layer, x = _layer_and_input(T=200)
    collections = []

    def record(phase, info):
        if phase == "start":
            collections.append(info["generation"])

    gc.callbacks.append(record)
    try:
        out, _ = layer(x)
        loss = out.sum()
    finally:
        gc.callbacks.remove(record)
    assert 0 not in collections, f"collections of generations {collections} ran during and right after the call"
    assert gc.get_count()[0] < 700
    loss.backward()
    assert x.grad is not None


def test_cycles_made_before_and_during_a_call_are_still_collected(collector_on):
    layer, x = _layer_and_input()
    during = []

    class CycleCell(nn.LSTMCell):
        def step(self, x_proj, state, weights):
            during.append(weakref.ref(Cycle()))
            return super().step(x_proj, state, weights)

    cell_layer = nn.Recurrent(CycleCell, 3, 5, dtype=np.float64)
    out, _ = cell_layer(x)
    out.sum().backward()
    del out
    before = weakref.ref(Cycle())
    layer(x)
    # A cycle made before the call is where the collector would have it: young, not promoted
    # with the graph, so a young collection frees it.
    gc.collect(1)
    assert before() is None
    gc.collect()
    assert during and all(ref() is None for ref in during)


def test_objects_the_program_froze_stay_frozen(collector_on):
    """A program that froze its objects (gc.freeze before fork, to keep pages shared) keeps them
    frozen: the layer then leaves the collector's generations alone."""
    kept = Cycle()
    gc.freeze()
    try:
        assert not any(o is kept for o in gc.get_objects())  # frozen objects are in no generation
        layer, x = _layer_and_input()
        out, _ = layer(x)
        out.sum().backward()
        assert gc.get_freeze_count() > 0
        assert not any(o is kept for o in gc.get_objects()), "the layer unfroze the program's objects"
    finally:
        gc.unfreeze()
