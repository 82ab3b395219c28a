"""Make reproducible synthetic sales calls (espeak-ng + sox) and their label JSON files.

Usage::

    python eval/make_scripted_calls.py [--out DIR] [--only NAME ...] [--scripts FILE]

Reads the call scripts in ``eval/datasets/scripted/scripts.yaml``; for each call writes
``DIR/audio/<id>.wav`` (git-ignored, regenerated on demand), ``DIR/<id>.json`` (labels) and
``DIR/manifest.json`` (every call's label file; see docs/eval.md for the format).

How a call is built, and why the label times are exact:

1. each turn is spoken by espeak-ng at 22.05 kHz with the speaker's voice/speed/pitch, leading and
   trailing silence trimmed, and resampled to 16 kHz;
2. turns are joined with 0.40–0.90 s of silence (drawn from a generator seeded by the call id, so
   every run gives the same gaps); the label start/end of a turn is the sample offset of its
   audio in the joined file, so turn times are exact to one sample;
3. optional white noise is mixed in (``sox synth whitenoise``), then, for telephone calls, a
   300–3400 Hz band-pass and resampling to 8 kHz (16k → 8k is an integer ratio, so times hold);
4. for 2-channel calls the rep is on the left channel, the customer on the right.

The time of a mentioned word inside a turn is measured, not guessed: espeak-ng speaks the text
*up to* the word and *through* the word with the same voice, and the trimmed durations of those
two renderings are the word's start and end offsets within the turn. Sentence-final lengthening
makes these slightly late/long (about 0.1–0.2 s); matching in the eval uses a window larger
than that. All sox calls run with ``-R`` (repeatable: fixed seeds for noise and dither), so the
same espeak-ng/sox versions give byte-identical files.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "CallSpec",
    "MentionSpec",
    "TurnSpec",
    "Voice",
    "build_call",
    "gap_seconds",
    "label_for",
    "load_scripts",
    "main",
]

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SCRIPTS = REPO_ROOT / "eval/datasets/scripted/scripts.yaml"
DEFAULT_OUT = REPO_ROOT / "eval/datasets/scripted"
#: internal working rate; 8 kHz calls are derived from it at the end
WORK_RATE = 16000
LEAD_IN_S = 0.30  # silence before the first word, as a real call has
TAIL_S = 0.60  # silence after the last word (lets streaming ASR prove it flushes)
GAP_RANGE_S = (0.40, 0.90)
# -R: repeatable (fixed seeds); -D: no dither, so silences stay digital zero and a gap in the
# labels is exactly silent in the audio
_SOX = ["sox", "-R", "-D"]
# silence trim: drop leading/trailing audio under 0.5 % of full scale lasting ≥ 20 ms
_TRIM = ["silence", "1", "0.02", "0.5%", "reverse", "silence", "1", "0.02", "0.5%", "reverse"]


@dataclass(frozen=True)
class Voice:
    """An espeak-ng voice setting: ``voice`` like ``en-us+m3``, speed in words/min, pitch 0–99."""

    voice: str
    speed: int = 160
    pitch: int = 50


@dataclass(frozen=True)
class MentionSpec:
    """A labelled mention in a turn: ``word`` is the exact text whose audio time is labelled."""

    word: str
    competitor: str | None
    claim_type: str
    expected_sections: tuple[str, ...] = ()
    after: str = ""  # locate ``word`` after this text (for repeated words)


@dataclass(frozen=True)
class TurnSpec:
    speaker: str  # "rep" | "customer"
    text: str
    mentions: tuple[MentionSpec, ...] = ()


@dataclass(frozen=True)
class CallSpec:
    id: str
    description: str
    sample_rate: int
    channels: int
    noise: float  # white-noise amplitude for sox ``vol`` (0: none)
    voices: dict[str, Voice]
    turns: tuple[TurnSpec, ...]
    tags: tuple[str, ...] = field(default=())


def load_scripts(path: Path) -> list[CallSpec]:
    """Parse the scripts YAML into call specs.

    Raises:
        ValueError: a script that is malformed (unknown speaker, a mention word not in its turn,
            unsupported format); the message names the call.
    """
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    calls: list[CallSpec] = []
    for item in raw["calls"]:
        cid = item["id"]
        fmt = item.get("format", {})
        voices = {name: Voice(**v) for name, v in item["voices"].items()}
        turns = []
        for t in item["turns"]:
            if t["speaker"] not in voices:
                raise ValueError(f"{cid}: turn speaker {t['speaker']!r} has no voice")
            text = " ".join(str(t["text"]).split())
            mentions = tuple(
                MentionSpec(
                    word=m["word"],
                    competitor=m.get("competitor"),
                    claim_type=m["claim_type"],
                    expected_sections=tuple(m.get("expected_sections", ())),
                    after=m.get("after", ""),
                )
                for m in t.get("mentions", ())
            )
            for m in mentions:
                _word_span(text, m)  # raises if the word is not there
            turns.append(TurnSpec(t["speaker"], text, mentions))
        spec = CallSpec(
            id=cid,
            description=" ".join(str(item.get("description", "")).split()),
            sample_rate=int(fmt.get("sample_rate", 16000)),
            channels=int(fmt.get("channels", 1)),
            noise=float(fmt.get("noise", 0)),
            voices=voices,
            turns=tuple(turns),
            tags=tuple(item.get("tags", ())),
        )
        if spec.sample_rate not in (16000, 8000) or spec.channels not in (1, 2):
            raise ValueError(f"{cid}: unsupported format {fmt}")
        calls.append(spec)
    return calls


def _word_span(text: str, mention: MentionSpec) -> tuple[int, int]:
    base = text.find(mention.after) + len(mention.after) if mention.after else 0
    start = text.find(mention.word, base)
    if start < 0 or (mention.after and base < len(mention.after)):
        raise ValueError(f"mention {mention.word!r} not found in turn {text!r}")
    return start, start + len(mention.word)


def gap_seconds(call_id: str, n_gaps: int) -> list[float]:
    """Deterministic silences between turns (seeded by the call id, 10 ms resolution)."""
    rng = random.Random(int(hashlib.sha256(call_id.encode()).hexdigest()[:8], 16))
    return [round(rng.uniform(*GAP_RANGE_S), 2) for _ in range(n_gaps)]


def label_for(
    spec: CallSpec,
    audio_name: str,
    turn_samples: list[int],
    gap_samples: list[int],
    word_offsets: list[list[tuple[float, float]]],
) -> dict[str, Any]:
    """Assemble the label record (pure: all durations are given).

    Args:
        spec: the call.
        audio_name: file name of the WAV, relative to the label file's folder.
        turn_samples: length of each turn's audio at :data:`WORK_RATE`.
        gap_samples: length of the silence *before* each turn (the first is the lead-in).
        word_offsets: per turn, per mention, (start, end) seconds within the turn.

    Returns:
        The label dict described in docs/eval.md.
    """
    turns: list[dict[str, Any]] = []
    mentions: list[dict[str, Any]] = []
    pos = 0
    for turn, n, gap, offsets in zip(spec.turns, turn_samples, gap_samples, word_offsets, strict=True):
        pos += gap
        start, end = pos / WORK_RATE, (pos + n) / WORK_RATE
        turns.append({"speaker": turn.speaker, "text": turn.text,
                      "start": round(start, 3), "end": round(end, 3)})
        for m, (w0, w1) in zip(turn.mentions, offsets, strict=True):
            mentions.append({
                "competitor": m.competitor,
                "kind": "competitor" if m.competitor else "objection",
                "claim_type": m.claim_type,
                "speaker": turn.speaker,
                "evidence": m.word,
                "start": round(start + w0, 3),
                "end": round(min(start + w1, end), 3),
                "expected_sections": list(m.expected_sections),
            })
        pos += n
    return {
        "id": spec.id,
        "description": spec.description,
        "audio": audio_name,
        "sample_rate": spec.sample_rate,
        "channels": spec.channels,
        "speakers": ["rep", "customer"] if spec.channels == 2 else ["unknown"],
        "duration": round((pos + round(TAIL_S * WORK_RATE)) / WORK_RATE, 3),
        "tags": list(spec.tags),
        "source": "synthetic: espeak-ng + sox, eval/make_scripted_calls.py",
        "turns": turns,
        "mentions": mentions,
    }


# --------------------------------------------------------------------------- I/O shell


def _run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr.strip()}")


def _samples(path: Path) -> int:
    out = subprocess.run(["soxi", "-s", str(path)], capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def _speak(text: str, voice: Voice, out: Path, tmp: Path) -> int:
    """Speak ``text`` into a trimmed 16 kHz mono WAV; return its length in samples."""
    raw = tmp / "espeak.wav"
    _run(["espeak-ng", "-v", voice.voice, "-s", str(voice.speed), "-p", str(voice.pitch),
          "-w", str(raw), text])
    _run([*_SOX, str(raw), "-r", str(WORK_RATE), "-b", "16", "-c", "1", str(out),
          *_TRIM, "rate", "-v", str(WORK_RATE)])
    return _samples(out)


def _silence(samples: int, out: Path) -> None:
    # the rate must be given for the null input too, or "Ns" counts samples at sox's default
    _run([*_SOX, "-r", str(WORK_RATE), "-c", "1", "-n", "-r", str(WORK_RATE), "-b", "16",
          "-c", "1", str(out), "trim", "0", f"{samples}s"])


def build_call(spec: CallSpec, out_dir: Path) -> dict[str, Any]:
    """Generate ``out_dir/audio/<id>.wav`` and ``out_dir/<id>.json``; return the label."""
    audio_dir = out_dir / "audio"
    audio_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"call-{spec.id}-") as tmp_name:
        tmp = Path(tmp_name)
        gaps = [LEAD_IN_S, *gap_seconds(spec.id, len(spec.turns) - 1)]
        gap_samples = [round(g * WORK_RATE) for g in gaps]
        turn_files, turn_samples, word_offsets = [], [], []
        for i, turn in enumerate(spec.turns):
            voice = spec.voices[turn.speaker]
            f = tmp / f"turn{i:03d}.wav"
            turn_samples.append(_speak(turn.text, voice, f, tmp))
            turn_files.append(f)
            offsets = []
            for m in turn.mentions:
                a, b = _word_span(turn.text, m)
                pre = _speak(turn.text[:a], voice, tmp / "pre.wav", tmp) if turn.text[:a].strip() else 0
                thru = _speak(turn.text[:b], voice, tmp / "thru.wav", tmp)
                offsets.append((pre / WORK_RATE, thru / WORK_RATE))
            word_offsets.append(offsets)
        tail = round(TAIL_S * WORK_RATE)

        # one track per channel: mono calls put every turn on "mix"
        tracks = ["rep", "customer"] if spec.channels == 2 else ["mix"]
        track_files = []
        for track in tracks:
            parts: list[str] = []
            for i, turn in enumerate(spec.turns):
                g = tmp / f"{track}-gap{i:03d}.wav"
                _silence(gap_samples[i], g)
                parts.append(str(g))
                if track in ("mix", turn.speaker):
                    parts.append(str(turn_files[i]))
                else:
                    s = tmp / f"{track}-sil{i:03d}.wav"
                    _silence(turn_samples[i], s)
                    parts.append(str(s))
            t = tmp / f"{track}-tail.wav"
            _silence(tail, t)
            parts.append(str(t))
            tf = tmp / f"track-{track}.wav"
            _run([*_SOX, *parts, str(tf)])
            if spec.noise > 0:
                noise = tmp / f"noise-{track}.wav"
                _run([*_SOX, "-r", str(WORK_RATE), "-c", "1", "-n", "-r", str(WORK_RATE),
                      "-b", "16", "-c", "1", str(noise),
                      "synth", f"{_samples(tf)}s", "whitenoise", "vol", str(spec.noise)])
                mixed = tmp / f"mixed-{track}.wav"
                # -v 1 on each input: sox -m otherwise scales every input by 1/n
                _run([*_SOX, "-m", "-v", "1", str(tf), "-v", "1", str(noise), str(mixed)])
                tf = mixed
            track_files.append(tf)
        joined = tmp / "joined.wav"
        if len(track_files) == 2:
            _run([*_SOX, "-M", *map(str, track_files), str(joined)])
        else:
            shutil.copyfile(track_files[0], joined)
        wav = audio_dir / f"{spec.id}.wav"
        if spec.sample_rate == 8000:
            # telephone band: G.712 passband 300–3400 Hz, then 8 kHz
            _run([*_SOX, str(joined), "-b", "16", str(wav), "sinc", "300-3400", "rate", "8k"])
        else:
            shutil.copyfile(joined, wav)

    label = label_for(spec, f"audio/{wav.name}", turn_samples, gap_samples, word_offsets)
    # the labels are only as good as this equality: refuse to write labels for a file whose
    # length is not the sum of its parts
    expected = sum(turn_samples) + sum(gap_samples) + tail
    got = _samples(wav) * WORK_RATE // spec.sample_rate
    if abs(got - expected) > WORK_RATE // spec.sample_rate:
        raise RuntimeError(f"{spec.id}: audio has {got} samples, labels assume {expected}")
    label["sha256"] = hashlib.sha256(wav.read_bytes()).hexdigest()
    (out_dir / f"{spec.id}.json").write_text(json.dumps(label, indent=2) + "\n", encoding="utf-8")
    return label


def _write_manifest(out_dir: Path, specs: list[CallSpec]) -> None:
    manifest = {
        "name": "scripted",
        "description": "Synthetic sales calls (espeak-ng + sox); regenerate the audio with "
        "`python eval/make_scripted_calls.py`.",
        "generator": {"espeak-ng": _version(["espeak-ng", "--version"]),
                      "sox": _version(["sox", "--version"])},
        "cases": [f"{s.id}.json" for s in specs],
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def _version(cmd: list[str]) -> str:
    out = subprocess.run(cmd, capture_output=True, text=True, check=False).stdout
    words = out.split()
    # "eSpeak NG text-to-speech: 1.51  Data at: …" → keep the name and version only
    return " ".join(words[: words.index("Data")] if "Data" in words else words[:4])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="make only this call (repeatable)")
    parser.add_argument("--scripts", type=Path, default=DEFAULT_SCRIPTS)
    args = parser.parse_args(argv)
    for tool in ("espeak-ng", "sox", "soxi"):
        if shutil.which(tool) is None:
            print(f"error: {tool} not found (apt-get install espeak-ng sox)", file=sys.stderr)
            return 2
    specs = load_scripts(args.scripts)
    chosen = [s for s in specs if not args.only or s.id in args.only]
    unknown = set(args.only) - {s.id for s in specs}
    if unknown:
        print(f"error: unknown call(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    for spec in chosen:
        label = build_call(spec, args.out)
        print(f"{spec.id}: {label['duration']:.1f} s, {len(label['turns'])} turns, "
              f"{len(label['mentions'])} mentions")
    _write_manifest(args.out, specs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
