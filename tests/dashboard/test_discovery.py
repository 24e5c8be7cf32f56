"""The discovery loop without a browser: labels (presets, colour-bys, exports, other sessions), the anomaly
review (answers stored and re-ranking, restarts) and find more like these (probability, neighbours)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from matplotlib.path import Path as MplPath

from core import INTERESTING, NOT_INTERESTING, LabelStore, NeighbourIndex, RankingConfig
from core.export import ExportOptions, read_export
from core.similarity import FINGERPRINT, feature_space
from dashboard import review as review_module
from dashboard.findmore import RANDOM, FindMore, space_choices
from dashboard.labelling import PREFIX, Labelling, LabelPanel, open_store
from dashboard.review import Review, ReviewPanel
from dashboard.sky import SkyData
from dashboard.state import AppState
from dashboard.views import Controls, SelectionSummary

POLY = np.array([[-0.1, -0.3], [0.1, -0.4], [0.15, 0.3], [-0.05, 0.2]])


@pytest.fixture
def store(tmp_path):
    return LabelStore(tmp_path / "labels.sqlite")


@pytest.fixture
def state(sky, store):
    return AppState(sky, labels=store)


def _inside(sky, poly=POLY):
    return MplPath(poly).contains_points(sky.df[["latent_x", "latent_y"]].to_numpy(float))


# ----- labels ---------------------------------------------------------------------------------------
def test_labelling_a_lasso_stores_the_stars_and_where_they_came_from(state, store, sky):
    labelling = Labelling(state=state)
    state.threshold = 0.08
    n = state.select_polygon("latent", POLY)
    assert labelling.label_selection("BHB candidate", note="blue, faint") == n > 0
    np.testing.assert_array_equal(store.members("BHB candidate"), np.sort(sky.df["obj_id"][_inside(sky)]))
    origin = json.loads(store.table("BHB candidate")["origin"].iloc[0])
    assert origin["selection"] == state.geometry and origin["threshold"] == 0.08
    assert origin["catalog"] == str(sky.catalog_path) and origin["model"]["dir"] == str(sky.model_dir)
    assert origin["model"]["name"] == "pca" and store.table()["note"].iloc[0] == "blue, faint"
    assert "Labelled" in labelling.status and f"{n:,}" in labelling.status


def test_label_sets_become_presets_and_colour_bys(state, sky):
    labelling = Labelling(state=state)
    controls = Controls(state=state)
    state.select_polygon("latent", POLY)
    labelling.label_selection("odd")
    expected = state.selection.copy()
    assert PREFIX + "odd" in state.presets() and PREFIX + "odd" in controls._preset.options
    state.clear_selection()
    controls._preset.value = PREFIX + "odd"  # the preset widget selects every star with the label
    np.testing.assert_array_equal(state.selection, expected)
    assert state.geometry["source"] == "label" and state.geometry["label"] == "odd"
    assert PREFIX + "odd" in state.param.colour_by.objects
    state.colour_by = PREFIX + "odd"
    values, cats, clim = state.colour_values()
    assert cats is None and clim == (0.0, 1.0)
    np.testing.assert_array_equal(np.flatnonzero(values == 1), expected)
    assert state.colour_streams() == ["colour_revision"]
    before = state.colour_revision
    state.select_box("latent", (-5, -5, 5, 5))
    labelling.label_selection("odd")  # more stars: the colour shown redraws with them
    assert state.colour_revision > before and (state.colour_values()[0] == 1).sum() > len(expected)
    labelling.remove_from_selection("odd")
    assert PREFIX + "odd" not in state.presets() and state.colour_by != PREFIX + "odd"


def test_stars_picked_in_the_table_can_be_labelled_and_bad_names_are_refused(state, store):
    summary, labelling = SelectionSummary(state=state), Labelling(state=state)
    assert labelling.label_picked("x") == 0 and "Pick stars" in labelling.status
    state.select_box("latent", (-5, -5, 5, 5))
    summary.table.selection = [0, 2]
    ids = [int(summary.table.value["obj_id"].iloc[i]) for i in (0, 2)]
    assert state.picked == ids
    assert labelling.label_picked("picked", note="from the table") == 2
    assert store.members("picked").tolist() == sorted(ids)
    assert labelling.label_selection("  ") == 0 and "needs a name" in labelling.status
    state.select_box("latent", (-4, -4, 4, 4))  # a new selection clears the picked rows
    assert state.picked == []


def test_another_session_sees_new_labels_and_exports_carry_them(sky, store, tmp_path):
    a, b = AppState(sky, labels=store), AppState(sky, labels=LabelStore(store.path))
    la, lb = Labelling(state=a), Labelling(state=b)
    panel_b = LabelPanel(state=b)
    a.select_polygon("latent", POLY)
    la.label_selection("from A")
    assert PREFIX + "from A" not in b.presets()
    assert lb.sync() and PREFIX + "from A" in b.presets()  # the periodic poll of a served page
    assert "from A" in panel_b.sets.object
    a.select_box("latent", (-5, -5, 5, 5))
    task = a.prepare_export(ExportOptions("csv"))()
    path = task.write(tmp_path / "sel.csv")
    back, prov = read_export(path)
    labelled = set(store.members("from A").tolist())
    assert set(back.loc[back["labels"].fillna("") == "from A", "obj_id"]) == labelled
    assert prov["labels"] == str(store.path)


def test_an_unwritable_label_path_turns_labels_off_with_the_reason(sky, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    store, problem = open_store(blocker / "labels.sqlite")
    assert store is None and "Labels are off" in problem and "SEDSCAPE_LABELS" in problem
    panel = LabelPanel(state=AppState(sky), problem=problem)
    assert "Labels are off" in panel.sets.object
    assert panel.labelling.label_selection("x") == 0


# ----- the anomaly review -----------------------------------------------------------------------------
CONFIG = RankingConfig(n_top=1500, n_trees=60)


def test_answers_are_stored_as_labels_and_re_rank_the_table(state, store):
    labelling = Labelling(state=state)
    panel = ReviewPanel(state=state, config=CONFIG)
    rv = panel.review
    assert panel._answer_current(True) is None  # nothing to answer before the ranking exists
    rv.start().result(120)
    n_above = int((state.sky.df["max_abs_res"] > state.threshold).sum())
    assert rv.loop.n_candidates == max(n_above, CONFIG.n_top) and len(panel.table.value) == 100
    first = int(panel.table.value["obj_id"].iloc[0])
    assert panel._current == first and not panel.yes.disabled
    # The answer runs on a worker; without a server the table follows as soon as it is done.
    panel._answer_current(False).result(60)
    assert f"Re-ranked {rv.loop.n_candidates:,} candidates after 1 answer(s)" in rv.status and not rv.busy
    assert store.answers() == {first: False}
    assert int(panel.table.value["obj_id"].iloc[0]) != first and str(first) not in set(panel.table.value["obj_id"])
    origin = json.loads(store.table(NOT_INTERESTING)["origin"].iloc[0])
    assert origin["by"] == "anomaly ranking" and origin["rank"] == 1 and origin["threshold"] == state.threshold
    second = panel.table.value["obj_id"].iloc[0]
    panel._table_click(type("Click", (), {"column": "yes", "row": 0})()).result(60)  # the row's button
    assert store.answers() == {first: False, int(second): True}
    assert {PREFIX + INTERESTING, PREFIX + NOT_INTERESTING} <= set(state.presets())
    assert set(labelling.names) == {INTERESTING, NOT_INTERESTING}


def test_a_restarted_server_ranks_from_the_stored_answers(sky, store, monkeypatch):
    rv = Review(state=AppState(sky, labels=store), config=CONFIG)
    rv.start().result(120)
    for _ in range(3):
        rv.answer(rv.next_candidate(), False).result(60)
    answered = set(store.answers())
    monkeypatch.setattr(review_module, "_LOOPS", type(review_module._LOOPS)())  # a new process
    again = Review(state=AppState(sky, labels=LabelStore(store.path)), config=CONFIG)
    again.start().result(120)
    assert again.loop is not rv.loop and set(again.loop.answers) == answered
    top = again.candidates(50)
    assert not set(top["obj_id"]) & answered and {"max_abs_res", "res_band", "g"} <= set(top.columns)
    n = again.select_top(25)
    assert n == 25 and again.state.geometry["source"] == "anomaly ranking"
    assert "top 100 candidates (learned ranking)" in again.state.presets()


def test_other_sessions_follow_the_shared_ranking(sky, store):
    a = Review(state=AppState(sky, labels=store), config=CONFIG)
    b = Review(state=AppState(sky, labels=store), config=CONFIG)
    a.start().result(120)
    b.start().result(120)
    assert a.loop is b.loop  # one ranking per server and threshold
    a.answer(a.next_candidate(), False).result(60)
    before = b.revision
    b.poll()
    assert b.revision == before + 1 and b.next_candidate() == a.next_candidate()
    LabelStore(store.path).answer(b.next_candidate(), True)  # another process answers
    b.poll().result(60)
    assert len(b.loop.answers) == 2


# ----- find more like these -----------------------------------------------------------------------------
def test_find_more_colours_the_latent_by_probability_and_offers_the_top_candidates(state, store, sky):
    labelling, fm = Labelling(state=state), FindMore(state=state)
    assert fm.space == FINGERPRINT  # no embedding in this catalog
    assert fm.train() is None and "Label some stars" in fm.status
    latent_x = sky.df["latent_x"].to_numpy()
    region = latent_x > np.quantile(latent_x, 0.85)  # one end of the latent map: what the model saw as alike
    rng = np.random.default_rng(0)
    rows = rng.choice(np.flatnonzero(region), 40, replace=False)
    state.select_obj_ids(sky.df["obj_id"].to_numpy()[rows], "test")
    labelling.label_selection("region")
    assert fm.positive == "region" and fm.negative == RANDOM
    fm.train().result(120)
    result = fm.result
    assert result.n_positive == 40 and result.cv_roc_auc > 0.8 and "few labels" not in fm.warning
    assert state.colour_by == "P(like 'region')"
    values, cats, clim = state.colour_values()
    assert values is result.probability and clim == (0, 1)
    from sklearn.metrics import roc_auc_score

    rest = np.setdiff1d(np.arange(sky.n), rows)
    assert roc_auc_score(region[rest], values[rest]) > 0.85  # the unlabelled stars of the region rank high
    fm.top_n = 50
    assert fm.select_top() == 50 and not np.isin(rows, state.selection).any()
    assert "ROC-AUC" in fm.status and "trained in" in fm.status


def test_stars_like_a_picked_star_are_its_nearest_neighbours(state, sky):
    fm = FindMore(state=state)
    star = int(sky.df["obj_id"].iloc[17])
    fm.like(star, k=12).result(120)
    space = feature_space(sky.df, sky.bands, FINGERPRINT)
    near, _ = NeighbourIndex(space).query(17, 12)
    assert set(state.selection) == {17, *near.tolist()} and state.geometry["source"] == "stars like this one"
    assert fm.neighbours["obj_id"].tolist() == [str(i) for i in sky.df["obj_id"].to_numpy()[near]]


def test_an_embedding_in_the_catalog_is_the_first_feature_space(sky, store):
    df = sky.df.copy()
    rng = np.random.default_rng(2)
    for k in range(4):
        df[f"masked_ae__emb_{k:02d}"] = rng.normal(size=len(df)).astype(np.float32)
    emb_sky = SkyData(df=df, bands=sky.bands, catalog_path=sky.catalog_path.with_name("emb.parquet"))
    assert list(space_choices(emb_sky)) == ["embedding (masked_ae)", FINGERPRINT]
    state = AppState(emb_sky, labels=store)
    fm = FindMore(state=state)
    assert fm.space == "embedding (masked_ae)"
    store.add(df["obj_id"].iloc[:5], "few")
    Labelling(state=state)
    fm.sync_labels()
    fm.positive = "few"
    fm.train().result(120)
    assert fm.result.space == "embedding (masked_ae)" and fm.result.n_positive == 5
    assert "few labels" in fm.warning  # 5 positives: the result says it is uncertain
    assert fm.result.probability.dtype == np.float32 and len(fm.result.probability) == emb_sky.n
