"""Tables: a CSV/Parquet file or an embedded table, read, sharded, batched, scored and served."""
