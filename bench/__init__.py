"""Benchmarks: each module measures one stage and returns a markdown section for
docs/benchmarks.md.

Speed and memory are measured here, never asserted in tests. `python -m bench` runs them all,
`python -m bench concurrency warehouse` some of them; each writes `bench/results/<name>.md`.
"""
