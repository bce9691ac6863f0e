"""python -m bench [name ...] [--quick] [--clients N] [--readme PATH | --no-readme]: run
benchmarks, record their figures.

Each benchmark writes `bench/results/<name>.md` (the scale benchmarks also their rows of issue
8's targets table, `<name>.targets.json`); then the README's section between the markers is
rewritten with the targets table and every results file, so the figures of benchmarks not run
this time stay. `--quick` runs small sizes into a temporary folder and leaves the README alone.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import logging
import sys
import tempfile
import time
import traceback
from pathlib import Path

from bench.common import RESULTS, Options
from bench.targets import gathered, targets_table

BENCHMARKS = (
    "run_memory",
    "replay",
    "batch_size",
    "daily",
    "resume",
    "channels",
    "concurrency",
    "transform",
    "parse",
    "end_to_end",
)
TARGETS_TITLE = "### Issue 8's targets"
TARGETS_WHAT = (
    "`make bench` (`python -m bench`) runs every benchmark at the sizes below and rewrites this "
    "section; `python -m bench --quick` runs small sizes in a few minutes and leaves the README "
    "alone; `python -m bench replay daily --clients 2000` runs two of them at another size. The "
    "scale benchmarks record their rows of issue 8's targets here. Each figure is one run on "
    "this shared 2-CPU machine while other work was running on it, so wall times are noisy: "
    "compare them with the reference measured in the same benchmark run, and read CPU seconds "
    "beside them."
)
README = Path(__file__).parent.parent / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def run_benchmark(name: str, options: Options, results: Path = RESULTS) -> str:
    print(f"== {name} ...", file=sys.stderr, flush=True)
    began = time.perf_counter()
    run = importlib.import_module(f"bench.{name}").run
    text = run(options) if "options" in inspect.signature(run).parameters else run()
    took = time.perf_counter() - began
    print(f"== {name} took {took:.0f} s", file=sys.stderr, flush=True)
    text += f"\n_This benchmark took {took / 60:.1f} minutes._\n"
    results.mkdir(exist_ok=True)
    (results / f"{name}.md").write_text(text, encoding="utf-8")
    return text


def targets_section(results: Path = RESULTS) -> str:
    rows = gathered(BENCHMARKS, results)
    return f"{TARGETS_TITLE}\n\n{TARGETS_WHAT}\n\n{targets_table(rows)}\n" if rows else ""


def all_results(results: Path = RESULTS) -> str:
    """The targets table, then every results file, in the benchmarks' order (figures not re-run
    this time included)."""
    files = [results / f"{name}.md" for name in BENCHMARKS]
    texts = [targets_section(results)] + [
        f.read_text(encoding="utf-8") for f in files if f.is_file()
    ]
    return "\n".join(text for text in texts if text)


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
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small sizes, figures into a temporary folder, README left alone",
    )
    parser.add_argument(
        "--clients",
        type=int,
        help="client count of the 10,000-client benchmarks (replay, daily)",
    )
    parser.add_argument("--readme", type=Path, default=README, help="README to rewrite")
    parser.add_argument("--no-readme", action="store_true", help="leave the README alone")
    parser.add_argument(
        "--readme-only",
        action="store_true",
        help="run nothing: rewrite the README section from the results files",
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"no benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    # Warnings only: the pipeline's progress and retry lines would interleave with the tables.
    logging.basicConfig(level=logging.WARNING)
    failed = []
    with tempfile.TemporaryDirectory(prefix="bench-quick-") as tmp:
        results = Path(tmp) if args.quick else RESULTS
        options = Options(quick=args.quick, clients=args.clients, results=results)
        for name in [] if args.readme_only else args.names or BENCHMARKS:
            try:
                print(run_benchmark(name, options, results), flush=True)
            except Exception:  # the other benchmarks still run; the figures it had stay
                traceback.print_exc()
                failed.append(name)
        print(targets_section(results), flush=True)
    if not (args.no_readme or args.quick):
        print(rewrite_readme(args.readme, all_results()), file=sys.stderr)
    if failed:
        print(f"failed: {', '.join(failed)} (their previous figures were kept)", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
