"""The ops: each a `Function` with its forward and backward side by side, one family per file."""
