"""Benchmarks of layerscope (`python -m bench.http_bench`, `bench.load`, `bench.summary_speed`,
`bench.profile_small`) and what they share (stats, processes, machine, clients, plain_torch)."""
