"""Training and evaluation data as chat rows: sources (hub id, local file, built-in generator), subsets, mixtures."""
