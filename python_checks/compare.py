"""Row-by-row, column-by-column comparison of a mart with the reference."""

from __future__ import annotations

import numpy as np
import pandas as pd

RTOL = 1e-9
ATOL = 1e-9  # for values that are zero up to float rounding


def _normalise(series: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(series):
        return pd.to_datetime(series).dt.tz_localize(None) if getattr(series.dt, "tz", None) else pd.to_datetime(series)
    if (
        series.dtype == object
        and len(series.dropna())
        and hasattr(series.dropna().iloc[0], "isoformat")
        and not isinstance(series.dropna().iloc[0], str)
    ):
        return pd.to_datetime(series)
    return series


def assert_matches(
    actual: pd.DataFrame,
    expected: pd.DataFrame,
    keys: list[str],
    columns: list[str] | None = None,
    label: str = "",
    rtol: float = RTOL,
) -> None:
    """Same key set, then every column equal: numbers to RTOL, everything else exactly, nulls in the same places."""
    columns = columns or [c for c in expected.columns if c not in keys]
    actual = actual.copy()
    expected = expected.copy()
    for frame in (actual, expected):
        for key in keys:
            frame[key] = _normalise(frame[key])
            if pd.api.types.is_numeric_dtype(frame[key]) and not pd.api.types.is_bool_dtype(frame[key]):
                frame[key] = frame[key].astype("int64")
            elif not pd.api.types.is_datetime64_any_dtype(frame[key]):
                frame[key] = frame[key].astype(str)
    a = actual.set_index(keys).sort_index()
    e = expected.set_index(keys).sort_index()
    for name, frame in (("actual", a), ("expected", e)):
        repeated = frame.index[frame.index.duplicated()]
        assert len(repeated) == 0, f"{label}: {keys} is not a key of the {name} rows; repeated: {list(repeated[:5])}"
    missing = e.index.difference(a.index)
    extra = a.index.difference(e.index)
    assert len(missing) == 0 and len(extra) == 0, (
        f"{label}: key sets differ; missing {list(missing)[:5]}, extra {list(extra)[:5]}"
    )
    a = a.loc[e.index]
    problems = []
    for column in columns:
        av = _normalise(a[column].reset_index(drop=True))
        ev = _normalise(e[column].reset_index(drop=True))
        a_null = av.isna().to_numpy()
        e_null = ev.isna().to_numpy()
        bad = a_null != e_null
        both = ~a_null & ~e_null
        if pd.api.types.is_datetime64_any_dtype(ev) or pd.api.types.is_datetime64_any_dtype(av):
            bad |= both & (pd.to_datetime(av).to_numpy() != pd.to_datetime(ev).to_numpy())
        elif pd.api.types.is_bool_dtype(ev.dropna()) or isinstance(
            ev.dropna().iloc[0] if both.any() else None, (bool, np.bool_)
        ):
            bad |= both & (av.fillna(False).astype(bool).to_numpy() != ev.fillna(False).astype(bool).to_numpy())
        elif pd.api.types.is_numeric_dtype(ev.dropna()) and pd.api.types.is_numeric_dtype(av.dropna()):
            x = av.to_numpy(dtype=float, na_value=np.nan)
            y = ev.to_numpy(dtype=float, na_value=np.nan)
            with np.errstate(invalid="ignore"):
                bad |= both & ~np.isclose(x, y, rtol=rtol, atol=ATOL)
        else:
            bad |= both & (av.astype(str).to_numpy() != ev.astype(str).to_numpy())
        if bad.any():
            idx = np.flatnonzero(bad)[:3]
            problems.append(
                f"{column}: {bad.sum()} rows differ, e.g. {[(e.index[i], av.iloc[i], ev.iloc[i]) for i in idx]}"
            )
    assert not problems, f"{label}:\n" + "\n".join(problems)


def assert_reconciliation_matches(actual: pd.DataFrame, expected: pd.DataFrame, label: str = "") -> None:
    """data_quality_reconciliation: every table reconciles (raw = clean + quarantined) and its counts equal
    the reference's, table by table."""
    assert actual.is_reconciled.all(), f"{label}: a table does not reconcile"
    assert_matches(actual, expected, ["source_table"], ["raw_rows", "clean_rows", "quarantined_rows"], label=label)
