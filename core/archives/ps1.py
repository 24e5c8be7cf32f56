"""Pan-STARRS1 DR2 mean photometry from MAST TAP, fetched tile by tile so a large region can resume.

A region (a cone, or the paper's Galactic annulus) is split into RA/Dec boxes small enough for one
async TAP job each. Every finished tile is written to ``OUT/tiles/`` atomically, so a fetch that was
interrupted resumes where it stopped; the tiles are then merged, de-duplicated, renamed to the
sedscape catalog contract and given Galactic ``l, b``.

Building the paper's data set (Hutchinson et al. 2025, 60 <= b <= 80 deg, all l): the annulus covers
2 pi (sin 80 - sin 60) sr ~ 2,450 deg^2. Assuming ~15-25 thousand PS1 DR2 mean objects per deg^2 at
these latitudes, that is a few tens of millions of raw rows (~10-20 GB as VOTable at ~0.35 kB/row),
which the paper's cuts reduce to ~3.1 million stars. With ``server_cuts=True`` the measurement-count
and error cuts run inside MAST and the download shrinks ~5-10x. Time is dominated by the service:
assuming ~5 MB/s aggregate over 4 concurrent jobs it is ~1 hour raw or ~10 minutes with server cuts,
plus job queueing; these are assumptions, not measurements (no archive is reachable from the build
machines).
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core.archives.cache import atomic_write_bytes, atomic_write_frame
from core.archives.config import ArchiveConfig, archive_config
from core.archives.parallel import fetch_all
from core.archives.tap import TapClient
from core.errors import ArchiveError, CatalogError, ConfigError

log = logging.getLogger(__name__)

BANDS = ("g", "r", "i", "z", "y")
MEAN_OBJECT_TABLE = "dbo.MeanObjectView"
PS1_COLUMNS: tuple[str, ...] = (
    "objID", "raMean", "decMean", "raMeanErr", "decMeanErr", "nDetections",
    *(f"n{b}" for b in BANDS),
    *(f"{b}QfPerfect" for b in BANDS),
    *(f"{b}MeanPSFMag" for b in BANDS),
    *(f"{b}MeanPSFMagErr" for b in BANDS),
)
# PS1 DR2 names -> sedscape contract. The file readers' alias table is used when it is importable
# (one mapping for files and archive); this copy is the fallback and documents what we expect.
PS1_TO_CONTRACT: dict[str, str] = {
    "objID": "obj_id", "raMean": "ra", "decMean": "dec",
    "raMeanErr": "ra_err_arcsec", "decMeanErr": "dec_err_arcsec",
    **{f"n{b}": f"n_{b}" for b in BANDS},
    **{f"{b}QfPerfect": f"qf_{b}" for b in BANDS},
    **{f"{b}MeanPSFMag": b for b in BANDS},
    **{f"{b}MeanPSFMagErr": f"{b}_err" for b in BANDS},
}
STRM_TABLE_ENV = "SEDSCAPE_PS1_STRM_TABLE"
STRM_DEFAULT_TABLE = "catalogRecordRowStore"


@dataclass(frozen=True)
class Cone:
    """A circle on the sky, degrees."""

    ra: float
    dec: float
    radius: float

    def __post_init__(self) -> None:
        if not (0 <= self.ra < 360 and -90 <= self.dec <= 90 and 0 < self.radius <= 30):
            raise ConfigError(f"cone needs 0 <= RA < 360, -90 <= Dec <= 90, 0 < radius <= 30 deg; got {self}")

    def contains(self, ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
        return angular_sep(self.ra, self.dec, ra, dec) <= self.radius

    def to_dict(self) -> dict:
        return {"kind": "cone", **asdict(self)}

    def describe(self) -> str:
        return f"cone RA {self.ra:g}, Dec {self.dec:g}, radius {self.radius:g} deg"


@dataclass(frozen=True)
class GalacticAnnulus:
    """All longitudes with ``bmin <= b <= bmax`` (degrees); the paper uses 60-80."""

    bmin: float
    bmax: float

    def __post_init__(self) -> None:
        if not -90 <= self.bmin < self.bmax <= 90:
            raise ConfigError(f"annulus needs -90 <= BMIN < BMAX <= 90 deg; got {self.bmin}, {self.bmax}")

    def contains(self, ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
        _, b = galactic(ra, dec)
        return (b >= self.bmin) & (b <= self.bmax)

    def to_dict(self) -> dict:
        return {"kind": "galactic_annulus", **asdict(self)}

    def describe(self) -> str:
        return f"Galactic annulus {self.bmin:g} <= b <= {self.bmax:g} deg"


Region = Cone | GalacticAnnulus


@dataclass(frozen=True)
class Tile:
    """One RA/Dec box (half-open: lo <= x < hi) of a region; ``cone`` adds a circle condition."""

    index: int
    ra_lo: float
    ra_hi: float
    dec_lo: float
    dec_hi: float
    cone: Cone | None = None

    @property
    def name(self) -> str:
        return f"tile_{self.index:05d}"


def angular_sep(ra0: float, dec0: float, ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
    """Great-circle distance in degrees (haversine)."""
    ra0, dec0, ra, dec = map(np.radians, (ra0, dec0, np.asarray(ra, float), np.asarray(dec, float)))
    h = np.sin((dec - dec0) / 2) ** 2 + np.cos(dec) * np.cos(dec0) * np.sin((ra - ra0) / 2) ** 2
    return np.degrees(2 * np.arcsin(np.sqrt(np.clip(h, 0, 1))))


def galactic(ra: np.ndarray, dec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Galactic ``(l, b)`` in degrees of ICRS ``(ra, dec)``."""
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    c = SkyCoord(ra=np.asarray(ra, float) * u.deg, dec=np.asarray(dec, float) * u.deg, frame="icrs").galactic
    return c.l.deg, c.b.deg


def make_tiles(region: Region, tile_deg: float = 2.0) -> list[Tile]:
    """Boxes of about ``tile_deg`` on a side that together cover ``region`` (and a little more)."""
    if not 0.05 <= tile_deg <= 20:
        raise ConfigError(f"tile size must be between 0.05 and 20 deg, got {tile_deg}")
    if isinstance(region, Cone) and region.radius <= tile_deg / 2:
        r = region
        dec_lo, dec_hi = max(-90.0, r.dec - r.radius), min(90.0, r.dec + r.radius)
        return [Tile(0, 0.0, 360.0, round(dec_lo, 6), round(dec_hi, 6) if dec_hi < 90 else 90.000001, r)]
    if isinstance(region, Cone):
        dec_min, dec_max = max(-90.0, region.dec - region.radius), min(90.0, region.dec + region.radius)
    else:
        dec_min, dec_max = -90.0, 90.0
    n_dec = max(1, math.ceil((dec_max - dec_min) / tile_deg))
    dec_edges = np.linspace(dec_min, dec_max, n_dec + 1)
    boxes = []
    for d_lo, d_hi in zip(dec_edges[:-1], dec_edges[1:], strict=True):
        widest = math.cos(math.radians(min(abs(d_lo), abs(d_hi)) if d_lo * d_hi > 0 else 0.0))
        n_ra = max(1, math.ceil(360 * widest / tile_deg))
        ra_edges = np.linspace(0, 360, n_ra + 1)
        boxes += [(a, b, d_lo, d_hi) for a, b in zip(ra_edges[:-1], ra_edges[1:], strict=True)]
    keep = _boxes_touching(region, np.array(boxes), tile_deg)
    tiles = []
    for k, (a, b, lo, hi) in enumerate(np.array(boxes)[keep]):
        hi = 90.000001 if hi >= 90 else hi  # half-open boxes must still include the pole
        tiles.append(Tile(k, round(a, 6), round(b, 6), round(lo, 6), round(hi, 6),
                          region if isinstance(region, Cone) else None))
    return tiles


def _boxes_touching(region: Region, boxes: np.ndarray, tile_deg: float, n: int = 9) -> np.ndarray:
    """Which boxes may hold part of ``region``: sample each box on an n x n grid, keep a margin."""
    f = np.linspace(0, 1, n)
    ra = boxes[:, 0, None, None] + (boxes[:, 1] - boxes[:, 0])[:, None, None] * f[None, :, None]
    dec = boxes[:, 2, None, None] + (boxes[:, 3] - boxes[:, 2])[:, None, None] * f[None, None, :]
    ra, dec = np.broadcast_arrays(ra, dec)
    # Any point of a box is within ~0.71 grid steps of a sample; b and distance change by at most that much.
    margin = 1.5 * tile_deg / (n - 1) + 1e-6
    if isinstance(region, Cone):
        d = angular_sep(region.ra, region.dec, ra.ravel(), dec.ravel()).reshape(ra.shape)
        return d.min(axis=(1, 2)) <= region.radius + margin
    _, b = galactic(ra.ravel(), dec.ravel())
    b = b.reshape(ra.shape)
    return (b.min(axis=(1, 2)) <= region.bmax + margin) & (b.max(axis=(1, 2)) >= region.bmin - margin)


def server_cut_sql(min_measurements: int = 5, max_err: float = 0.05) -> str:
    """The paper's measurement-count and error cuts as ADQL, to run inside MAST."""
    parts = [f"n{b} >= {int(min_measurements)}" for b in BANDS]
    parts += [f"{b}MeanPSFMagErr >= 0 AND {b}MeanPSFMagErr <= {max_err:g}" for b in BANDS]
    return " AND ".join(parts)


def tile_adql(tile: Tile, *, table: str = MEAN_OBJECT_TABLE, server_cuts: str = "") -> str:
    """The ADQL for one tile of PS1 mean objects."""
    where = [
        f"raMean >= {tile.ra_lo:.6f} AND raMean < {tile.ra_hi:.6f}",
        f"decMean >= {tile.dec_lo:.6f} AND decMean < {tile.dec_hi:.6f}",
    ]
    if tile.cone is not None:
        c = tile.cone
        where.append(f"CONTAINS(POINT('ICRS', raMean, decMean), CIRCLE('ICRS', {c.ra:.7f}, {c.dec:.7f}, "
                     f"{c.radius:.7f})) = 1")
    if server_cuts:
        where.append(server_cuts)
    return f"SELECT {', '.join(PS1_COLUMNS)} FROM {table} WHERE " + " AND ".join(where)


def strm_adql(tile: Tile, table: str) -> str:
    """PS1-STRM star probability for the objects of one tile (joined on objID afterwards)."""
    return (f"SELECT objID, prob_Star FROM {table} WHERE raMean >= {tile.ra_lo:.6f} AND raMean < "
            f"{tile.ra_hi:.6f} AND decMean >= {tile.dec_lo:.6f} AND decMean < {tile.dec_hi:.6f}")


def _rename_map(columns: list[str]) -> dict[str, str]:
    """PS1 column -> contract column, from ``core.readers`` when available, else :data:`PS1_TO_CONTRACT`."""
    mapping = {"raMeanErr": "ra_err_arcsec", "decMeanErr": "dec_err_arcsec", "prob_Star": "prob_star"}
    try:
        from core.bands import PS1
        from core.readers.columns import aliases
    except ImportError:
        return {**PS1_TO_CONTRACT, **mapping}
    for contract, names in aliases(PS1).items():
        found = next((n for n in names if n in columns and n != contract), None)
        if found is not None and contract not in columns:
            mapping[found] = contract
    return mapping


def to_contract(raw: pd.DataFrame) -> pd.DataFrame:
    """Rename PS1 DR2 columns to the catalog contract and add Galactic ``l, b``."""
    missing = [c for c in ("objID", "raMean", "decMean") if c not in raw.columns]
    if missing:
        raise CatalogError(f"PS1 answer lacks column(s) {missing}; columns: {list(raw.columns)[:20]}")
    df = raw.rename(columns=_rename_map(list(raw.columns)))
    df["obj_id"] = df["obj_id"].astype("int64")
    floats = [*BANDS, *(f"{b}_err" for b in BANDS), *(f"qf_{b}" for b in BANDS), "prob_star"]
    for col in floats:
        if col in df.columns:
            df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    l_deg, b_deg = galactic(df["ra"].to_numpy(float), df["dec"].to_numpy(float)) if len(df) else ([], [])
    df.insert(3, "l", np.asarray(l_deg, float))
    df.insert(4, "b", np.asarray(b_deg, float))
    return df


@dataclass
class FetchResult:
    """What a fetch did: the merged catalog (contract columns) and its bookkeeping."""

    catalog: pd.DataFrame
    n_tiles: int
    n_tiles_fetched: int
    n_tiles_resumed: int
    n_duplicates: int
    n_outside_region: int
    provenance: dict


class PS1Fetcher:
    """Fetch a region of PS1 DR2 into ``out_dir`` tile by tile; see the module docstring."""

    def __init__(
        self,
        out_dir: str | Path,
        region: Region,
        *,
        tile_deg: float = 2.0,
        server_cuts: bool = False,
        config: ArchiveConfig | None = None,
        strm_config: ArchiveConfig | None = None,
        mode: str = "async",
        progress: bool | None = None,
    ) -> None:
        self.out_dir = Path(out_dir)
        self.region = region
        self.tile_deg = tile_deg
        self.config = config or archive_config("ps1")
        self.strm_config = strm_config if strm_config is not None else archive_config("ps1_strm")
        self.server_cuts = server_cut_sql() if server_cuts else ""
        self.mode = mode
        self.progress = progress
        self.tiles = make_tiles(region, tile_deg)
        self._local = threading.local()
        self._clients: list[TapClient] = []
        self._clients_lock = threading.Lock()
        self.strm_table = os.environ.get(STRM_TABLE_ENV, STRM_DEFAULT_TABLE)

    @property
    def tile_dir(self) -> Path:
        return self.out_dir / "tiles"

    def manifest(self) -> dict:
        return {
            "service": self.config.display_name, "url": self.config.url, "table": MEAN_OBJECT_TABLE,
            "region": self.region.to_dict(), "tile_deg": self.tile_deg, "n_tiles": len(self.tiles),
            "server_cuts": self.server_cuts, "columns": list(PS1_COLUMNS),
            "strm": bool(self.strm_config.url) and f"{self.strm_config.url} {self.strm_table}",
        }

    def _check_manifest(self) -> None:
        path = self.out_dir / "fetch.json"
        mine = self.manifest()
        if path.exists():
            theirs = json.loads(path.read_text())
            keys = ("region", "tile_deg", "server_cuts", "columns", "strm")
            diff = [k for k in keys if theirs.get(k) != mine.get(k)]
            if diff:
                raise ConfigError(
                    f"{self.out_dir} holds a fetch with different {', '.join(diff)} "
                    f"({ {k: theirs.get(k) for k in diff} }); use another --out folder or delete it"
                )
        else:
            atomic_write_bytes(path, json.dumps(mine, indent=2).encode())

    def _client(self, which: str) -> TapClient:
        """One client per worker thread and service (sessions are not shared between threads)."""
        client = getattr(self._local, which, None)
        if client is None:
            cfg = self.config if which == "ps1" else self.strm_config
            client = TapClient(cfg, cache=False)  # the tile files are the cache
            setattr(self._local, which, client)
            with self._clients_lock:
                self._clients.append(client)
        return client

    def _close_clients(self) -> None:
        with self._clients_lock:
            for client in self._clients:
                client.close()
            self._clients.clear()

    def fetch_tile(self, tile: Tile) -> Path:
        """Download one tile (and its STRM probabilities when offered) and write it atomically."""
        df = self._client("ps1").query(tile_adql(tile, server_cuts=self.server_cuts), mode=self.mode)
        if self.strm_config.url:
            strm = self._client("strm").query(strm_adql(tile, self.strm_table), mode=self.mode)
            df = df.merge(strm[["objID", "prob_Star"]], on="objID", how="left")
        path = self.tile_dir / f"{tile.name}.parquet"
        atomic_write_frame(path, df)
        return path

    def run(self, on_tile: Callable[[Tile], None] | None = None, *, merge: bool = True) -> FetchResult | None:
        """Fetch every missing tile (bounded concurrency), then merge all tiles (unless ``merge=False``:
        then read them one at a time with :meth:`iter_tiles`)."""
        self.tile_dir.mkdir(parents=True, exist_ok=True)
        self._check_manifest()
        todo = [t for t in self.tiles if not (self.tile_dir / f"{t.name}.parquet").exists()]
        resumed = len(self.tiles) - len(todo)
        if resumed:
            log.info("resuming: %d of %d tiles already on disk in %s", resumed, len(self.tiles), self.tile_dir)
        from tqdm.auto import tqdm

        bar = tqdm(total=len(self.tiles), initial=resumed, unit="tile", desc="PS1 tiles",
                   disable=None if self.progress is None else not self.progress)
        try:
            fetch_all(todo, self.fetch_tile, max_workers=self.config.max_workers, bar=bar,
                      interrupted=self._interrupted, on_done=on_tile)
        finally:
            self._close_clients()
            bar.close()
        self.n_fetched, self.n_resumed = len(todo), resumed
        return self.merge(n_fetched=len(todo), n_resumed=resumed) if merge else None

    def iter_tiles(self) -> Iterator[tuple[pd.DataFrame, int, int]]:
        """Each saved tile in the catalog contract, one in memory at a time: (rows, duplicates dropped
        inside the tile, rows outside the region dropped). Duplicates across tiles are left to the
        writer (the same objID has the same position, so it lands in the same HATS partition)."""
        for t in self.tiles:
            path = self.tile_dir / f"{t.name}.parquet"
            if not path.exists():
                raise CatalogError(f"{path} is missing; the fetch is incomplete, run it again to resume")
            raw = pd.read_parquet(path)
            n_dup = int(raw["objID"].duplicated().sum()) if len(raw) else 0
            raw = raw.drop_duplicates("objID", keep="first") if len(raw) else raw
            inside = self.region.contains(raw["raMean"].to_numpy(float), raw["decMean"].to_numpy(float)) \
                if len(raw) else np.zeros(0, bool)
            n_out = int((~inside).sum())
            raw = raw[inside].sort_values("objID").reset_index(drop=True)
            yield (to_contract(raw) if len(raw) else pd.DataFrame()), n_dup, n_out

    def _interrupted(self, exc: BaseException) -> BaseException:
        saved = len(list(self.tile_dir.glob("tile_*.parquet")))
        note = (f"{saved} of {len(self.tiles)} tiles are saved in {self.tile_dir}; run the same command "
                "again to resume")
        if isinstance(exc, ArchiveError):
            hint = f"{exc.hint.rstrip('. ')}. {note}" if exc.hint else note
            return type(exc)(exc.service, exc.request, exc.problem, hint)
        return exc

    def merge(self, *, n_fetched: int = 0, n_resumed: int = 0) -> FetchResult:
        """Concatenate the tiles, drop duplicates and rows outside the region (counted), rename."""
        frames = []
        for t in self.tiles:
            path = self.tile_dir / f"{t.name}.parquet"
            if not path.exists():
                raise CatalogError(f"{path} is missing; the fetch is incomplete, run it again to resume")
            frames.append(pd.read_parquet(path))
        frames = [f for f in frames if len(f)] or frames[:1]
        raw = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(PS1_COLUMNS))
        n_dup = int(raw["objID"].duplicated().sum())
        raw = raw.drop_duplicates("objID", keep="first")
        inside = self.region.contains(raw["raMean"].to_numpy(float), raw["decMean"].to_numpy(float)) \
            if len(raw) else np.zeros(0, bool)
        n_out = int((~inside).sum())
        raw = raw[inside].sort_values("objID").reset_index(drop=True)
        df = to_contract(raw)
        prov = {
            **self.manifest(), "n_rows": len(df), "n_duplicates_dropped": n_dup,
            "n_outside_region_dropped": n_out, "prob_star": "prob_star" in df.columns,
        }
        df.attrs["sedscape"] = {"source": "ps1_dr2_tap", "provenance": prov}
        if n_dup or n_out:
            log.info("merged %d rows; dropped %d duplicates across tiles and %d outside the region",
                     len(df), n_dup, n_out)
        return FetchResult(df, len(self.tiles), n_fetched, n_resumed, n_dup, n_out, prov)


def fetch_ps1(out_dir: str | Path, region: Region, **options) -> FetchResult:
    """Fetch ``region`` of PS1 DR2 into ``out_dir`` (resumable); options as :class:`PS1Fetcher`."""
    return PS1Fetcher(out_dir, region, **options).run()
