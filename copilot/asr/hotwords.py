"""Checking that a name the hotword prompt produced was really said (BUGS S14). Pure.

Biasing the decoder towards competitor names fixes names it cannot spell ("I'll go here" →
"Algolia") but also invents them ("okay, perfect" → "Algolia is perfect" on a real SpokenWOZ
call). So a final that contains a hotword name is decoded again without the prompt, the two word
sequences are aligned, and the name is kept only where the unbiased words in its place carry
most of its consonants in order (metaphone, vowels dropped; at least 60 %, so two of Algolia's
L-K-L): "i'll go here" (LKHR), "our goal in" (RKLN) and "I'll only once" (LNLYNS) hold Algolia;
"okay" (K), "hello" (HL) and "and all the" (NTL0: "confirmed and all the" became "confirmed on
Algolia" on a SpokenWOZ restaurant call) do not; an inserted name with nothing in its place
never passes. (Until 2026-12-04 one consonant, the first, was enough: the SpokenWOZ false flag.)
"""

from __future__ import annotations

import difflib
import math
import re

import jellyfish

__all__ = ["names_in", "supported"]

_WORD = re.compile(r"[\w']+")
#: share of the name's consonants the unbiased words in its place must carry, in order
_CONSONANTS_KEPT = 0.6


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


def _sounds_like(name: str, span: str) -> bool:
    return bool(name) and _common(name, span) >= math.ceil(_CONSONANTS_KEPT * len(name))


def names_in(text: str, names: list[str]) -> list[str]:
    """The hotword names that occur in ``text`` (whole words, any case)."""
    words = _words(text)
    out = []
    for name in names:
        nm = _words(name)
        if nm and any(words[i:i + len(nm)] == nm for i in range(len(words) - len(nm) + 1)):
            out.append(name)
    return out


def supported(biased: str, plain: str, name: str) -> bool:
    """Every occurrence of ``name`` in ``biased`` has sound-alike words in ``plain``."""
    b, p, nm = _words(biased), _words(plain), _words(name)
    # not every consonant: espeak's "Algolia" came out "I'll only once" unbiased (no K); the
    # invented names had nothing, other consonants, or one shared L in their place
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
        if not _sounds_like(need, _skeleton("".join(span))):
            return False
    return True
