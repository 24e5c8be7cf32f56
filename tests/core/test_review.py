"""The review loop: answers go to the label database first, re-rank, and are picked up by later loops."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

from core.bands import PS1
from core.errors import ConfigError
from core.labels import INTERESTING, LabelStore
from core.ranking import RankingConfig
from core.review import ReviewLoop
from tests._catalogs import make_catalog

CONFIG = RankingConfig(n_top=400)


@pytest.fixture(scope="module")
def planted():
    """A scored-like catalog with two kinds of outlier: a smooth blue excess (interesting) and one wild band."""
    n = 2000
    df = make_catalog(n, seed=4)
    rng = np.random.default_rng(4)
    for b in "grizy":
        df[f"{b}_res"] = rng.normal(0, 0.01, n)
    odd = np.arange(0, n, 40)
    df.loc[odd[::2], ["g_res", "r_res"]] += [0.15, 0.08]
    df.loc[odd[1::2], "z_res"] += 0.4
    df["max_abs_res"] = np.abs(df[[f"{b}_res" for b in "grizy"]]).max(axis=1)
    return df, set(df["obj_id"].iloc[odd[::2]].tolist()), set(df["obj_id"].iloc[odd[1::2]].tolist())


def test_answers_are_stored_with_their_origin_and_re_rank(planted, tmp_path):
    df, blue, wild = planted
    store = LabelStore(tmp_path / "labels.sqlite")
    loop = ReviewLoop(df, PS1, 0.05, store, CONFIG, origin={"catalog": "sky.parquet"})
    before = loop.top(400)["obj_id"].tolist()
    for _ in range(10):
        star = loop.next_candidate()
        loop.answer(star, star in blue)
    assert len(store.answers()) == 10 and loop.revision == 10 and loop.last_refit_s > 0
    after = loop.top(30)
    assert after["obj_id"].tolist() != before and not set(after["obj_id"]) & set(loop.answers)
    unanswered_before = [o for o in before if o not in loop.answers][:20]  # the same stars competing
    # Only the blue stars are answered "interesting": the wild-band stars sink.
    assert sum(int(o) in wild for o in after["obj_id"].head(20)) < sum(int(o) in wild for o in unanswered_before)
    origin = json.loads(store.table(INTERESTING)["origin"].iloc[0])
    assert origin["by"] == "anomaly ranking" and origin["catalog"] == "sky.parquet" and origin["rank"] >= 1
    with pytest.raises(ConfigError, match="not one of"):
        loop.answer(-5, True)


def test_a_new_loop_starts_from_the_stored_answers_and_sees_other_writers(planted, tmp_path):
    df, blue, wild = planted
    path = tmp_path / "labels.sqlite"
    first = ReviewLoop(df, PS1, 0.05, LabelStore(path), CONFIG)
    for _ in range(6):
        star = first.next_candidate()
        first.answer(star, star in blue)
    again = ReviewLoop(df, PS1, 0.05, LabelStore(path), CONFIG)  # e.g. after a restart
    assert again.answers == first.answers
    assert set(again.top(20)["obj_id"]) & set(first.top(20)["obj_id"])  # the same learned ranking, roughly
    assert not again.refresh()  # nothing new
    other = LabelStore(path)  # another session or process answers
    star = again.next_candidate()
    other.answer(star, True)
    assert first.refresh() and first.answers[star] is True and star not in set(first.top(50)["obj_id"])
    other.remove(INTERESTING, [star])  # an answer taken back: the forest starts again without it
    assert first.refresh() and star not in first.answers


def test_answers_from_several_threads_are_all_kept(planted, tmp_path):
    df, _, _ = planted
    store = LabelStore(tmp_path / "labels.sqlite")
    loop = ReviewLoop(df, PS1, 0.05, store, CONFIG)
    stars = loop.top(8)["obj_id"].tolist()
    threads = [threading.Thread(target=loop.answer, args=(s, k % 2 == 0)) for k, s in enumerate(stars)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert store.answers() == {s: k % 2 == 0 for k, s in enumerate(stars)} == loop.answers
