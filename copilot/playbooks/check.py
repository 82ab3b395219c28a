"""Playbook validator: every problem in a playbooks directory, each with file and line.

The loader stops at the first problem; this reports them all, so an enablement manager can fix a
whole batch of edits in one go. The CLI front end is wired as ``copilot playbooks check [DIR]``;
``python -m copilot.playbooks.check [DIR]`` works too.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from copilot.errors import ConfigError, PlaybookError
from copilot.playbooks.loader import lint_files, playbook_version, read_playbook_files

__all__ = ["check_playbooks", "main"]


def check_playbooks(root: str | Path) -> list[PlaybookError]:
    """Validate every playbook file under ``root``.

    Returns:
        All problems, in file path order then set-wide ones (duplicate ids, alias clashes,
        unknown competitors); empty when the set loads cleanly with
        :func:`~copilot.playbooks.loader.load_playbooks`. Each error has ``file`` (relative to
        ``root``), ``line`` (1-based) and ``reason``.

    Raises:
        PlaybookError: ``root`` is not a directory.
    """
    _, problems = lint_files(read_playbook_files(root))
    return problems


def _default_root() -> str:
    from copilot.config import load_settings  # only when no DIR is given: settings read env

    return load_settings().playbooks_dir


def main(argv: list[str] | None = None) -> int:
    """Print ``path:line: message`` for each problem and a summary line.

    Returns:
        0 when the playbooks are valid, 1 when there are problems (or the directory or the
        configuration cannot be read).
    """
    parser = argparse.ArgumentParser(
        prog="copilot playbooks check",
        description="Validate playbook files (front matter, sections, catalog) and list problems.",
    )
    parser.add_argument("dir", nargs="?", help="playbooks directory (default: from settings)")
    args = parser.parse_args(argv)
    try:
        root = Path(args.dir if args.dir else _default_root())
        files = read_playbook_files(root)
    except (PlaybookError, ConfigError) as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    parsed, problems = lint_files(files)
    for p in problems:
        where = root / p.file if p.file else root
        line = f":{p.line}" if p.line is not None else ""
        print(f"{where}{line}: {p.reason}")
    if problems:
        bad_files = len({p.file for p in problems})
        print(f"{len(problems)} problem(s) in {bad_files} of {len(files)} file(s) under {root}")
        return 1
    sections = sum(len(pf.sections) for pf in parsed)
    competitors = sum(len(pf.competitors) for pf in parsed)
    print(
        f"ok: {len(files)} files, {competitors} competitors, {sections} sections, "
        f"version {playbook_version(files)} ({root})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
