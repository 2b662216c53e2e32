"""The part of the tape behind some output tensors, in forward order, for drawing.

The tape only points backwards: a tensor knows the op that made it (`tensor._ctx`), an op knows
its input tensors (`fn.inputs`). Walking back from the outputs reaches every op and tensor that
contributed to them; the walk is iterative (an explicit stack), so a 10,000-step graph is fine.

Things are listed in forward order (every op after the ops that made its inputs), numbered in
the order the walk finds them. The numbers depend only on the graph's structure and the order
of each op's inputs, never on memory addresses, so the same graph always gets the same numbers
(and the same DOT text).
"""

import heapq

import numpy as np


class TapeView:
    """The tensors and ops reachable from `outputs`.

    tensors:   every tensor met (op results and leaves), in forward order
    ops:       every op node met, in forward order
    order:     both, interleaved in forward order, as ('tensor', t) and ('op', fn) pairs
    produced:  id(op) -> the op's output tensors that were met, by output index
    consumers: id(tensor) -> [(op, input index), ...], every use of the tensor in the graph
    outputs:   the ids of the tensors the walk started from

    Forward order runs time step by time step: among the ops whose inputs are ready, the one of
    the earliest step goes first (ops outside any step as early as they can), so step 0's ops
    get the smallest numbers; a leaf comes just before its first use.
    """

    def __init__(self, outputs):
        self.outputs = {id(t) for t in outputs}
        self.produced = {}
        self.consumers = {}
        found = self._walk(outputs)
        self.tensors, self.ops, self.order = [], [], []
        self.tensor_number, self.op_number = {}, {}
        self._sort(found, outputs)

    def _walk(self, outputs):
        """Every op behind `outputs`, inputs before consumers (an iterative depth-first walk)."""
        seen, found = set(), []
        stack = [(t, False) for t in reversed(outputs)]
        while stack:
            tensor, inputs_done = stack.pop()
            fn = tensor._ctx
            if inputs_done:
                if fn is not None and id(fn) not in self.produced:
                    self.produced[id(fn)] = []
                    found.append(fn)
                    for k, t in enumerate(fn.inputs):
                        self.consumers.setdefault(id(t), []).append((fn, k))
                if fn is not None:
                    self.produced[id(fn)].append(tensor)
                continue
            if id(tensor) in seen:
                continue
            seen.add(id(tensor))
            stack.append((tensor, True))
            if fn is not None and id(fn) not in seen:
                # The first output of an op that the walk meets expands the op's inputs.
                seen.add(id(fn))
                for t in reversed(fn.inputs):
                    stack.append((t, False))
        for made in self.produced.values():
            made.sort(key=lambda t: t._index)
        return found

    def _sort(self, found, outputs):
        """Kahn's algorithm over `found`, ready ops taken by (time step, walk order)."""
        walk_index = {id(fn): i for i, fn in enumerate(found)}
        waiting = {}  # id(op) -> how many of its input-making ops have not been placed yet
        for fn in found:
            makers = {id(t._ctx) for t in fn.inputs if t._ctx is not None}
            waiting[id(fn)] = len(makers)
        ready = [(_step_key(fn), walk_index[id(fn)], fn) for fn in found if waiting[id(fn)] == 0]
        heapq.heapify(ready)
        while ready:
            _, _, fn = heapq.heappop(ready)
            for t in fn.inputs:
                if t._ctx is None:
                    self._place_tensor(t)
            self.op_number[id(fn)] = len(self.ops)
            self.ops.append(fn)
            self.order.append(("op", fn))
            users = {}  # each op using any output of fn, once: fn counts once in its `waiting`
            for t in self.produced[id(fn)]:
                self._place_tensor(t)
                for user, _ in self.consumers.get(id(t), []):
                    users[id(user)] = user
            for key, user in users.items():
                waiting[key] -= 1
                if waiting[key] == 0:
                    heapq.heappush(ready, (_step_key(user), walk_index[key], user))
        for t in outputs:  # an output that is itself a leaf
            self._place_tensor(t)

    def _place_tensor(self, tensor):
        if id(tensor) not in self.tensor_number:
            self.tensor_number[id(tensor)] = len(self.tensors)
            self.tensors.append(tensor)
            self.order.append(("tensor", tensor))

    def uses(self, tensor):
        return self.consumers.get(id(tensor), [])


def _step_key(fn):
    """Ops of step t sort by t; ops outside any step (or with a non-integer step) come first."""
    step = fn.step
    if isinstance(step, (int, np.integer)) and not isinstance(step, bool):
        return int(step)
    return -1
