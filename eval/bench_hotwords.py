"""Benchmark (BUGS S14): does the hotword prompt help competitor names, and does it invent them?

Audio:
- synthetic sentences (espeak-ng → sox 16 kHz mono) naming each catalog competitor, in several
  voices and speaking rates;
- a sentence naming vendors that are *not* in the catalog ("we looked at Gong and Clari, and
  Chorus is on the shortlist");
- real speech naming no vendor at all (pyannote sample, LibriVox clips, jfk), split into utterances
  by the live path's VAD segmenter, as the server would.

Each clip is decoded by :class:`copilot.asr.whisper.WhisperDecoder` with hotwords **off**
(``set_hotwords([])``, the baseline) and **on** (the one-word catalog names, as the engine sets them).
Reported per competitor and setting: *exact* hit rate (the catalog spelling appears, case and
spaces ignored) and *detected* rate (:class:`copilot.detect.mentions.MentionDetector`, aliases and
fuzzy matching included, finds that competitor). False names: catalog mentions found in transcripts
of audio that never said them (the Gong/Clari/Chorus sentence and the real speech), plus other
competitors found in a one-competitor sentence. Must be 0 with hotwords on. Also the WER of the
real speech with each setting, so a prompt that helps names but hurts words shows up.

Run:  .venv/bin/python eval/bench_hotwords.py [--voices en-us en-gb ...] [--out FILE]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "eval"))

from bench_streaming import DATA, RESULTS, machine, write_report  # noqa: E402

from copilot.audio.files import read_audio  # noqa: E402
from copilot.evaluation.metrics import word_error_rate  # noqa: E402

__all__ = ["main", "name_key", "synthesize"]

TEMPLATES = [
    "We are also talking to {name} about this project.",
    "Honestly, {name} quoted us a lower price last week.",
    "Our team already runs {name} in production, so why switch?",
]
UNLISTED = "We looked at Gong and Clari, and Chorus is on the shortlist."
VOICES = ["en-us", "en-gb", "en-us+f3", "en-gb-scotland", "en-us+m4"]
RATES = [160, 185]
REAL = [("pyannote_sample", "pyannote-sample-conversation/sample.wav"),
        ("librivox_0870", "pocketsphinx-librivox/sense_and_sensibility_01_austen_64kb-0870.wav"),
        ("librivox_0890", "pocketsphinx-librivox/sense_and_sensibility_01_austen_64kb-0890.wav"),
        ("librivox_0930", "pocketsphinx-librivox/sense_and_sensibility_01_austen_64kb-0930.wav"),
        ("jfk", "openai-whisper-jfk/jfk.flac")]


def name_key(text: str) -> str:
    """Lower case, letters and digits only: "Mongo DB" and "MongoDB" compare equal."""
    return "".join(ch for ch in text.lower() if ch.isalnum())


def synthesize(text: str, voice: str, rate: int, out: Path) -> np.ndarray:
    raw = out.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-w", str(raw), text],
                   check=True, capture_output=True)
    subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(out)],
                   check=True, capture_output=True)
    return read_audio(out, 16000, 1)[:, 0]


def utterances(audio: np.ndarray) -> list[np.ndarray]:
    """Split like the live path: Silero VAD + the utterance segmenter, finals only."""
    from copilot.asr.segmenter import UtteranceSegmenter
    from copilot.asr.vad import SileroVad, VadStream

    vad = VadStream(SileroVad())
    seg = UtteranceSegmenter()
    for k in range(0, len(audio), 16000):
        x = audio[k:k + 16000]
        seg.feed(x, vad.feed(x))
    seg.end()
    return [r.audio for r in seg.requests if r.final]


def run(args: argparse.Namespace) -> dict[str, Any]:
    from copilot.asr.whisper import WhisperDecoder
    from copilot.config import load_settings
    from copilot.detect.mentions import MentionDetector
    from copilot.engine import hotword_names
    from copilot.evaluation.dataset import load_dataset
    from copilot.playbooks.loader import load_playbooks

    settings = load_settings()
    comps = list(load_playbooks(settings.playbooks_dir).competitors)
    names = [c.name for c in comps]
    # the prompt as the engine sets it (one-word names only), so the figures are the product's
    prompted = hotword_names(load_playbooks(settings.playbooks_dir))
    detector = MentionDetector(comps)
    dec = WhisperDecoder(settings.asr)
    # the finals' context the server would use on this machine (WhisperDecoder.calibrate)
    context_s = dec.calibrate(settings.asr.final_encoder_budget_s)
    clips: list[dict[str, Any]] = []  # {kind, said (competitor id|None), audio list, ref}
    with tempfile.TemporaryDirectory(prefix="bench-hot-") as tmp:
        k = 0
        for c in comps:
            for tpl in TEMPLATES:
                for voice in args.voices:
                    for rate in args.rates:
                        k += 1
                        a = synthesize(tpl.format(name=c.name), voice, rate, Path(tmp) / f"{k}.wav")
                        clips.append({"kind": "named", "said": c.id, "name": c.name,
                                      "voice": f"{voice}@{rate}", "audio": [a]})
        for voice in args.voices:
            k += 1
            a = synthesize(UNLISTED, voice, 160, Path(tmp) / f"{k}.wav")
            clips.append({"kind": "unlisted", "said": None, "voice": f"{voice}@160", "audio": [a]})
    if DATA.is_dir():
        ds = load_dataset(ROOT / "eval/datasets/shared_real.json")
        for cid, rel in REAL:
            audio = read_audio(DATA / rel, 16000, 1)[:, 0]
            case = ds.get(cid)
            clips.append({"kind": "real", "said": None, "id": cid, "audio": utterances(audio),
                          "ref": case.reference if case else ""})
    else:
        print(f"note: {DATA} absent; real-speech false-name check skipped", file=sys.stderr)

    results: dict[str, Any] = {}
    for setting in ("off", "on"):
        dec.set_hotwords(prompted if setting == "on" else [], settings.asr.own_product)
        t0 = time.perf_counter()
        per_name: dict[str, dict[str, int]] = {c.id: {"n": 0, "exact": 0, "detected": 0} for c in comps}
        false: list[dict[str, Any]] = []
        real_pairs: list[tuple[str, str]] = []
        n_decodes = 0
        for clip in clips:
            text = " ".join(dec.decode(a).text for a in clip["audio"]).strip()
            n_decodes += len(clip["audio"])
            clip.setdefault("text", {})[setting] = text
            found = {m.competitor_id for m in detector.find(text)}
            exact = {c.id for c in comps if name_key(c.name) in name_key(text)}
            if clip["said"]:
                st = per_name[clip["said"]]
                st["n"] += 1
                st["exact"] += clip["said"] in exact
                st["detected"] += clip["said"] in found
            wrong = (found | exact) - {clip["said"]}
            if wrong:
                false.append({"kind": clip["kind"], "clip": clip.get("id") or clip.get("voice"),
                              "said": clip["said"], "found": sorted(wrong), "text": text})
            if clip["kind"] == "real" and clip["ref"]:
                real_pairs.append((clip["ref"], text))
        n_all = sum(v["n"] for v in per_name.values())
        results[setting] = {
            "per_name": {cid: {**v, "exact_rate": round(v["exact"] / v["n"], 3) if v["n"] else None,
                               "detected_rate": round(v["detected"] / v["n"], 3) if v["n"] else None}
                         for cid, v in per_name.items()},
            "exact_rate_all": round(sum(v["exact"] for v in per_name.values()) / n_all, 3),
            "detected_rate_all": round(sum(v["detected"] for v in per_name.values()) / n_all, 3),
            "false_names": len(false),
            "false_names_in_unsaid_audio": sum(1 for f in false if f["said"] is None),
            "false_detail": false,
            "real_speech_wer": round(word_error_rate(*zip(*real_pairs, strict=True)).wer, 4)
            if real_pairs else None,
            "decodes": n_decodes, "decode_s": round(time.perf_counter() - t0, 1),
        }
    # every clip that names no catalog competitor, and the named ones in the first voice
    samples = [{"voice": c.get("voice") or c.get("id"), "said": c.get("name") or c["kind"],
                "off": c["text"]["off"], "on": c["text"]["on"]} for c in clips
               if c["kind"] != "named" or c["voice"] == f"{args.voices[0]}@{args.rates[0]}"]
    return {"benchmark": "bench_hotwords", "machine": machine(), "catalog": names,
            "final_context_s": context_s, "encoder_s_per_context": dec.encoder_cost,
            "voices": args.voices, "rates": args.rates, "templates": TEMPLATES,
            "prompt_on": f"We compared {settings.asr.own_product} with "
                         f"{', '.join(prompted[:-1])} and {prompted[-1]}.",
            "results": results, "examples": samples}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--voices", nargs="+", default=VOICES)
    ap.add_argument("--rates", nargs="+", type=int, default=RATES)
    ap.add_argument("--out", default=str(RESULTS / "bench_hotwords.json"))
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    rep = run(args)
    res = rep["results"]
    print(f"{'competitor':24} {'off exact':>9} {'off det':>8} {'on exact':>9} {'on det':>8}")
    for cid in res["off"]["per_name"]:
        o, n = res["off"]["per_name"][cid], res["on"]["per_name"][cid]
        print(f"{cid:24} {o['exact_rate']:>9} {o['detected_rate']:>8} {n['exact_rate']:>9} "
              f"{n['detected_rate']:>8}")
    for s in ("off", "on"):
        r = res[s]
        print(f"hotwords {s:3}: exact {r['exact_rate_all']}, detected {r['detected_rate_all']}, "
              f"false names {r['false_names']} (in audio naming none: "
              f"{r['false_names_in_unsaid_audio']}), real-speech WER {r['real_speech_wer']}")
    write_report(args.out, rep)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
