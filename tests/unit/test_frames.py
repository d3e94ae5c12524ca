"""`is_in` answers what pandas' own `isin` answers, for every kind of key collection we pass."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dagster_project.lib.frames import is_in

KEYS = pd.Series(["a", "b", None, "d", "b"], dtype="str")


@pytest.mark.parametrize(
    "among",
    [
        {"b", "d", "z"},
        ["b"],
        pd.Series(["d", "a"], dtype="str"),
        pd.Index(["a"]),
        np.array(["b", "q"], dtype=object),
        set(),
        [],
    ],
    ids=["set", "list", "series", "index", "array", "empty set", "empty list"],
)
def test_is_in_agrees_with_pandas(among):
    expected = KEYS.isin(list(among)).to_numpy()
    assert is_in(KEYS, among).tolist() == expected.tolist()


def test_a_missing_key_is_in_nothing_and_nothing_is_in_an_empty_column():
    assert not is_in(KEYS, {"a", "b", "d"})[2]
    assert is_in(pd.Series([], dtype="str"), {"a"}).tolist() == []
