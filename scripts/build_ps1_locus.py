"""Build the real PS1 stellar locus and the mock's colour correction (data/reference/ps1_locus_*.txt).

    PYTHONPATH=. python scripts/build_ps1_locus.py            # writes both tables, prints a summary

Input: the real PS1 DR1 MeanObject cone around M44 (tests/data/ps1_dr1_meanobject_cone_M44.tsv), put
through the paper's cuts and dereddened with Praesepe's E(B-V) = 0.027 (Taylor 2006; 0.031 on SFD's
scale, the one the Schlafly & Finkbeiner 2011 coefficients take), and the Tonry et al. (2012) locus
(data/reference/ps1_stellar_locus_tonry2012.txt) for its shape where M44 has too few stars.
Method: core.mock.locus (robust local-linear fit in g - i, Gaussian kernel sigma 0.10 mag).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.bands import PS1  # noqa: E402
from core.mock import locus, tables  # noqa: E402

M44_CONE = ROOT / "tests" / "data" / "ps1_dr1_meanobject_cone_M44.tsv"
REAL_HEADER = """\
Real PS1 DR1 stellar locus: median dereddened colours vs g - i (written by scripts/build_ps1_locus.py).
Stars: the PS1 DR1 MeanObject cone around M44 (Praesepe; tests/data/ps1_dr1_meanobject_cone_M44.tsv),
{n} stars after the cuts of Hutchinson et al. (2025), dereddened with E(B-V) = {ebv_true} (Taylor 2006,
AJ 132, 2453) = {ebv_sfd:.4f} on SFD's scale and the Schlafly & Finkbeiner (2011) R_V = 3.1 coefficients.
Fit: robust local-linear regression of each colour on g - i (Gaussian kernel sigma {bw} mag, bisquare
weights); r - i = (g - i) - (g - r); n_eff = kernel-weighted number of stars. Where n_eff < {half:g} (source
tonry) the locus is Tonry et al. (2012, ApJ 750, 99) moved by the median difference fit - Tonry where
n_eff >= {min_eff:g} (g-r {zp[0]:+.4f}, r-i {zp[1]:+.4f}, i-z {zp[2]:+.4f}, z-y {zp[3]:+.4f}); blended linearly in between.
columns: g_i g_r r_i i_z z_y n_eff source"""
CORR_HEADER = """\
Colour correction of the mock's templates (written by scripts/build_ps1_locus.py): for each colour,
real PS1 locus (ps1_locus_real.txt) minus the dwarf locus of ps1_colors_vs_Mr_FeH.dat (Ivezic et al.
2008 templates in PS1 bands) at the same g - i. The mock adds it to every template star's colours, looked
up at the star's template g - i (linear in between, constant beyond the ends); d_r_i = -d_g_r, so g - i
and M_r are unchanged.
columns: g_i d_g_r d_r_i d_i_z d_z_y"""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--real", type=Path, default=M44_CONE, help="real PS1 export (default: the M44 cone)")
    p.add_argument("--ebv", type=float, default=locus.M44_EBV, help="its E(B-V), true scale (default 0.027)")
    p.add_argument("--out-dir", type=Path, default=ROOT / "data" / "reference")
    args = p.parse_args(argv)

    stars = locus.real_stars(args.real, args.ebv)
    mags = stars[list(PS1.names)].to_numpy(float)
    real = locus.build_real_locus(mags, tables.tonry_locus_table())
    corr = locus.build_correction(real)

    # The correction assumes that template colours at a given g - i do not depend on [Fe/H]: check it.
    grid = real["g_i"].to_numpy()
    base = locus.template_locus(grid)
    worst = 0.0
    for feh in (-2.0, -1.0, -0.5, 0.0):
        other = locus._dwarf_sequence_at(tables.colour_grid(), feh, grid)
        worst = max(worst, float(np.nanmax(np.abs(other - base))))
    print(f"template colours at fixed g - i differ between [Fe/H] columns by at most {worst:.4f} mag")

    from core.extinction import sfd_scale_ebv

    header = REAL_HEADER.format(n=len(stars), ebv_true=args.ebv, ebv_sfd=sfd_scale_ebv(args.ebv),
                                bw=locus.LOESS_BANDWIDTH, min_eff=locus.MIN_EFFECTIVE_STARS,
                                half=locus.MIN_EFFECTIVE_STARS / 2, zp=real.attrs["tonry_zero_point"])
    args.out_dir.mkdir(parents=True, exist_ok=True)
    with (args.out_dir / "ps1_locus_real.txt").open("w") as fh:
        fh.write("".join(f"# {line}\n" for line in header.splitlines()))
        for row in real.itertuples(index=False):
            fh.write(f"{row.g_i:5.2f} {row.g_r:7.4f} {row.r_i:7.4f} {row.i_z:7.4f} {row.z_y:7.4f} "
                     f"{row.n_eff:6.1f} {row.source}\n")
    with (args.out_dir / "ps1_locus_correction.txt").open("w") as fh:
        fh.write("".join(f"# {line}\n" for line in CORR_HEADER.splitlines()))
        for row in corr.itertuples(index=False):
            fh.write(f"{row.g_i:5.2f} {row.d_g_r:7.4f} {row.d_r_i:7.4f} {row.d_i_z:7.4f} {row.d_z_y:7.4f}\n")
    supported = real[real["source"] == "real"]["g_i"]
    print("Tonry zero point (real - Tonry): " + ", ".join(
        f"{c} {v:+.4f}" for c, v in zip(locus.LOCUS_COLOURS, real.attrs["tonry_zero_point"], strict=True)))
    print(f"{len(stars)} real stars; fit supported for {supported.min():.2f} <= g-i <= {supported.max():.2f}")
    print(corr.iloc[::5].to_string(index=False, float_format=lambda v: f"{v:+.4f}"))
    print(f"wrote {args.out_dir / 'ps1_locus_real.txt'} and {args.out_dir / 'ps1_locus_correction.txt'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
