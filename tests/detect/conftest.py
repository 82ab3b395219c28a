"""Shared fixtures: the real embedding model (loaded once per process) and the repo's playbooks."""

from __future__ import annotations

from pathlib import Path

import pytest

from copilot.playbooks.loader import load_playbooks
from copilot.playbooks.model import PlaybookSet
from copilot.retrieve.embedder import Embedder

PLAYBOOKS_DIR = Path(__file__).resolve().parents[2] / "playbooks"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return Embedder.shared()


@pytest.fixture(scope="session")
def playbooks() -> PlaybookSet:
    return load_playbooks(PLAYBOOKS_DIR)
