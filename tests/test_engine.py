from copilot.engine import hotword_names
from copilot.playbooks.model import Competitor, PlaybookSet


def test_only_one_word_names_bias_the_recogniser():
    pb = PlaybookSet(root="x", version="v", competitors=(
        Competitor("algolia", "Algolia"), Competitor("mongodb_atlas", "MongoDB Atlas Search"),
        Competitor("typesense", "Typesense"), Competitor("pg", "PostgreSQL full-text search")))
    assert hotword_names(pb) == ["Algolia", "Typesense"]
