"""Checking that a name the hotword prompt produced was really said (BUGS S14). Pure.

Biasing the decoder towards competitor names fixes names it cannot spell ("I'll go here" →
"Algolia") but also invents them ("okay, perfect" → "Algolia is perfect" on a real SpokenWOZ
call). So a final that contains a hotword name is decoded again without the prompt, the two word
sequences are aligned, and the name is kept only where the unbiased words in its place carry the
name's first consonant (metaphone, vowels dropped): "i'll go here" → LKHR holds Algolia's L;
"okay" → K does not; an inserted name with nothing in its place never passes.
"""

from __future__ import annotations

import difflib
import re

import jellyfish

__all__ = ["names_in", "supported"]

_WORD = re.compile(r"[\w']+")


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def _skeleton(s: str) -> str:
    return re.sub("[AEIOU]", "", jellyfish.metaphone(s)) if s else ""


def _in_order(needle: str, hay: str) -> bool:
    it = iter(hay)
    return all(c in it for c in needle)


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
    # the first consonant only: espeak's "Algolia" came out "I'll only once" unbiased (no K),
    # while the invented names had nothing, or other consonants, in their place
    need = _skeleton("".join(nm))[:1]
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
        if not span or not _in_order(need, _skeleton("".join(span))):
            return False
    return True
