"""``copilot eval DATASET`` and ``copilot eval compare A B``: argument parsing and the I/O shell.

Wired into ``copilot/cli.py`` with two lines: ``add_eval_parser(sub)`` in ``_parser()`` and
``if args.command == "eval": return run_eval_command(args)`` in ``main()``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from datetime import datetime
from pathlib import Path

from copilot.errors import CopilotError

__all__ = ["add_eval_parser", "default_out_dir", "run_eval_command"]


def add_eval_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # noqa: SLF001
    """Add ``eval`` (run a dataset) with its ``compare`` form to the ``copilot`` sub-commands."""
    from copilot.evaluation.compare import DEFAULT_TOLERANCE

    p = subparsers.add_parser(
        "eval", help="replay a labelled dataset through the live path and score it "
                     "(or: eval compare A B)",
        description="copilot eval DATASET [options]  |  copilot eval compare A B [--tolerance ...]")
    p.add_argument("dataset", help="dataset folder, manifest or label file; or the word 'compare'")
    p.add_argument("rest", nargs="*", help=argparse.SUPPRESS)  # A B for 'compare'
    p.add_argument("--out", help="output folder (default eval/out/<dataset>-<timestamp>)")
    p.add_argument("--mode", choices=("websocket", "inprocess"), default="websocket",
                   help="websocket: paced at 1x by default (true latency); inprocess: 4x by "
                        "default. Both replay over the loopback websocket to one in-process server")
    p.add_argument("--speed", type=float, help="playback speed (default: 1 for websocket, 4 for "
                                               "inprocess); latencies mean what a rep feels only at 1")
    p.add_argument("--playbooks", help="playbooks directory")
    p.add_argument("--config", help="TOML config file")
    p.add_argument("--limit", type=int, help="run only the first N cases")
    p.add_argument("--only", action="append", default=[], metavar="ID",
                   help="run only this case id (repeatable)")
    p.add_argument("--max-seconds", type=float,
                   help="skip cases whose audio is longer than this (reported as skipped)")
    p.add_argument("--no-offline", action="store_true",
                   help="skip the offline Whisper pass (wer_offline is then null)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--tolerance", action="append", default=[], metavar="[METRIC=]VALUE",
                   help="compare: 'rate=0.02' (absolute, rates), 'relative=0.10' (latency, "
                        f"RTF, RSS), or 'METRIC=VALUE' for one metric (defaults: {DEFAULT_TOLERANCE})")
    return p


def default_out_dir(dataset: str | Path) -> Path:
    """``eval/out/<dataset name>-<YYYYmmdd-HHMMSS>`` under the current folder."""
    name = Path(dataset).stem if Path(dataset).suffix == ".json" else Path(dataset).name
    return Path("eval/out") / f"{name}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


def _settings(args: argparse.Namespace):  # noqa: ANN202 - Settings, imported lazily
    from copilot.config import load_settings

    overrides = {"playbooks_dir": args.playbooks} if args.playbooks else {}
    return load_settings(args.config, **overrides)


def _run(args: argparse.Namespace) -> int:
    from copilot.evaluation.dataset import load_dataset
    from copilot.evaluation.report import write_outputs
    from copilot.evaluation.runner import EvalOptions, run_eval

    dataset = load_dataset(args.dataset)
    options = EvalOptions(mode=args.mode, speed=args.speed, limit=args.limit,
                          only=tuple(args.only), max_seconds=args.max_seconds,
                          offline=not args.no_offline)
    settings = _settings(args)
    out = Path(args.out) if args.out else default_out_dir(args.dataset)
    bar = None
    if not args.no_progress:
        from tqdm import tqdm

        n = len([c for c in dataset if not args.only or c.id in args.only])
        bar = tqdm(total=min(n, args.limit) if args.limit else n, file=sys.stderr, unit="case",
                   desc=f"eval {dataset.name}")

    def progress(res) -> None:  # noqa: ANN001
        if bar is not None:
            bar.set_postfix_str(f"{res.id} {res.status}")
            bar.update(1)

    try:
        run = asyncio.run(run_eval(dataset, settings, options, progress))
    finally:
        if bar is not None:
            bar.close()
    paths = write_outputs(run, out)
    r = run.report
    keys = ("wer_streaming", "wer_offline", "flag_precision", "flag_recall", "flag_f1",
            "claim_macro_f1", "false_flags_per_hour", "flag_latency_p50_s", "flag_latency_p95_s",
            "suggestion_latency_p95_s", "retrieval_recall_at_3", "retrieval_mrr", "rtf", "cpu_rtf",
            "peak_rss_mb")
    print(f"{dataset.name}: {r['n_scored']}/{r['n_cases']} cases scored, speed {r['speed']:g}x "
          f"({r['mode']})")
    for k in keys:
        print(f"  {k:28} {r.get(k)}")
    for p in r["problems"]:
        print(f"  problem: {p}")
    print(f"wrote {', '.join(str(p) for p in paths.values())}")
    return 0


def run_eval_command(args: argparse.Namespace) -> int:
    """Run ``copilot eval`` (or ``copilot eval compare``). Returns the exit status.

    ``compare`` exits 1 on a regression beyond tolerance, 0 otherwise; both print errors and
    return 2 on bad input.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if not getattr(args, "verbose", False):
        # one "call started" line per case would break the progress bar; -v brings them back
        for name in ("copilot.server", "copilot.call"):
            logging.getLogger(name).setLevel(logging.WARNING)
    try:
        if args.dataset == "compare":
            from copilot.evaluation.compare import main_compare

            if len(args.rest) != 2:
                raise CopilotError("usage: copilot eval compare A B [--tolerance ...]")
            return main_compare(args.rest[0], args.rest[1], args.tolerance)
        if args.rest:
            raise CopilotError(f"unexpected arguments: {' '.join(args.rest)}")
        return _run(args)
    except CopilotError as exc:
        print(f"copilot eval: error: {exc.message}", file=sys.stderr)
        return 2
