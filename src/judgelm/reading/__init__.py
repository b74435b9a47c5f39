"""The reading judge (``--judge lm``): an LM's likelihood of each answer with and without the
question (PMI), combined with length and the built-in judge's score by a small antisymmetric head."""
