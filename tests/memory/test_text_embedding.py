from __future__ import annotations

import numpy as np

from memory.records import Subgoal
from memory.text_embedding import DIM, SubgoalEmbedder


def test_embeds_offline_and_caches_per_subgoal_string():
    embedder = SubgoalEmbedder()
    texts = [Subgoal("collect", "wood", 3).text, Subgoal("defeat", "zombie", 1).text]
    first = embedder.embed(texts)
    assert first.shape == (2, DIM) and first.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, rtol=1e-4)
    assert not np.allclose(first[0], first[1])
    again = embedder.embed([texts[1], texts[0], texts[0]])
    assert embedder.encoded == 2  # served from the cache
    np.testing.assert_array_equal(again[0], first[1])
    wood, stone, zombie = embedder.embed(
        ["collect wood x4", "collect stone x4", "defeat zombie x1"]
    )
    assert wood @ stone > wood @ zombie
