"""The on-disk response cache: keys follow the request, writes are atomic, damaged entries are misses."""

from __future__ import annotations

import pandas as pd

from core.archives.cache import ResponseCache, atomic_write_bytes, request_key
from core.paths import cache_dir


def test_keys_depend_on_every_part_of_the_request():
    df = pd.DataFrame({"obj_id": [1, 2], "ra": [10.0, 11.0]})
    base = request_key("http://x/tap", "SELECT 1", df)
    assert base == request_key("http://x/tap", "SELECT 1", df.copy())
    assert base != request_key("http://y/tap", "SELECT 1", df)
    assert base != request_key("http://x/tap", "SELECT 2", df)
    assert base != request_key("http://x/tap", "SELECT 1", df.assign(ra=[10.0, 11.000001]))


def test_frames_round_trip_under_the_cache_dir():
    cache = ResponseCache("gaia")
    df = pd.DataFrame({"obj_id": [1, 2], "parallax": [0.5, float("nan")]})
    key = request_key("q")
    assert cache.get_frame(key) is None
    cache.put_frame(key, df)
    assert cache.path(key, "parquet").is_relative_to(cache_dir())
    pd.testing.assert_frame_equal(cache.get_frame(key), df)
    assert not list(cache.root.rglob(".*partial*"))


def test_a_damaged_entry_is_a_miss_and_is_removed():
    cache = ResponseCache("simbad")
    key = request_key("damaged")
    atomic_write_bytes(cache.path(key, "parquet"), b"PAR1 not really")
    assert cache.get_frame(key) is None
    assert not cache.path(key, "parquet").exists()


def test_disabled_cache_never_stores():
    cache = ResponseCache("ps1", enabled=False)
    cache.put_bytes("ab" * 32, b"x", "jpg")
    assert cache.get_bytes("ab" * 32, "jpg") is None and not cache.root.exists()
