"""Sequences: an embedded set, a long-format table, windows of one series or a .npy array,
read, sharded, batched, scored and served."""
