"""Gravity covariates merged onto the pair-year panel.

* CEPII GeoDist (time-invariant pairs): ``dist`` (km between the most populated cities),
  ``ln_dist``, ``contig``, ``comlang_off``, ``colony`` (pair ever in a colonial relationship).
  Serbia (SRB) and Montenegro (MNE), absent from GeoDist, take the rows of Serbia and
  Montenegro (SCG; CEPII code YUG, Belgrade). Pairs with a country GeoDist lacks (e.g. SUN,
  CSK, SSD, XKX) have NaN covariates.
* World Bank WDI: ``gdp_exporter``, ``gdp_importer`` (current USD), NaN outside 1995-2019.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

GEO_COLUMNS = ["dist", "ln_dist", "contig", "comlang_off", "colony"]
# Countries missing from GeoDist that take another code's rows.
GEODIST_STAND_INS = {"SRB": "SCG", "MNE": "SCG"}


def _codes(panel: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, pd.Index]:
    both = pd.concat([panel["exporter"].astype(object), panel["importer"].astype(object)],
                     ignore_index=True)
    idx, uniq = pd.factorize(both)
    n = len(panel)
    return idx[:n], idx[n:], pd.Index(uniq)


def add_covariates(panel: pd.DataFrame, geodist: pd.DataFrame, wdi: pd.DataFrame
                   ) -> pd.DataFrame:
    """Add GeoDist pair covariates and WDI GDP to ``panel`` (rows and order unchanged).

    A pair of two different countries that share a stand-in (SRB-MNE) has NaN covariates.
    """
    exp_i, imp_i, countries = _codes(panel)
    n = len(countries)
    have = set(geodist["exporter"]) | set(geodist["importer"])
    stand_in = [GEODIST_STAND_INS.get(c, c) if c not in have else c for c in countries]
    geo_index = {c: i for i, c in enumerate(stand_in)}
    go = geodist["exporter"].map(geo_index)
    gd = geodist["importer"].map(geo_index)
    rows = geodist[go.notna().to_numpy() & gd.notna().to_numpy()]
    out = panel.copy()
    # a GeoDist row may serve several panel countries (stand-ins): expand per country
    by_geo: dict[str, list[int]] = {}
    for i, c in enumerate(stand_in):
        by_geo.setdefault(c, []).append(i)
    o_idx, d_idx, src = [], [], []
    for k, (o, d) in enumerate(zip(rows["exporter"], rows["importer"], strict=True)):
        for i in by_geo[o]:
            for j in by_geo[d]:
                if o == d and i != j:
                    continue  # two countries sharing one stand-in: no pair covariates
                o_idx.append(i)
                d_idx.append(j)
                src.append(k)
    src_arr = np.asarray(src, dtype=np.int64)
    for col in ("dist", "contig", "comlang_off", "colony"):
        matrix = np.full((n, n), np.nan)
        matrix[o_idx, d_idx] = rows[col].to_numpy(dtype="float64")[src_arr]
        out[col] = matrix[exp_i, imp_i]
    with np.errstate(divide="ignore"):
        out["ln_dist"] = np.log(out["dist"].to_numpy())
    years = panel["year"].to_numpy()
    y0 = int(years.min()) if len(years) else 0
    n_years = int(years.max()) - y0 + 1 if len(years) else 0
    gdp = np.full((max(n_years, 0), n), np.nan)
    c_index = {c: i for i, c in enumerate(countries)}
    ci = wdi["iso3"].map(c_index)
    yi = wdi["year"].to_numpy() - y0
    ok = (ci.notna().to_numpy() & (yi >= 0) & (yi < n_years))
    gdp[yi[ok], ci[ok].astype(int).to_numpy()] = wdi["gdp_usd"].to_numpy()[ok]
    out["gdp_exporter"] = gdp[years - y0, exp_i]
    out["gdp_importer"] = gdp[years - y0, imp_i]
    return out
