"""The CSV reader accounts for every record, with its physical line, on both of its paths."""

from pathlib import Path

import duckdb
import pytest

from dagster_project.lib.sources.csv_reader import CsvLayout, _read_with_python, read_csv_rows
from dagster_project.lib.sources.files import SourceFileError, read_text_file

WANTED = {"a": "a", "b": "b", "c": "c"}


def read(tmp_path: Path, content: bytes, **kwargs):
    path = tmp_path / "file.csv"
    path.write_bytes(content)
    file = read_text_file(path, "file.csv")
    return read_csv_rows(duckdb.connect(), file, WANTED, ["a"], **kwargs)


def rows(result):
    return [(r["source_line"], r["a"], r["b"], r["c"]) for r in result.rows.to_pylist()]


def rejects(result):
    return [(r["source_line"], r["raw_record"]) for r in result.rejects.to_pylist()]


def test_a_clean_file_gives_each_row_its_line(tmp_path):
    result = read(tmp_path, b"a,b,c\n1,x,2\n2,y,3\n")
    assert rows(result) == [(2, "1", "x", "2"), (3, "2", "y", "3")]
    assert rejects(result) == []


def test_malformed_records_are_kept_with_their_text_and_line(tmp_path):
    content = b'a,b,c\n1,x,2\n2,"multi\nline",3\n3,y\n4,z,5,extra\n5,w,6\n6,"unterminated,7\n'
    result = read(tmp_path, content)
    assert rows(result) == [(2, "1", "x", "2"), (3, "2", "multi\nline", "3"), (7, "5", "w", "6")]
    assert rejects(result) == [(5, "3,y"), (6, "4,z,5,extra"), (8, '6,"unterminated,7')]


def test_blank_lines_bom_crlf_and_a_missing_final_newline(tmp_path):
    result = read(tmp_path, b"\xef\xbb\xbfa,b,c\r\n1,x,2\r\n\r\n2,y,3")
    assert rows(result) == [(2, "1", "x", "2"), (4, "2", "y", "3")]


def test_windows_1252_files_are_decoded(tmp_path):
    result = read(tmp_path, "a,b,c\n1,García €,2\n".encode("cp1252"))
    assert rows(result) == [(2, "1", "García €", "2")]


def test_semicolons_are_detected_and_columns_matched_in_any_order_and_case(tmp_path):
    result = read(tmp_path, b"C;A;B;extra\n3;1;x;zz\n")
    assert rows(result) == [(2, "1", "x", "3")]


def test_empty_and_header_only_files_have_no_rows(tmp_path):
    assert rows(read(tmp_path, b"")) == []
    assert rows(read(tmp_path, b"a,b,c\n")) == []


def test_a_missing_required_column_refuses_the_file_in_one_line(tmp_path):
    with pytest.raises(SourceFileError) as error:
        read(tmp_path, b"b,c\nx,1\n")
    assert str(error.value) == "file.csv: missing required column a; the header has: b, c"


def test_a_wrong_delimiter_is_pointed_out(tmp_path):
    with pytest.raises(SourceFileError, match=r"is the delimiter right\?"):
        read(tmp_path, b"a;b;c\n1;2;3\n", delimiter=",")


def test_both_paths_agree_on_a_clean_file(tmp_path):
    path = tmp_path / "file.csv"
    path.write_bytes(b"a,b,c\n" + b"".join(f"{i},v{i},{i * 2}\n".encode() for i in range(500)))
    file = read_text_file(path, "file.csv")
    fast = read_csv_rows(duckdb.connect(), file, WANTED, ["a"])
    exact = _read_with_python(file, CsvLayout(",", 3, {"a": 0, "b": 1, "c": 2}))
    assert fast.rows.to_pylist() == exact.rows.to_pylist()
