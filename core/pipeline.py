"""The one selection pipeline (cuts, then dereddening) shared by ingest, the mock sky and the archive fetcher.

Cuts are made on observed magnitudes, as in the paper; dereddening comes after. The funnel, the cut
thresholds, the dereddening and the band set are recorded in ``df.attrs['sedscape']`` so that
:func:`core.catalog.write_parquet` stores them next to the rows.
"""

from __future__ import annotations

import copy
import logging
import math

import pandas as pd

from core.bands import PS1, BandSet
from core.catalog import bandset_to_meta
from core.cuts import DEFAULT_CUT_CONFIG, CutConfig, Funnel, apply_cuts, missing_band_counts, paper_cuts
from core.errors import CatalogError, ConfigError
from core.extinction import deredden as _deredden
from core.extinction import is_dereddened, sfd_available, sfd_ebv

log = logging.getLogger(__name__)

EBV_SOURCES: tuple[str, ...] = ("auto", "column", "sfd", "none")


def select(
    df: pd.DataFrame,
    bands: BandSet = PS1,
    *,
    config: CutConfig = DEFAULT_CUT_CONFIG,
    cuts: bool = True,
    deredden: bool = True,
    ebv: str = "auto",
    ebv_value: float | None = None,
) -> tuple[pd.DataFrame, Funnel]:
    """Apply the paper's cuts to observed magnitudes, then deredden; return the catalog and its funnel.

    ``ebv`` says where E(B-V) comes from: ``"auto"`` (the ``ebv`` column if present, else SFD if
    dustmaps and its map are installed, else no dereddening, recorded with the reason), ``"column"`` (the ``ebv`` column), ``"sfd"`` (looked up
    from ``l, b`` with dustmaps after the cuts) or ``"none"`` (no dereddening). ``ebv_value`` instead
    gives every star one E(B-V) on SFD's scale (a cluster field; it fills the ``ebv`` column). With
    ``cuts=False`` the funnel has no steps. The input is not modified.
    """
    if ebv not in EBV_SOURCES:
        raise ConfigError(f"unknown E(B-V) source {ebv!r}; choose one of {', '.join(EBV_SOURCES)}")
    if ebv_value is not None:
        if ebv not in ("auto", "column"):
            raise ConfigError(f"ebv_value (--ebv-value) gives E(B-V) itself; it cannot be combined with ebv={ebv!r}")
        if not (isinstance(ebv_value, (int, float)) and math.isfinite(ebv_value) and ebv_value >= 0):
            raise ConfigError(f"ebv_value (--ebv-value) must be a finite E(B-V) >= 0, got {ebv_value!r}")
        if "ebv" in df.columns:
            log.warning("replacing the catalog's 'ebv' column with the constant E(B-V) %g", ebv_value)
        df = df.assign(ebv=float(ebv_value))
        ebv = "column"
    if not isinstance(config, CutConfig):
        raise ConfigError(f"config must be a CutConfig, got {type(config).__name__}")
    skipped_reason = ""
    if deredden and ebv == "auto":
        if "ebv" in df.columns:
            ebv = "column"
        elif sfd_available():
            ebv = "sfd"
        else:
            ebv = "none"
            skipped_reason = (
                "no 'ebv' column and no SFD dust map installed; magnitudes are NOT dereddened "
                "(add an ebv column, or `pip install sedscape[dust]` and fetch the SFD map, then use --ebv sfd)"
            )
            log.warning(skipped_reason)
    do_deredden = deredden and ebv != "none"
    # Fail before the (possibly long) cuts when dereddening cannot work.
    if do_deredden and is_dereddened(df, bands):
        _deredden(df.iloc[:0], bands)  # raises the standard "refusing to deredden twice" error
    if do_deredden and ebv == "column" and "ebv" not in df.columns:
        raise CatalogError(
            "cannot deredden: the catalog has no 'ebv' column; use ebv='sfd' (--ebv sfd, needs dustmaps "
            "and the SFD map), ebv='none' (--ebv none) or deredden=False (--no-deredden)"
        )

    if not df.index.is_unique:
        df = df.reset_index(drop=True)
    if cuts:
        # Cuts use observed magnitudes; if the input was dereddened upstream, read <band>_obs.
        view = df
        obs = {f"{b}_obs": b for b in bands if f"{b}_obs" in df.columns}
        if obs:
            view = df.drop(columns=list(obs.values())).rename(columns=obs)
        kept, funnel = apply_cuts(view, paper_cuts(bands, config))
        out = df.loc[kept.index].copy()
        if config.max_missing_bands:
            missing = missing_band_counts(kept, bands)
            step = next(s for s in funnel.steps if s.name == "complete")
            per = ", ".join(f"{b} {n:,}" for b, n in missing["per_band"].items() if n)
            k = config.max_missing_bands
            kept_note = f"{missing['n_rows_with_missing']:,} of the output rows lack {'1' if k == 1 else f'1-{k}'} band(s)"
            step.note = "; ".join(filter(None, [step.note, kept_note + (f" ({per})" if per else "")]))
    else:
        out = df.copy()
        funnel = Funnel(n_input=len(df), steps=[], n_output=len(df))
    out.attrs = copy.deepcopy(df.attrs)
    funnel.notes = list(df.attrs.get("sedscape", {}).get("ingest", {}).get("notes", []))

    if do_deredden:
        if ebv == "sfd":
            if "ebv" in out.columns:
                log.info("replacing the catalog's 'ebv' column with SFD values looked up from l, b")
            out["ebv"] = sfd_ebv(out["l"].to_numpy(float), out["b"].to_numpy(float)) if len(out) else []
        out = _deredden(out, bands, ebv_column="ebv")
        if ebv == "sfd":
            out.attrs["sedscape"]["dereddened"]["source"] = "SFD (1998) via dustmaps"
        elif ebv_value is not None:
            out.attrs["sedscape"]["dereddened"]["source"] = f"one E(B-V) for every star: {float(ebv_value):g}"
    meta = out.attrs.setdefault("sedscape", {})
    meta.update(bandset_to_meta(bands))
    meta["funnel"] = funnel.to_dict()
    meta["cuts"] = {"applied": bool(cuts), "config": config.to_dict()}
    if config.max_missing_bands:
        meta["missing_bands"] = {"allowed": config.max_missing_bands, **missing_band_counts(out, bands)}
    if not do_deredden and "dereddened" not in meta:
        meta["dereddened"] = False
    if skipped_reason:
        meta["dereddening_skipped"] = skipped_reason
    log.info("selection kept %d of %d rows", funnel.n_output, funnel.n_input)
    return out, funnel
