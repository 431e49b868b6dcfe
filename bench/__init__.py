"""Benchmarks comparing geogrid with its peers; run them all with ``python -m bench``."""
