"""``copilot`` command line: serve, replay, demo, calls, show, playbooks check, eval."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

from copilot.config import PROJECT_ROOT, Settings, load_settings
from copilot.errors import CopilotError

__all__ = ["main"]

log = logging.getLogger("copilot")

DEMO_CALL = PROJECT_ROOT / "tests" / "fixtures" / "audio" / "sales_call_two_competitors.wav"


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict = {}
    if getattr(args, "db", None):
        overrides["store"] = {"path": args.db}
    if getattr(args, "playbooks", None):
        overrides["playbooks_dir"] = args.playbooks
    return load_settings(getattr(args, "config", None), **overrides)


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("websockets", "sentence_transformers", "faster_whisper", "httpx", "urllib3",
                  "faiss", "faiss.loader", "bm25s", "transformers", "huggingface_hub"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


async def _serve(settings: Settings, host: str, port: int) -> None:
    from copilot.server import running_server

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with running_server(settings, host, port) as server:
        e = server.engine
        log.info("playbooks %s: %d competitors, %d sections (loaded in %s)", e.playbooks.version,
                 len(e.playbooks.competitors), len(e.playbooks.sections),
                 ", ".join(f"{k} {v:.1f}s" for k, v in e.load_seconds.items()))
        log.info("ready: ws://%s:%d/v1/calls/{call_id}", host, server.port)
        await stop.wait()
        log.info("shutting down: flushing %d live calls", len(server.calls))


async def _replay(settings: Settings, args: argparse.Namespace) -> int:
    from copilot.replay import replay_file
    from copilot.server import running_server

    kw = dict(encoding=args.encoding, sample_rate=args.rate, channels=args.channels,
              speed=args.speed, frame_ms=args.frame_ms, as_json=args.json, call_id=args.call_id)
    if args.url:
        result = await replay_file(args.file, args.url, **kw)
    else:
        async with running_server(settings, "127.0.0.1", 0) as server:
            url = f"ws://127.0.0.1:{server.port}"
            if not args.json:
                print(f"(in-process server at {url}; events are stored in {settings.store.path})",
                      file=sys.stderr)
            result = await replay_file(args.file, url, **kw)
    return 1 if result.of_type("error") and args.strict else 0


def _fmt_time(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S") if ts else "-"


def _calls(settings: Settings, args: argparse.Namespace) -> int:
    from copilot.store.sqlite import EventStore

    store = EventStore(settings.store.path)
    rows = store.calls(args.limit)
    if args.json:
        for r in rows:
            print(json.dumps(r.__dict__))
        return 0
    if not rows:
        print(f"no calls stored in {settings.store.path}")
        return 0
    print(f"{'call id':32} {'started (UTC)':19} {'status':8} {'audio':>7} {'segs':>5} "
          f"{'flags':>5} {'sugg':>5}  rep")
    for r in rows:
        c = r.counts
        print(f"{r.call_id:32} {_fmt_time(r.started_at):19} {r.status:8} {r.audio_seconds:6.1f}s "
              f"{c.get('transcript', 0):5} {c.get('flag', 0):5} {c.get('suggestion', 0):5}  "
              f"{r.rep or ''}")
    return 0


def _show(settings: Settings, args: argparse.Namespace) -> int:
    from copilot.replay import _line
    from copilot.store.sqlite import EventStore

    store = EventStore(settings.store.path)
    record = store.call(args.call_id)
    events = list(store.events(args.call_id))
    notes = store.annotations(args.call_id)
    if args.json:
        print(json.dumps({"call": record.__dict__, "events": events, "annotations": notes},
                         ensure_ascii=False, indent=1))
        return 0
    print(f"call {record.call_id}  rep={record.rep or '-'} account={record.account or '-'} "
          f"started {_fmt_time(record.started_at)} UTC, {record.audio_seconds:.1f} s of audio, "
          f"status {record.status}, playbooks {record.playbook_version}")
    for e in events:
        print(_line(e))
    for a in notes:
        print(f"          ANNOTATION {a['action']} on {a['target_id']} (rev {a['revision']})")
    return 0


def _playbooks_check(args: argparse.Namespace) -> int:
    from copilot.playbooks.check import main as check_main

    return check_main([args.dir] if args.dir else [str(PROJECT_ROOT / "playbooks")])


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="copilot", description=__doc__)
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--config", help="TOML config file (see docs/operations.md)")
        sp.add_argument("--db", help="event store path (overrides store.path)")

    s = sub.add_parser("serve", help="run the websocket server")
    common(s)
    s.add_argument("--host")
    s.add_argument("--port", type=int)
    s.add_argument("--playbooks", help="playbooks directory")

    for name, helptext in (("replay", "stream an audio file as a live call"),
                           ("demo", "replay the bundled sample sales call in-process")):
        r = sub.add_parser(name, help=helptext)
        common(r)
        if name == "replay":
            r.add_argument("file", help="WAV/FLAC/MP3/... file")
        r.add_argument("--url", help="server base URL, e.g. ws://127.0.0.1:8765 "
                                     "(default: start an in-process server)")
        r.add_argument("--speed", type=float, default=1.0 if name == "replay" else 2.0,
                       help="playback speed factor (default %(default)s)")
        r.add_argument("--json", action="store_true",
                       help="print each server event as JSON, one per line, then a summary line")
        r.add_argument("--encoding", default="pcm_s16le",
                       choices=("pcm_s16le", "pcm_f32le", "mulaw"))
        r.add_argument("--rate", type=int, default=16000, help="sample rate to declare and send")
        r.add_argument("--channels", type=int, default=1, choices=(1, 2))
        r.add_argument("--frame-ms", type=int, default=40)
        r.add_argument("--call-id")
        r.add_argument("--playbooks", help="playbooks directory")
        r.add_argument("--strict", action="store_true", help="exit 1 if the server sent an error")

    c = sub.add_parser("calls", help="list stored calls")
    common(c)
    c.add_argument("--limit", type=int, default=50)
    c.add_argument("--json", action="store_true")

    sh = sub.add_parser("show", help="print one stored call")
    common(sh)
    sh.add_argument("call_id")
    sh.add_argument("--json", action="store_true")

    pb = sub.add_parser("playbooks", help="playbook tools")
    pbs = pb.add_subparsers(dest="playbooks_command", required=True)
    chk = pbs.add_parser("check", help="validate playbook files (file:line messages)")
    chk.add_argument("dir", nargs="?")

    from copilot.evaluation.cli import add_eval_parser

    add_eval_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    # model loading progress bars are noise in a server log
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TQDM_DISABLE", "1")
    args = _parser().parse_args(argv)
    _setup_logging(args.verbose)
    try:
        if args.command == "playbooks":
            return _playbooks_check(args)
        if args.command == "eval":
            from copilot.evaluation.cli import run_eval_command

            return run_eval_command(args)
        settings = _settings(args)
        if args.command == "serve":
            host = args.host or settings.server.host
            port = settings.server.port if args.port is None else args.port
            asyncio.run(_serve(settings, host, port))
            return 0
        if args.command in ("replay", "demo") and not args.verbose:
            # the rep-facing lines are the output here; start-up chatter only with -v
            logging.getLogger("copilot").setLevel(logging.WARNING)
        if args.command in ("replay", "demo"):
            if args.command == "demo":
                args.file = str(DEMO_CALL)
            if not Path(args.file).exists():
                raise CopilotError(f"audio file not found: {args.file}")
            return asyncio.run(_replay(settings, args))
        if args.command == "calls":
            return _calls(settings, args)
        if args.command == "show":
            return _show(settings, args)
    except CopilotError as exc:
        print(f"copilot: error: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `copilot show ID | head`
        sys.stderr.close()
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
