"""Bulk operations on pandas frames that pandas itself does slowly at our sizes."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def is_in(values: pd.Series, among: Iterable) -> np.ndarray:
    """`values.isin(among)` as a boolean array, computed by Arrow.

    pandas 3's `isin` on a string column turns each of `among` into an Arrow scalar in Python
    first: about 7 s for a million customer keys, against under one here.
    """
    if not isinstance(among, (pd.Series, pd.Index, np.ndarray, list)):
        among = list(among)
    column = pa.array(values, from_pandas=True)
    wanted = pa.array(among, from_pandas=True)
    if len(wanted) == 0 or len(column) == 0:
        return np.zeros(len(column), dtype=bool)
    found = pc.is_in(column, value_set=wanted.cast(column.type))
    return found.to_numpy(zero_copy_only=False).astype(bool)
