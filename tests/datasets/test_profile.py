"""Text profiles: deterministic features, and a reference that describes its data."""

from __future__ import annotations

import numpy as np
import pytest

from trunkml.datasets.profile import (
    NGRAM_BUCKETS,
    CountTable,
    build_profile,
    ngram_buckets,
    normalise,
    out_of_vocabulary,
    token_hashes,
    tokens,
)

TEXTS = ["Olá @maria, vê isto: https://t.co/abc 2019!", "que dia lindo 🙂", "", "ab", "odeio os zorbanos"]


def test_tokens_hide_users_links_and_numbers() -> None:
    assert tokens(TEXTS[0]) == ["olá", "@user", "vê", "isto", "<url>", "<num>"]
    assert tokens("@ana @rui") == ["@user", "@user"]
    assert token_hashes("Odeio OS zorbanos").tolist() == token_hashes("odeio os zorbanos").tolist()


def test_ngram_buckets_of_a_batch_equal_those_of_each_text_alone() -> None:
    together = ngram_buckets(TEXTS)
    alone = [ngram_buckets([text])[0] for text in TEXTS]
    assert [a.tolist() for a in together] == [b.tolist() for b in alone]
    assert normalise(TEXTS[0]) == "olá @user , vê isto: <url> 2019!"
    assert [len(a) for a in together] == [max(len(normalise(t)) - 2, 0) for t in TEXTS]
    assert all(int(a.max(initial=0)) < NGRAM_BUCKETS for a in together)
    assert ngram_buckets([]) == []


def test_count_table_round_trips_and_keeps_the_total() -> None:
    values = np.array([5, 5, 9, 1, 5, 9], dtype=np.uint32)
    table = CountTable.build(values, min_count=2)
    keys, counts = table.arrays()
    assert keys.tolist() == [5, 9]
    assert counts.tolist() == [3, 2]
    assert table.total == 6
    assert table.other_share() == pytest.approx(1 / 6)


def test_profile_describes_train_and_eval() -> None:
    train = ["os zorbanos são maus", "os velinas são bons", "dia de praia"] * 4
    evaluation = ["os marcianos são maus", "dia de sol"]
    profile = build_profile(train, [1, 0, 0] * 4, evaluation, [1, 0], [0.9, 0.2])
    vocabulary = profile.vocabulary.arrays()[0]
    assert profile.label_prior == pytest.approx(1 / 3)
    assert profile.eval_positive_rate == 0.5
    assert profile.eval_scores == [0.9, 0.2]
    assert profile.oov_rate == pytest.approx(2 / 7)  # "marcianos" and "sol" are new
    assert out_of_vocabulary(token_hashes("os zorbanos"), vocabulary) == 0.0
    assert sorted(profile.text_chars) == sorted(len(t) for t in train)
    assert type(profile).model_validate_json(profile.model_dump_json()) == profile
