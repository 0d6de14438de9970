"""The naive implementation a user would write: pandas groupby over series, then
per-series numpy/scipy/statsmodels/arch calls, for statistics forecheck computes.

    python benchmarks/naive.py FILE.csv            # time it on a file
    python benchmarks/naive.py FILE.csv --max-series 2000

It computes, per series: the variance budget (movement, uncertainty reduction,
excess movement X; Augenblick & Rabin 2021), the martingale-transform variance
V = Σ((1 − 2p_{t−1})Δp_t)² and MG102's z = X/√V, the BNS jump ratio Z
(Barndorff-Nielsen & Shephard 2006) of the raw increments, the ARCH-LM statistic of
the raw increments with statsmodels' ``het_arch`` and the variance ratio at q = 2
with arch's ``VarianceRatio``; pooled: MG101's ratio and its
t = ΣX/√max(min(ΣV, ΣR), ΣV/4) (R = Σ(1 − 2p_{t−1})²(u(p_{t−1}) − u(p_t)),
u(p) = p(1 − p)) with the normal p-value, MG104's revision–error regression
(o − p_t) = a + b Δp_t with statsmodels OLS and cluster-robust (CR1, by series) errors, Brier score and
Spiegelhalter's Z of the last forecasts (CA201/CA202).

tests/test_naive_equivalence.py checks that these numbers equal forecheck's on a
small panel; benchmarks/README.md reports the timing against ``forecheck analyze``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
from scipy import stats

MIN_LENGTH = 3  # forecheck's default --min-length
ARCH_LAGS = 2


def _bns_z(r: np.ndarray) -> float:
    """BNS (2004, 2006) ratio statistic, written out per series."""
    from scipy.special import gamma

    n = len(r)
    if n < 5:
        return np.nan
    a = np.abs(r)
    rv = float(np.sum(r * r))
    bv = np.pi / 2 * float(np.sum(a[1:] * a[:-1]))
    mu43 = 2 ** (2 / 3) * gamma(7 / 6) / gamma(0.5)
    a43 = a ** (4 / 3)
    tq = n * mu43**-3 * float(np.sum(a43[2:] * a43[1:-1] * a43[:-2]))
    if not (rv > 0 and bv > 0):
        return np.nan
    theta = np.pi**2 / 4 + np.pi - 5
    return (rv - bv) / rv / np.sqrt(theta / n * max(1.0, tq / bv**2))


def per_series(g: pd.DataFrame) -> pd.Series:
    from arch.unitroot import VarianceRatio
    from statsmodels.stats.diagnostic import het_arch

    g = g.sort_values("time")
    p = g["p"].to_numpy(float)
    o = g["outcome"].iloc[0]
    resolved = not np.isnan(o)
    dp = np.diff(p)
    m_in = float(np.sum(dp**2))
    d = (1 - 2 * p[:-1]) * dp
    u0, ul = p[0] * (1 - p[0]), p[-1] * (1 - p[-1])
    if resolved:
        m = m_in + (o - p[-1]) ** 2
        r = u0
        d = np.append(d, (1 - 2 * p[-1]) * (o - p[-1]))
    else:
        m, r = m_in, u0 - ul
    v = float(np.sum(d**2))
    # R: Σ (1 − 2p_{t−1})²(u(p_{t−1}) − u(p_t)), p_t = o at the resolution step
    path = np.append(p, o) if resolved else p
    prev, nxt = path[:-1], path[1:]
    rv = float(np.sum((1 - 2 * prev) ** 2 * (prev * (1 - prev) - nxt * (1 - nxt))))
    out = {"movement": m, "uncertainty_reduction": r, "excess": m - r, "v": v, "rv": rv,
           "z": (m - r) / np.sqrt(v) if v > 0 else 0.0, "n": len(p), "resolved": resolved,
           "p_last": p[-1], "outcome": o, "bns_z": _bns_z(dp), "arch_lm": np.nan, "vr2": np.nan}
    if len(dp) > ARCH_LAGS + 2 and np.ptp(dp**2) > 0:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out["arch_lm"] = float(het_arch(dp, nlags=ARCH_LAGS, ddof=0)[0])
    if len(p) >= 8 and np.ptp(dp) > 0:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                out["vr2"] = float(VarianceRatio(p, lags=2, trend="n", robust=True).vr)
            except Exception:  # arch rejects some degenerate paths
                pass
    return pd.Series(out)


def naive_stats(df: pd.DataFrame) -> dict:
    """All statistics of the module docstring; per-series ones as a frame by id."""
    import statsmodels.api as sm

    ser = df.groupby("series", sort=True).apply(per_series, include_groups=False)
    use = ser[(ser["resolved"].astype(bool)) | (ser["n"] >= MIN_LENGTH)]
    sm_, sr_, sx_, sv_, srv_ = (float(use[c].sum()) for c in ("movement", "uncertainty_reduction", "excess", "v",
                                                               "rv"))
    t101 = sx_ / np.sqrt(max(min(sv_, srv_), sv_ / 4))  # MG101's studentiser (docs/checks.md)
    # MG104: in-flight rows of resolved series with MIN_LENGTH+ forecasts
    keep = ser.index[(ser["n"] >= MIN_LENGTH) & ser["resolved"].astype(bool)]
    dd = df[df["series"].isin(keep)].sort_values(["series", "time"])
    dd = dd.assign(dp=dd.groupby("series")["p"].diff()).dropna(subset=["dp"])
    y = dd["outcome"].to_numpy(float) - dd["p"].to_numpy(float)
    X = sm.add_constant(dd["dp"].to_numpy(float))
    groups = pd.factorize(dd["series"])[0]
    fit = sm.OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": groups, "use_correction": True})
    last = ser[ser["resolved"].astype(bool)]
    pl, oo = last["p_last"].to_numpy(float), last["outcome"].to_numpy(float)
    zs = np.sum((oo - pl) * (1 - 2 * pl)) / np.sqrt(np.sum((1 - 2 * pl) ** 2 * pl * (1 - pl)))
    return {"series": ser, "mg101_ratio": sm_ / sr_, "mg101_t": t101, "mg101_p_normal": float(2 * stats.norm.sf(abs(t101))),
            "mg104_beta": float(fit.params[1]), "mg104_se": float(fit.bse[1]),
            "ca201_brier": float(np.mean((oo - pl) ** 2)), "ca202_z": float(zs)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file")
    ap.add_argument("--max-series", type=int, default=None, help="only the first N series (by id)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    df = pd.read_csv(args.file, engine="pyarrow")
    if args.max_series:
        ids = np.sort(df["series"].unique())[: args.max_series]
        df = df[df["series"].isin(ids)]
    t1 = time.perf_counter()
    res = naive_stats(df)
    t2 = time.perf_counter()
    n = len(res["series"])
    print(f"read {t1 - t0:.2f} s; naive statistics {t2 - t1:.2f} s for {n:,} series "
          f"({1e3 * (t2 - t1) / max(n, 1):.2f} ms per series); rows {len(df):,}")
    print({k: v for k, v in res.items() if k != "series"})


if __name__ == "__main__":
    main()
