"""python -m bench [name ...] [--readme PATH | --no-readme]: run benchmarks, record their figures.

Each benchmark writes `bench/results/<name>.md`; then the README's section between the markers
is rewritten with every results file, so the figures of benchmarks not run this time stay.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import time
from pathlib import Path

BENCHMARKS = ("concurrency", "transform", "warehouse", "end_to_end")
RESULTS = Path(__file__).parent / "results"
README = Path(__file__).parent.parent / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def run_benchmark(name: str) -> str:
    print(f"== {name} ...", file=sys.stderr, flush=True)
    began = time.perf_counter()
    text = importlib.import_module(f"bench.{name}").run()
    print(f"== {name} took {time.perf_counter() - began:.0f} s", file=sys.stderr, flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.md").write_text(text, encoding="utf-8")
    return text


def all_results() -> str:
    """Every results file, in the benchmarks' order (figures not re-run this time included)."""
    files = [RESULTS / f"{name}.md" for name in BENCHMARKS]
    return "\n".join(f.read_text(encoding="utf-8") for f in files if f.is_file())


def rewrite_readme(readme: Path, results: str) -> str:
    """Put `results` between the markers; returns what happened, in one line."""
    text = readme.read_text(encoding="utf-8")
    head, start, rest = text.partition(START)
    _, end, tail = rest.partition(END)
    if not (start and end):
        return f"note: {readme} has no {START} ... {END} markers; left it unchanged"
    readme.write_text(f"{head}{START}\n{results}\n{END}{tail}", encoding="utf-8")
    return f"figures written to {RESULTS} and into {readme}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "names",
        nargs="*",
        metavar="name",
        help=f"benchmarks to run (default: all): {', '.join(BENCHMARKS)}",
    )
    parser.add_argument("--readme", type=Path, default=README, help="README to rewrite")
    parser.add_argument("--no-readme", action="store_true", help="leave the README alone")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"no benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    # Warnings only: the pipeline's progress and retry lines would interleave with the tables.
    logging.basicConfig(level=logging.WARNING)
    for name in args.names or BENCHMARKS:
        print(run_benchmark(name), flush=True)
    if not args.no_readme:
        print(rewrite_readme(args.readme, all_results()), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
