"""Tables: the row transformer, CTGAN's networks, training-by-sampling, row sampling, metrics."""
