"""PacGAN's pack: D scores this many rows at once (CTGAN's default). It shapes D and the rows
each worker draws, so params loading checks batches against it and the model config carries it
(its own module: light enough for params loading, and hashed as training code)."""

PAC = 10
