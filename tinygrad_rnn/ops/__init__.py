"""The ops: each a `Function` with its forward and backward side by side, one family per file.

An op's parameters (the `axis` of a sum, the `exponent` of a power, the `index` of getitem) are
declared on its class, each with a default and a comment saying what it is; `Op.apply(x, axis=1)`
sets them on the node for that call. Arrays that backward needs go in `self.saved`."""
