"""User ids and event names of event logs -> their normalized dtypes (private).

User ids become ``int64`` or a categorical of sorted string categories; events a
categorical of sorted string categories (integer codes become their decimal text).
See the decisions in :mod:`funnelkit.io.normalize`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import (
    infer_dtype,
    is_bool_dtype,
    is_float_dtype,
    is_integer_dtype,
    is_numeric_dtype,
    is_string_dtype,
)

from ._names import (
    EVENT,
    USER,
    _FLOAT_INT_LIMIT,
    _I8_MAX,
    _INT64,
    _STR_DTYPE,
    _Bad,
    _first,
    _is_str_categories,
    _type_error,
)



# --------------------------------------------------------------------------------------
# user ids
# --------------------------------------------------------------------------------------


_USER_FIX = (
    "user ids must be integers or strings; convert the column, e.g. "
    "df[{name!r}].astype('int64') or df[{name!r}].astype(str)."
)


def _floats_to_int64(a: np.ndarray) -> np.ndarray:
    """Whole-number floats within +-2**53 -> int64; raises _Bad otherwise."""
    bad = ~np.isfinite(a)
    if bad.any():
        raise _Bad(_first(bad), "holds non-finite numbers")
    bad = (a != np.floor(a)) | (np.abs(a) > _FLOAT_INT_LIMIT)
    if bad.any():
        raise _Bad(_first(bad), "holds numbers that are not whole numbers within +-2**53")
    return a.astype(np.int64)


def _numeric_to_int64(s: pd.Series) -> np.ndarray | None:
    """Numeric Series without nulls -> int64 array; None if integers overflow int64."""
    if is_float_dtype(s.dtype):
        return _floats_to_int64(s.to_numpy(dtype=np.float64))
    if s.dtype == _INT64:
        return s.to_numpy()
    if s.dtype.kind == "u" or str(s.dtype).startswith("UInt"):
        if len(s) and s.max() > _I8_MAX:
            return None
    return s.to_numpy(dtype=np.int64)


def _object_kind(s: pd.Series) -> str:
    return infer_dtype(s, skipna=True)


def _convert_user(s: pd.Series, *, name: Any, pos: np.ndarray | None) -> pd.Series:
    """User ids -> int64, or a categorical of sorted string categories."""
    dtype = s.dtype
    fix = _USER_FIX.format(name=name)
    try:
        if dtype == _INT64:
            return s
        if isinstance(dtype, pd.CategoricalDtype):
            cats = dtype.categories
            if is_bool_dtype(cats.dtype):
                raise _Bad(0, "holds booleans")
            if is_numeric_dtype(cats.dtype) or (
                cats.dtype == object and _object_kind(pd.Series(cats)) in (
                    "integer", "floating", "mixed-integer-float")
            ):
                codes = s.array.codes
                try:
                    ints = _numeric_to_int64(pd.Series(np.asarray(cats)).infer_objects())
                except _Bad as bad:
                    raise _Bad(_first(codes == bad.i), bad.reason) from None
                if ints is None:
                    return _categorical_series(s, name=name, canonical=USER, pos=pos)
                return pd.Series(ints[codes], index=s.index, copy=False)
            return _categorical_series(s, name=name, canonical=USER, pos=pos)
        if is_bool_dtype(dtype):
            raise _Bad(0, "holds booleans")
        if is_integer_dtype(dtype) or is_float_dtype(dtype):
            ints = _numeric_to_int64(s)
            if ints is None:  # uint64 beyond int64: keep every id exact, as text
                return _categorical_series(s, name=name, canonical=USER, pos=pos)
            return pd.Series(ints, index=s.index, copy=False)
        if dtype == object:
            kind = _object_kind(s)
            if kind == "integer":
                try:
                    return pd.Series(s.to_numpy(dtype=np.int64), index=s.index, copy=False)
                except (OverflowError, ValueError, TypeError):
                    raise _Bad(0, "holds integers beyond the int64 range") from None
            if kind in ("floating", "mixed-integer-float"):
                return pd.Series(_floats_to_int64(s.to_numpy(dtype=np.float64)),
                                 index=s.index, copy=False)
            if kind == "string":
                return _categorical_series(s, name=name, canonical=USER, pos=pos)
            if kind in ("mixed-integer", "mixed"):
                i = _mixed_example(s)
                raise _Bad(i, "mixes values of different types (numbers and strings)")
            raise _Bad(0, f"holds values of type {type(s.iloc[0]).__name__}")
        if is_string_dtype(dtype):
            return _categorical_series(s, name=name, canonical=USER, pos=pos)
        raise _Bad(0, f"has dtype {dtype}")
    except _Bad as bad:
        raise _type_error(name, USER, s, bad.i, bad.reason, pos, fix) from None


def _mixed_example(s: pd.Series) -> int:
    """Position of an odd one out in a column mixing types (error path only).

    With strings and non-strings, the first non-string; otherwise the first value
    whose type differs from the first value's.
    """
    is_str = s.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
    if is_str.any() and not is_str.all():
        return _first(~is_str)
    first_type = type(s.iloc[0])
    other = ~s.map(lambda v: type(v) is first_type).to_numpy(dtype=bool)
    return _first(other) if other.any() else 0


# --------------------------------------------------------------------------------------
# events
# --------------------------------------------------------------------------------------


def _convert_event(s: pd.Series, *, name: Any, pos: np.ndarray | None) -> pd.Series:
    """Events -> categorical of sorted string categories (numbers become their text)."""
    dtype = s.dtype
    try:
        if is_bool_dtype(dtype):
            raise _Bad(0, "holds booleans")
        if not isinstance(dtype, pd.CategoricalDtype) and not (
            is_numeric_dtype(dtype) or is_string_dtype(dtype) or dtype == object
        ):
            raise _Bad(0, f"has dtype {dtype}")
        if dtype == object and _object_kind(s) in ("mixed", "mixed-integer"):
            raise _Bad(_mixed_example(s), "mixes values of different types")
    except _Bad as bad:
        raise _type_error(name, EVENT, s, bad.i, bad.reason, pos,
                          "events must be strings (or integer codes); convert the "
                          f"column, e.g. df[{name!r}].astype(str).") from None
    return _categorical_series(s, name=name, canonical=EVENT, pos=pos)


def _as_text(values: pd.Series) -> pd.Index:
    """Category values -> strings (integers and whole-number floats as decimal text)."""
    dtype = values.dtype
    if is_bool_dtype(dtype):
        raise _Bad(0, "holds booleans")
    if is_numeric_dtype(dtype):
        ints = _numeric_to_int64(values)
        if ints is None:
            return pd.Index(values.astype(str).to_numpy(dtype=object), dtype=_STR_DTYPE)
        return pd.Index(ints.astype(str).astype(object), dtype=_STR_DTYPE)
    if dtype == object:
        kind = _object_kind(values)
        if kind in ("integer", "floating", "mixed-integer-float"):
            return _as_text(pd.to_numeric(values))
        if kind not in ("string", "empty"):
            i = _mixed_example(values) if kind.startswith("mixed") else 0
            raise _Bad(i, "holds values that are not strings" if not kind.startswith("mixed")
                       else "mixes values of different types")
        return pd.Index(values.to_numpy(dtype=object), dtype=_STR_DTYPE)
    if is_string_dtype(dtype):
        return pd.Index(values, dtype=_STR_DTYPE)
    raise _Bad(0, f"has dtype {dtype}")


def _categorical_series(s: pd.Series, *, name: Any, canonical: str,
                        pos: np.ndarray | None) -> pd.Series:
    """Any column without nulls -> categorical with sorted, used, string categories."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        cat = s.array
    else:
        cat = pd.Categorical(s)
    codes = np.asarray(cat.codes)
    cats = cat.categories
    used = np.bincount(codes, minlength=len(cats)) > 0
    if used.all() and not cat.ordered and _is_str_categories(cats):
        if isinstance(s.dtype, pd.CategoricalDtype):
            return s
        return pd.Series(cat, index=s.index, copy=False)
    used_at = np.flatnonzero(used)
    try:
        text = _as_text(pd.Series(cats[used_at]))
    except _Bad as bad:
        i = _first(codes == used_at[bad.i])
        fix = (_USER_FIX.format(name=name) if canonical == USER else
               f"events must be strings (or integer codes); convert the column, e.g. "
               f"df[{name!r}].astype(str).")
        raise _type_error(name, canonical, s, i, bad.reason, pos, fix) from None
    new_codes_of_used, uniq = pd.factorize(text, sort=True)
    mapping = np.full(len(cats), -1, dtype=np.int64)
    mapping[used_at] = new_codes_of_used
    new_cats = pd.Index(uniq, dtype=_STR_DTYPE)
    dtype = pd.CategoricalDtype(new_cats, ordered=False)
    out = pd.Categorical.from_codes(mapping[codes], dtype=dtype)
    return pd.Series(out, index=s.index, copy=False)

