"""Images: digits or a folder of PNG/JPEG, read, sharded, batched, scored and served."""
