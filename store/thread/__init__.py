"""The digital thread in the store: staged syncs, validated commits, rows, and the cached columnar
index."""
