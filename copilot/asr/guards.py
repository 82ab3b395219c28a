"""Text-level guards against Whisper's known failure modes. Pure.

- Repetition loops (BUGS S02): an n-gram repeated three or more times in a row is cut back to one
  occurrence, and the decoder is asked to retry warmer before that. A phrase of four or more
  words said twice in a row is also cut: on short padded input tiny.en likes to emit the whole
  utterance twice ("And so my fellow Americans. And so my fellow Americans."), while people
  almost never repeat a four-word phrase back to back.
- An echo (BUGS S09, S17): on padded input tiny.en also repeats the utterance's last phrase after
  a word or two of its own ("… for your country. I ask what you can do for your country."). A
  phrase of four or more words said again within two words is cut when the text holds more
  words than its audio can ("Ask what …" twice is 17 words in 3.0 s; brisk speech is ~4 words/s).
- Text invented on non-speech (BUGS S01): Whisper's stock outro phrases on a segment with a high
  no-speech probability or a low log-probability are dropped.
"""

from __future__ import annotations

import re
import zlib

__all__ = [
    "collapse_doubled",
    "collapse_repeats",
    "compression_ratio",
    "drop_echo",
    "has_loop",
    "is_hallucination",
]

_WORD = re.compile(r"\S+")

# Phrases Whisper emits on silence/music (seen in WhisperLive#246, vexa#617 and many others).
_STOCK = {
    "thank you",
    "thank you.",
    "thanks for watching",
    "thanks for watching!",
    "thank you for watching",
    "please subscribe",
    "bye",
    "bye.",
    "you",
    "so",
    "okay",
    "the end",
    "subtitles by the amara.org community",
}


def compression_ratio(text: str) -> float:
    data = text.encode("utf-8")
    return len(data) / max(1, len(zlib.compress(data)))


def _norm(w: str) -> str:
    return re.sub(r"[^\w']", "", w.lower())


# hyphen-, comma- or dot-joined runs count piece by piece: an 8 kHz call gave "looked
# 3-10-0-0-…-0" and, in other runs, "3,000,000,…,000" and "3.0.5.5.5.…" — one whitespace token
# each, which no n-gram test saw, well under the token cap. Four or more copies, as for words
# ("1,000,000,000" is a billion, "1.1.1" a version).
_PIECE = re.compile(r"[^\s,.-]+")
_JOINED_RUN = re.compile(r"\b(\w+)(?:([-,.])\1\b)(?:\2\1\b){2,}")


def has_loop(text: str, min_repeats: int = 3, max_n: int = 8) -> bool:
    words = [_norm(w) for w in _PIECE.findall(text)]
    return _find_loop(words, min_repeats, max_n) is not None or _dots(text) >= min_repeats


def _dots(text: str) -> int:
    """The longest run of tokens without a word character: "The... ... ... ..." is a loop too
    (a partial of the stereo Algolia call, decoded from the middle of a word)."""
    best = run = 0
    for token in _WORD.findall(text):
        run = run + 1 if not _norm(token) else 0
        best = max(best, run)
    return best


_LONG_PHRASE = 4  # words; phrases this long count as looping after two copies


def _find_loop(words: list[str], min_repeats: int, max_n: int) -> tuple[int, int] | None:
    # short n-grams first (three copies), then long phrases (two copies)
    passes = [(n, min_repeats) for n in range(1, max_n + 1)]
    passes += [(n, 2) for n in range(2 * _LONG_PHRASE, _LONG_PHRASE - 1, -1)]
    for n, need in passes:
        for i in range(0, len(words) - n * need + 1):
            gram = words[i : i + n]
            if not any(gram):
                continue
            reps = 1
            while words[i + reps * n : i + (reps + 1) * n] == gram:
                reps += 1
            if reps >= need:
                return i, n
    return None


def collapse_repeats(text: str, min_repeats: int = 3, max_n: int = 8) -> str:
    """Keep one copy of any n-gram repeated ``min_repeats``+ times in a row."""
    tokens = _WORD.findall(_JOINED_RUN.sub(r"\1", text))
    while True:
        words = [_norm(w) for w in tokens]
        found = _find_loop(words, min_repeats, max_n)
        if found is None:
            return " ".join(tokens)
        i, n = found
        j = i + n
        while [_norm(w) for w in tokens[j : j + n]] == words[i : i + n]:
            j += n
        tokens = tokens[: i + n] + tokens[j:]


def collapse_doubled(text: str, max_n: int = 3) -> str:
    """``"3 3"`` → ``"3"``, ``"11 12 12"`` → ``"11 12"``: a short utterance's end said twice.

    Whisper pads short audio with a long silent context and then sometimes repeats the whole
    utterance, or its last words, into the padding (counting one number per second gave "3 3",
    "11 12 12"). Only applied by the decoder to utterances too short to hold a phrase said twice
    on purpose (BUGS S09).
    """
    tokens = _WORD.findall(text)
    words = [_norm(w) for w in tokens]
    half = len(tokens) // 2
    if half and len(tokens) % 2 == 0 and words[:half] == words[half:]:
        return " ".join(tokens[:half])
    for n in range(1, max_n + 1):
        if len(words) >= 2 * n and any(words[-n:]) and words[-n:] == words[-2 * n : -n]:
            return " ".join(tokens[:-n])
    return text


#: words per second of audio (pre-roll and padding included) above which a text holds more
#: speech than its audio can: brisk conversation runs at 3–4, padding makes the measure lower
_MAX_WORDS_PER_S = 4.5
#: words allowed between a phrase and its echo
_ECHO_GAP = 2


def drop_echo(text: str, seconds: float) -> str:
    """Cut the second copy of a ≥ 4-word phrase repeated within two words, while ``text`` is
    too many words for ``seconds`` of audio (see the module docstring). Spoken restarts ("we
    want to make sure, I mean, we want to make sure") fit their audio and are kept."""
    tokens = _WORD.findall(text)
    while seconds > 0 and len(tokens) / seconds > _MAX_WORDS_PER_S:
        words = [_norm(w) for w in tokens]
        cut = _echo(words)
        if cut is None:
            break
        tokens = tokens[: cut[0]] + tokens[cut[1]:]
    return " ".join(tokens) if tokens != _WORD.findall(text) else text


def _echo(words: list[str]) -> tuple[int, int] | None:
    """(start, end) of the words to cut: the longest phrase's echo and the gap before it."""
    for n in range(len(words) // 2, _LONG_PHRASE - 1, -1):
        for i in range(len(words) - 2 * n + 1):
            gram = words[i : i + n]
            for gap in range(_ECHO_GAP + 1):
                j = i + n + gap
                if words[j : j + n] == gram:
                    return i + n, j + n
    return None


def is_hallucination(text: str, no_speech_prob: float, avg_logprob: float) -> bool:
    """True when the text should not be published at all."""
    t = text.strip().lower()
    if not t:
        return True
    # Whisper's own rule (openai/whisper transcribe.py): silent when both are true.
    if no_speech_prob > 0.6 and avg_logprob < -1.0:
        return True
    if t in _STOCK and (no_speech_prob > 0.3 or avg_logprob < -0.7):
        return True
    return False
