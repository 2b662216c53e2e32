"""Truncated backpropagation through time (TBPTT).

Backpropagating through a whole long sequence costs memory for every step, and gradients through
hundreds of steps mostly vanish or explode anyway (Pascanu et al., 2013). TBPTT cuts the sequence
into chunks of k steps. The recurrent state still flows forward from chunk to chunk, so the model
sees the whole history, but the graph is cut at every chunk boundary, so gradients reach back at
most k steps:

    state = None
    for x_chunk, y_chunk in chunks:                 # time on axis 0
        output, state = model(x_chunk, state)       # the state carries the past forward ...
        loss = loss_fn(output, y_chunk)
        optimizer.zero_grad(); loss.backward(); optimizer.step()
        state = detach_state(state)                 # ... but the graph behind it is cut here

Without `detach_state`, the second chunk's backward would run on into the first chunk's graph,
whose saved arrays the first backward already released (a GraphError), and with retain_graph the
cost would grow with every chunk. min-char-rnn (Karpathy) trains this way, with k = 25.
`train_tbptt` runs this loop for you.
"""

from ..tensor import Tensor
from .utils import clip_grad_norm_


def detach_state(state):
    """The same state with every Tensor in it detached from the graph: same values, no history.

    Handles what recurrent layers carry: None (no state yet), a Tensor h (RNN, GRU), a tuple
    (h, c) (LSTM), and lists or tuples of these (one state per layer of a hand-built stack).
    """
    if state is None:
        return None
    if isinstance(state, Tensor):
        return state.detach()
    if isinstance(state, tuple):
        return tuple(detach_state(s) for s in state)
    if isinstance(state, list):
        return [detach_state(s) for s in state]
    raise TypeError(
        f"detach_state: a recurrent state is None, a Tensor, or a tuple/list of them; "
        f"got {type(state).__name__}"
    )


def train_tbptt(model, inputs, targets, loss_fn, optimizer, k, state=None, clip_norm=None):
    """One pass of truncated BPTT over a long sequence, in chunks of `k` time steps.

    model:     any callable `output, state = model(x_chunk, state)` with time on axis 0, such as
               nn.RNN, nn.LSTM or nn.GRU (batch_first=False); `state` None means zeros.
    inputs:    a Tensor (T, ...) ; targets: anything `loss_fn` takes, sliced on axis 0 alike.
    loss_fn:   `loss = loss_fn(output_chunk, target_chunk)`, a scalar Tensor (reshape inside it
               if the loss wants (N, C), e.g. `lambda out, y: F.cross_entropy(out.reshape(-1, C), y.reshape(-1))`).
    optimizer: updates the parameters after every chunk; `clip_norm`, if given, first clips their
               gradients with clip_grad_norm_ (Pascanu et al., 2013).
    state:     the state to start from (e.g. the one a previous call returned).

    For each chunk: zero the gradients, run the model from the carried state, backpropagate the
    chunk's loss (so gradients reach back at most k steps), step, detach the state.
    Returns `(losses, state)`: the loss of every chunk as Python floats, and the detached final
    state, to pass to the next call when the sequence goes on (as min-char-rnn does).
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"train_tbptt: k (the chunk length in time steps) must be a positive int, got {k!r}")
    if not isinstance(inputs, Tensor):
        inputs = Tensor(inputs)
    length = inputs.shape[0] if inputs.ndim else 0
    if length == 0:
        raise ValueError(f"train_tbptt: inputs of shape {inputs.shape} has no time steps on axis 0")
    if len(targets) != length:
        raise ValueError(
            f"train_tbptt: inputs have {length} time steps (shape {inputs.shape}) but targets have "
            f"{len(targets)}; both need time on axis 0"
        )
    losses = []
    for start in range(0, length, k):
        x_chunk = inputs[start : start + k]
        y_chunk = targets[start : start + k]
        optimizer.zero_grad()
        output, state = model(x_chunk, state)
        loss = loss_fn(output, y_chunk)
        loss.backward()
        if clip_norm is not None:
            clip_grad_norm_(optimizer.params, clip_norm)
        optimizer.step()
        state = detach_state(state)
        losses.append(float(loss.item()))
    return losses, state
