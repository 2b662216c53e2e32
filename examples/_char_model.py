"""The character model that char_lm.py and lstm_variants.py share, and its evaluation."""

import tinygrad_rnn as tg
import tinygrad_rnn.functional as F
from tinygrad_rnn import data, nn


class CharModel(nn.Module):
    """One-hot characters -> a recurrent layer -> logits over the vocabulary, at every step.

    `rnn` is any time-first recurrent layer with hidden size `hidden` (nn.RNN, nn.LSTM with any
    variant, nn.GRU, or nn.make_layer(kind, vocab_size, hidden)).
    """

    def __init__(self, rnn, vocab_size, hidden):
        super().__init__()
        self.vocab_size = vocab_size
        self.rnn = rnn
        self.head = nn.Linear(hidden, vocab_size)

    def forward(self, ids, state=None):
        """ids (k, B) -> logits (k*B, V) and the final state."""
        out, state = self.rnn(tg.Tensor(data.one_hot(ids, self.vocab_size)), state)
        k, B, H = out.shape
        return self.head(out.reshape(k * B, H)), state


def evaluate(model, streams, seq_len):
    """Mean cross-entropy (nats per character) over the streams, state carried across chunks."""
    total, count, state = 0.0, 0, None
    with tg.no_grad():
        for inputs, targets in data.tbptt_batches(streams, seq_len):
            logits, state = model(inputs, state)
            total += F.cross_entropy(logits, targets.reshape(-1)).item() * targets.size
            count += targets.size
    return total / count
