"""Checking that a name the hotword prompt produced was really said (BUGS S14). Pure.

Biasing the decoder towards competitor names fixes names it cannot spell ("I'll go here" →
"Algolia") but also invents them ("okay, perfect" → "Algolia is perfect" on a real SpokenWOZ
call). So a final that contains a hotword name is decoded again without the prompt, the two word
sequences are aligned, and the name is kept only where some run of the unbiased words in its
place sounds like it: their consonant skeletons (metaphone, vowels dropped) share at least two
consonants in order and a Dice likeness of at least 0.4, and no other prompted name sounds more
like them.
"i'll go here" (LKHR), "our goal in" (RKLN) and "I'll only once" (LNLYNS) hold Algolia (L-K-L);
"okay" (K), "hello" (HL) and "and all the" (NTL0: "confirmed and all the" became "confirmed on
Algolia" on a SpokenWOZ restaurant call) do not, nor does "the Elastic", which is
Elasticsearch's; an inserted name with nothing in its place never passes. (Until 2026-12-04 the
name's first consonant alone was enough: the SpokenWOZ false flag.)
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

import jellyfish

__all__ = ["names_in", "supported"]

_WORD = re.compile(r"[\w']+")
#: Dice similarity of consonant skeletons (2 × common subsequence / total length) the unbiased
#: words in a name's place must reach: "I'll only once" has 0.44 with Algolia, "hello" 0.40 but
#: one consonant only, "and all the" 0.29
_MIN_LIKENESS = 0.4


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def _skeleton(s: str) -> str:
    return re.sub("[AEIOU]", "", jellyfish.metaphone(s)) if s else ""


def _common(a: str, b: str) -> int:
    """Length of the longest common subsequence of ``a`` and ``b`` (short strings)."""
    row = [0] * (len(b) + 1)
    for ca in a:
        prev = 0
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], prev + 1 if ca == cb else max(row[j], row[j - 1])
    return row[-1]


def _likeness(a: str, b: str) -> float:
    return 2 * _common(a, b) / (len(a) + len(b)) if a and b else 0.0


def _sounds_like(name: str, span: str) -> bool:
    # two consonants in order at least ("okay" has only Algolia's K), and a Dice likeness: "the
    # Elastic" (0LSTK) for Elasticsearch (LSTKSRX) shares 4 of 5 and 7 (0.67)
    return _common(name, span) >= min(2, len(name)) and _likeness(name, span) >= _MIN_LIKENESS


def names_in(text: str, names: list[str]) -> list[str]:
    """The hotword names that occur in ``text`` (whole words, any case)."""
    words = _words(text)
    out = []
    for name in names:
        nm = _words(name)
        if nm and any(words[i:i + len(nm)] == nm for i in range(len(words) - len(nm) + 1)):
            out.append(name)
    return out


def supported(biased: str, plain: str, name: str, others: Sequence[str] = ()) -> bool:
    """Every occurrence of ``name`` in ``biased`` has sound-alike words in ``plain``, which do
    not sound more like one of the ``others`` (the rest of the prompt's names): "the idea of the
    Elastic" (0LSTK) carries Algolia's L-K too, but it is Elasticsearch's (8 kHz scripted call)."""
    b, p, nm = _words(biased), _words(plain), _words(name)
    rivals = [_skeleton("".join(_words(o))) for o in others if _words(o) != nm]
    # a likeness, not every consonant: espeak's "Algolia" came out "I'll only once" unbiased
    # (no K); the invented names had nothing, other consonants, or one shared L in their place
    need = _skeleton("".join(nm))
    ops = difflib.SequenceMatcher(a=b, b=p, autojunk=False).get_opcodes()
    for i in range(len(b) - len(nm) + 1):
        if b[i:i + len(nm)] != nm:
            continue
        lo, hi = i, i + len(nm)
        span: list[str] = []
        for tag, i1, i2, j1, j2 in ops:
            if i1 < hi and i2 > lo:
                if tag == "equal":
                    span += p[j1 + max(lo, i1) - i1 : j1 + min(hi, i2) - i1]
                else:
                    span += p[j1:j2]
        # the name's own words within the span: an edit block can hold its neighbours too
        # ("Algolia answers in 120 milliseconds" vs "Elderly and Sir Under 2020 Mille second",
        # stereo scripted call), whose consonants would drown the name's ("elderly": L-L)
        heard = max((_skeleton("".join(span[a:z])) for a in range(len(span))
                     for z in range(a + 1, len(span) + 1)),
                    key=lambda h: _likeness(need, h), default="")
        if not _sounds_like(need, heard):
            return False
        own = _likeness(need, heard)
        if any(_likeness(r, heard) > own for r in rivals):
            return False
    return True
