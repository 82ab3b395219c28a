"""Redaction of personal and payment data before text leaves the process (to an LLM endpoint).

Pure: ``str`` in, ``(str, list[Redaction])`` out; no logging of what was found. Each detector is a
regular expression plus, where one exists, a checksum (Luhn for cards, ISO 7064 mod-97 for IBANs),
because a checksum is what separates a card number from a long order id or a price. Detectors
run in priority order and a later one never touches characters an earlier one claimed, so a card
number is not also reported as a phone number.

Placeholders are typed (``[EMAIL]``, ``[PHONE]``, ``[CARD]``, ``[IBAN]``, ``[ACCOUNT]``, ``[SSN]``)
so the model still knows *what kind* of thing the customer said.

Deliberately not redacted (the sales conversation needs them): prices (``$1,200``), percentages,
years, dates, times (``10:30``), version numbers (``2.10.4``), seat counts, IP-like dotted numbers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

__all__ = ["PLACEHOLDERS", "Redaction", "RedactionKind", "luhn_ok", "redact"]

RedactionKind = Literal["EMAIL", "PHONE", "CARD", "IBAN", "ACCOUNT", "SSN"]

PLACEHOLDERS: dict[str, str] = {
    k: f"[{k}]" for k in ("EMAIL", "PHONE", "CARD", "IBAN", "ACCOUNT", "SSN")
}


@dataclass(frozen=True)
class Redaction:
    """One replaced span. ``start``/``end`` index the *original* text; the value is not kept."""

    kind: RedactionKind
    start: int
    end: int

    @property
    def placeholder(self) -> str:
        return PLACEHOLDERS[self.kind]


# A digit that is not glued to a word, a price, a decimal or a version string on its left.
_LEFT = r"(?<![\w$€£¥.,:/-])"
_RIGHT = r"(?![\w%:/]|[.,]\d|-\d)"

_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"
)
# ISO 13616: 2 letters, 2 check digits, up to 30 alphanumerics, printed in groups of four.
_IBAN = re.compile(r"\b[A-Za-z]{2}\d{2}(?:[ ]?[A-Za-z0-9]{4}){2,7}(?:[ ]?[A-Za-z0-9]{1,3})?\b")
# 13–19 digits, optionally grouped by single spaces or dashes (ISO/IEC 7812).
_CARD = re.compile(_LEFT + r"\d(?:[ -]?\d){12,18}" + _RIGHT)
# US SSN: area 001–899 except 666, group ≠ 00, serial ≠ 0000 (SSA numbering rules).
_SSN = re.compile(
    _LEFT + r"(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}" + _RIGHT
)
_SSN_WORD = re.compile(r"(?i)\b(?:ssn|social security(?: number)?)\b")
_SSN_BARE = re.compile(_LEFT + r"\d{9}" + _RIGHT)
_ACCOUNT_WORD = re.compile(
    r"(?i)\b(?:account|acct|a/c|routing|sort code|customer (?:id|number)|member (?:id|number))\b"
)
_ACCOUNT_DIGITS = re.compile(_LEFT + r"\d(?:[ -]?\d){5,}" + _RIGHT)
_PHONE_PATTERNS = (
    # International: +CC then 2–6 groups; digit count checked below (E.164: at most 15).
    re.compile(r"(?<![\w+])\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,6}" + _RIGHT),
    # North American: optional 1, area code (maybe in parentheses), 3 + 4 digits.
    re.compile(
        r"(?<![\w$€£¥.,:/+-])(?:1[ .-]?)?(?:\(\d{3}\)[ ]?|\d{3}[ .-]?)\d{3}[ .-]?\d{4}" + _RIGHT
    ),
    # National trunk prefix 0 (UK, EU): 0 + 9–10 more digits in up to three groups.
    re.compile(_LEFT + r"0\d{2,4}[ -]?\d{3,4}[ -]?\d{3,4}" + _RIGHT),
)
_SPOKEN_RUN = re.compile(
    r"(?i)\b(?:zero|one|two|three|four|five|six|seven|eight|nine|double|triple)"
    r"(?:[ ,-]+(?:zero|oh|o|one|two|three|four|five|six|seven|eight|nine|double|triple))+\b"
)
#: spoken digit runs this long are phone/account numbers, not "one or two" or "three four five"
_SPOKEN_MIN_DIGITS = 7
#: how far after "account"/"SSN" a number may start and still belong to it
_KEYWORD_REACH = 40


def luhn_ok(digits: str) -> bool:
    """True if ``digits`` (digits only) passes the Luhn check used by every payment card."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _iban_ok(raw: str) -> bool:
    s = re.sub(r"\s", "", raw).upper()
    if not 15 <= len(s) <= 34 or not s[:2].isalpha():
        return False
    rearranged = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1


def _digits(s: str) -> str:
    return re.sub(r"\D", "", s)


Span = tuple[int, int]
Detector = Callable[[str], Iterator[Span]]


def _emails(text: str) -> Iterator[Span]:
    for m in _EMAIL.finditer(text):
        yield m.span()


def _ibans(text: str) -> Iterator[Span]:
    for m in _IBAN.finditer(text):
        if _iban_ok(m.group()):
            yield m.span()


def _cards(text: str) -> Iterator[Span]:
    for m in _CARD.finditer(text):
        digits = _digits(m.group())
        if 13 <= len(digits) <= 19 and luhn_ok(digits):
            yield m.span()


def _after_keyword(text: str, keyword: re.Pattern[str], number: re.Pattern[str]) -> Iterator[Span]:
    for k in keyword.finditer(text):
        m = number.search(text, k.end())
        # Near the keyword, and no other number in between ("account for 12 seats, call …").
        if (
            m is not None
            and m.start() - k.end() <= _KEYWORD_REACH
            and not re.search(r"\d", text[k.end() : m.start()])
        ):
            yield m.span()


def _ssns(text: str) -> Iterator[Span]:
    for m in _SSN.finditer(text):
        yield m.span()
    # Nine bare digits are only an SSN when the speaker says so.
    yield from _after_keyword(text, _SSN_WORD, _SSN_BARE)


def _accounts(text: str) -> Iterator[Span]:
    yield from _after_keyword(text, _ACCOUNT_WORD, _ACCOUNT_DIGITS)


def _phones(text: str) -> Iterator[Span]:
    for pattern in _PHONE_PATTERNS:
        for m in pattern.finditer(text):
            if 8 <= len(_digits(m.group())) <= 15:
                yield m.span()


def _spoken_digit_count(run: str) -> int:
    count, repeat = 0, 1
    for word in re.findall(r"[A-Za-z]+", run.lower()):
        if word in ("double", "triple"):
            repeat = 2 if word == "double" else 3
            continue
        count += repeat
        repeat = 1
    return count


def _spoken(text: str) -> Iterator[Span]:
    for m in _SPOKEN_RUN.finditer(text):
        if _spoken_digit_count(m.group()) >= _SPOKEN_MIN_DIGITS:
            yield m.span()


def _spoken_accounts(text: str) -> Iterator[Span]:
    yield from _after_keyword(text, _ACCOUNT_WORD, _SPOKEN_RUN)


# Priority order: the more specific (checksummed, keyword-anchored) detector claims a span first.
_DETECTORS: tuple[tuple[RedactionKind, Detector], ...] = (
    ("EMAIL", _emails),
    ("IBAN", _ibans),
    ("CARD", _cards),
    ("SSN", _ssns),
    ("ACCOUNT", _accounts),
    ("ACCOUNT", _spoken_accounts),
    ("PHONE", _phones),
    ("PHONE", _spoken),
)


def redact(text: str) -> tuple[str, list[Redaction]]:
    """Replace personal and payment data in ``text`` with typed placeholders.

    Args:
        text: any transcript or free text.

    Returns:
        The redacted text and the replaced spans (kind, start, end in the *original* text),
        sorted by position. Text with nothing to redact is returned unchanged (same string).
    """
    taken: list[Redaction] = []
    for kind, detect in _DETECTORS:
        for start, end in detect(text):
            if any(start < r.end and r.start < end for r in taken):
                continue
            taken.append(Redaction(kind, start, end))
    if not taken:
        return text, []
    taken.sort(key=lambda r: r.start)
    parts: list[str] = []
    pos = 0
    for r in taken:
        parts.append(text[pos : r.start])
        parts.append(r.placeholder)
        pos = r.end
    parts.append(text[pos:])
    return "".join(parts), taken
