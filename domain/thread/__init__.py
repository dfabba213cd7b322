"""The digital thread: its objects, its columnar tables and the indexes (where-used kernels) over
them."""
