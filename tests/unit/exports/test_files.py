"""Export folders: neutralised values, split parts, atomic publication, owner-only files."""

import csv
import hashlib
import io
import json
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dagster_project.lib.exports import files
from dagster_project.lib.exports.files import (
    ExportFile,
    latest_as_of,
    neutralise_frame,
    part_names,
    publish_export,
    split_csv,
)


def test_formula_like_values_are_neutralised_and_others_kept():
    frame = pd.DataFrame(
        {
            "name": ['=HYPERLINK("http://x")', "+34 600", "-2+3", "@SUM(A1)", "\tTab", "Ana"],
            "n": [1, 2, 3, 4, 5, 6],
        }
    )
    out = neutralise_frame(frame)
    assert out["name"].tolist() == [
        '\'=HYPERLINK("http://x")',
        "'+34 600",
        "'-2+3",
        "'@SUM(A1)",
        "'\tTab",
        "Ana",
    ]
    assert out["n"].tolist() == [1, 2, 3, 4, 5, 6]


def test_a_phone_column_keeps_e164_numbers_and_neutralises_anything_else():
    phones = ["+34612345678", "+1 555 0100", "+SUM(A1)", "=1+2", None]
    frame = pd.DataFrame({"phone": phones, "note": ["+34612345678"] * 5})
    out = neutralise_frame(frame, phone_columns=["phone"])
    assert out["phone"].tolist()[:4] == ["+34612345678", "'+1 555 0100", "'+SUM(A1)", "'=1+2"]
    assert pd.isna(out["phone"].iloc[4])
    # The same text in a column that is not a phone is neutralised by its first character.
    assert set(out["note"]) == {"'+34612345678"}


def test_split_by_rows_and_by_bytes_keeps_every_row_once_with_a_header_each():
    frame = pd.DataFrame({"email": [f"p{i}@example.com" for i in range(10)], "n": range(10)})
    by_rows = split_csv(frame, max_rows=4)
    assert len(by_rows) == 3
    rows = [list(csv.reader(io.StringIO(p.decode()))) for p in by_rows]
    assert all(r[0] == ["email", "n"] for r in rows)
    assert [len(r) - 1 for r in rows] == [4, 4, 2]
    assert [row[0] for part in rows for row in part[1:]] == frame["email"].tolist()
    by_bytes = split_csv(frame, max_bytes=60)
    assert all(len(p) <= 60 for p in by_bytes)
    assert sum(p.count(b"\n") - 1 for p in by_bytes) == 10
    assert part_names("klaviyo_vip", ".csv", 1) == ["klaviyo_vip.csv"]
    assert part_names("x", ".csv", 2) == ["x_part01.csv", "x_part02.csv"]


def test_publish_writes_private_files_manifest_last_and_moves_latest(tmp_path: Path):
    folder = tmp_path / "mailchimp" / "champions" / "2025-03-31"
    data = b"Email Address\nana@example.com\n"
    manifest = publish_export(
        folder, [ExportFile("upsert.csv", "upsert", data, 1)], {"as_of_date": "2025-03-31"}
    )
    written = json.loads((folder / "manifest.json").read_text())
    assert written == manifest
    assert written["files"] == [
        {
            "name": "upsert.csv",
            "kind": "upsert",
            "rows": 1,
            "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
    ]
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert latest_as_of(folder.parent) == "2025-03-31"
    # The same export again: byte-identical, and no temporary folder left behind.
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    publish_export(
        folder, [ExportFile("upsert.csv", "upsert", data, 1)], {"as_of_date": "2025-03-31"}
    )
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert sorted(p.name for p in folder.parent.iterdir()) == ["2025-03-31", "latest"]
    # A backfill of an earlier day is written, and `latest` stays on the newest day.
    publish_export(folder.parent / "2025-03-01", [ExportFile("upsert.csv", "upsert", data, 1)], {})
    assert latest_as_of(folder.parent) == "2025-03-31"


def test_an_interrupted_export_leaves_the_previous_latest_intact(tmp_path: Path, monkeypatch):
    parent = tmp_path / "brevo" / "at_risk"
    publish_export(parent / "2025-03-30", [ExportFile("a.csv", "upsert", b"x\n", 0)], {})

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(files, "_swap_into_place", crash)
    with pytest.raises(OSError, match="disk full"):
        publish_export(parent / "2025-03-31", [ExportFile("a.csv", "upsert", b"y\n", 0)], {})
    assert latest_as_of(parent) == "2025-03-30"
    assert (parent / "latest" / "a.csv").read_bytes() == b"x\n"
    assert not (parent / "2025-03-31").exists()


# --- the column-at-a-time writer against the row-at-a-time one it replaced ----------------------


def _reference_csv(frame: pd.DataFrame, delimiter: str, phone_columns=()) -> bytes:
    """What the writer did before: every value neutralised one at a time, then every row written
    by Python's csv writer on its own, a missing value as an empty field."""
    header = io.StringIO()
    csv.writer(header, delimiter=delimiter, lineterminator="\n").writerow(list(frame.columns))
    out = [header.getvalue().encode("utf-8")]
    for row in frame.itertuples(index=False, name=None):
        buffer = io.StringIO()
        cells = []
        for column, value in zip(frame.columns, row, strict=True):
            if column in phone_columns:
                value = files._neutralise_phone(value)
            else:
                value = files.neutralise(value)
            cells.append("" if pd.isna(value) else value)
        csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerow(cells)
        out.append(buffer.getvalue().encode("utf-8"))
    return b"".join(out)


def _records(data: bytes, delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline=""), delimiter=delimiter))


def _awkward_frame(rows: int, seed: int, with_line_breaks: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    texts = [
        "Ana",
        "=1+2",
        "+34612345678",
        "+34 600",
        "-5",
        "@x",
        "\tx",
        'say "hi"',
        "a,b",
        "a;b",
        "Ñandú €",
        "",
        " lead",
        "tail ",
        "'quoted'",
    ]
    if with_line_breaks:
        texts += ["two\nlines", "cr\rhere", "crlf\r\nend"]
    pick = rng.integers(0, len(texts) + 1, size=(rows, 3))
    column = lambda k: [texts[i] if i < len(texts) else None for i in pick[:, k]]  # noqa: E731
    frame = pd.DataFrame(
        {
            "name": pd.Series(column(0), dtype="str"),
            "phone": pd.Series(column(1), dtype="str"),
            "note": pd.Series(column(2), dtype=object),
            "amount": np.where(rng.random(rows) < 0.2, np.nan, rng.random(rows) * 1000),
            "count": rng.integers(-5, 50, size=rows),
            "year": pd.array(
                [None if r < 0.3 else int(1950 + r * 50) for r in rng.random(rows)], dtype="Int32"
            ),
            "flag": rng.random(rows) < 0.5,
            "when": pd.to_datetime(
                [
                    None if r < 0.2 else f"2025-0{1 + int(r * 8)}-1{int(r * 9)} 0{int(r * 9)}:30"
                    for r in rng.random(rows)
                ]
            ),
        }
    )
    return frame


@pytest.mark.parametrize("with_line_breaks", [False, True])
@pytest.mark.parametrize("delimiter", [",", ";"])
def test_the_csv_equals_the_row_at_a_time_writer_byte_for_byte(with_line_breaks, delimiter):
    frame = _awkward_frame(400, seed=7, with_line_breaks=with_line_breaks)
    expected = _reference_csv(frame, delimiter, phone_columns=("phone",))
    neutral = neutralise_frame(frame, phone_columns=["phone"])
    (whole,) = split_csv(neutral, delimiter=delimiter)
    assert whole == expected
    # Split by rows and by bytes: the parts are the same rows, each part under its limits.
    header = expected.split(b"\n", 1)[0] + b"\n"
    for limits in ({"max_rows": 37}, {"max_bytes": 900}, {"max_rows": 50, "max_bytes": 2000}):
        parts = split_csv(neutral, delimiter=delimiter, **limits)
        assert len(parts) > 1
        assert all(part.startswith(header) for part in parts)
        assert header + b"".join(part[len(header) :] for part in parts) == expected
        # Each part holds whole records (a quoted value with a line break is never cut).
        records = [_records(part, delimiter) for part in parts]
        assert all(r[0] == _records(header, delimiter)[0] for r in records)
        assert [row for r in records for row in r[1:]] == _records(expected, delimiter)[1:]
        if "max_bytes" in limits:
            assert all(len(part) <= limits["max_bytes"] for part in parts)


def test_a_frame_without_rows_is_its_header():
    frame = _awkward_frame(0, seed=1, with_line_breaks=False)
    assert split_csv(neutralise_frame(frame)) == [_reference_csv(frame, ",")]
