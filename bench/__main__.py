"""python -m bench [name ...] [--quick] [--clients N] [--doc PATH | --no-doc]: run
benchmarks, record their figures.

Each benchmark writes `bench/results/<name>.md` (the scale benchmarks also their rows of
the targets table, `<name>.targets.json`); then the section of docs/benchmarks.md between the
markers is rewritten with the targets table and every results file, so the figures of
benchmarks not run this time stay. `--quick` runs small sizes into a temporary folder and leaves
the page alone.
The optional benchmarks run only when named (`python -m bench dlt_peer`); their figures are in
the page too.
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

from bench.common import RESULTS, Options, Skipped
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
    "startup",
    "maintenance",
)
OPTIONAL = ("dlt_peer",)
"""Run only when named: dlt_peer installs dlt from PyPI."""
TARGETS_TITLE = "### Targets"
TARGETS_WHAT = (
    "`make bench` (`python -m bench`) runs every benchmark at the sizes below and rewrites this "
    "section; `python -m bench --quick` runs small sizes in a few minutes and leaves this page "
    "alone; `python -m bench replay daily --clients 2000` runs two of them at another size. The "
    "scale benchmarks record their rows of the targets table here. Each figure is one run on "
    "this shared 2-CPU machine while other work was running on it, so wall times are noisy: "
    "compare them with the reference measured in the same benchmark run, and read CPU seconds "
    "beside them."
)
DOC = Path(__file__).parent.parent / "docs" / "benchmarks.md"
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
    files = [results / f"{name}.md" for name in BENCHMARKS + OPTIONAL]
    texts = [targets_section(results)] + [
        f.read_text(encoding="utf-8") for f in files if f.is_file()
    ]
    return "\n".join(text for text in texts if text)


def rewrite_doc(doc: Path, results: str) -> str:
    """Put `results` between the markers; returns what happened, in one line."""
    text = doc.read_text(encoding="utf-8")
    head, start, rest = text.partition(START)
    _, end, tail = rest.partition(END)
    if not (start and end):
        return f"note: {doc} has no {START} ... {END} markers; left it unchanged"
    doc.write_text(f"{head}{START}\n{results}\n{END}{tail}", encoding="utf-8")
    return f"figures written to {RESULTS} and into {doc}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "names",
        nargs="*",
        metavar="name",
        help=f"benchmarks to run (default: {', '.join(BENCHMARKS)}; optional: "
        f"{', '.join(OPTIONAL)})",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small sizes, figures into a temporary folder, the page left alone",
    )
    parser.add_argument(
        "--clients",
        type=int,
        help="client count of the 10,000-client benchmarks (replay, daily)",
    )
    parser.add_argument(
        "--doc",
        type=Path,
        default=DOC,
        metavar="PATH",
        help="the page whose section between the markers is rewritten "
        "(default: docs/benchmarks.md)",
    )
    parser.add_argument("--no-doc", action="store_true", help="leave the page alone")
    parser.add_argument(
        "--doc-only",
        action="store_true",
        help="run nothing: rewrite the page's section from the results files",
    )
    args = parser.parse_args(argv)
    known = BENCHMARKS + OPTIONAL
    unknown = sorted(set(args.names) - set(known))
    if unknown:
        parser.error(f"no benchmark {', '.join(unknown)}; choose from {', '.join(known)}")
    # Warnings only: the pipeline's progress and retry lines would interleave with the tables.
    logging.basicConfig(level=logging.WARNING)
    failed = []
    with tempfile.TemporaryDirectory(prefix="bench-quick-") as tmp:
        results = Path(tmp) if args.quick else RESULTS
        options = Options(quick=args.quick, clients=args.clients, results=results)
        for name in [] if args.doc_only else args.names or BENCHMARKS:
            try:
                print(run_benchmark(name, options, results), flush=True)
            except Skipped as why:  # not a failure: this machine cannot run it
                print(f"== {name} skipped: {why}", file=sys.stderr, flush=True)
            except Exception:  # the other benchmarks still run; the figures it had stay
                traceback.print_exc()
                failed.append(name)
        print(targets_section(results), flush=True)
    if not (args.no_doc or args.quick):
        print(rewrite_doc(args.doc, all_results()), file=sys.stderr)
    if failed:
        print(f"failed: {', '.join(failed)} (their previous figures were kept)", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
