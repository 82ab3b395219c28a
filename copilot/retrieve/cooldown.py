"""Per-call suggestion cooldown: the same section is not suggested twice within a window. Pure.

Time is *call audio time* handed in by the caller (never the wall clock), so replays and tests
behave exactly like live calls.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar

__all__ = ["Cooldown"]

T = TypeVar("T")


class Cooldown:
    """Remembers when each section was last suggested in one call.

    Args:
        window_s: seconds of call time during which a suggested section stays blocked.
    """

    def __init__(self, window_s: float = 120.0) -> None:
        if window_s < 0:
            raise ValueError("window_s must be >= 0")
        self.window_s = window_s
        self._last: dict[str, float] = {}

    def ready(self, section_id: str, now: float) -> bool:
        """Whether ``section_id`` may be suggested at call time ``now`` (does not record)."""
        last = self._last.get(section_id)
        return last is None or now - last >= self.window_s or now < last

    def mark(self, section_id: str, now: float) -> None:
        """Record that ``section_id`` was suggested at call time ``now``."""
        self._last[section_id] = now

    def unmark(self, section_id: str, at: float) -> None:
        """Undo :meth:`mark` of ``section_id`` at call time ``at`` (a withdrawn card); a later
        mark of the same section stays."""
        if self._last.get(section_id) == at:
            del self._last[section_id]

    def allow(self, section_id: str, now: float) -> bool:
        """:meth:`ready`, and if so :meth:`mark` — the usual check-and-record step."""
        if not self.ready(section_id, now):
            return False
        self.mark(section_id, now)
        return True

    def filter(self, hits: Sequence[T], now: float, *, key: str = "section") -> list[T]:
        """Hits whose section is ready at ``now``; nothing is recorded (call :meth:`mark`).

        ``key`` names the attribute of a hit holding the section (an object with ``id``).
        """
        return [h for h in hits if self.ready(getattr(h, key).id, now)]

    def mark_all(self, section_ids: Iterable[str], now: float) -> None:
        for sid in section_ids:
            self.mark(sid, now)
