"""Benchmarks of layerscope against a naive peer (`python -m bench.http_bench`)."""
