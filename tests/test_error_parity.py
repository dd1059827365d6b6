"""One error mapping in every language: docs/protocol.md's table, Python's REPLY_ERRORS, C's table and status
codes, and the Fortran module's status codes must say the same thing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from simdask import errors

ROOT = Path(__file__).resolve().parents[1]
_ROW = re.compile(r"^\| `([^`]+)` \| `(\w+)` \| `(SD_\w+)` \((\d+)\) \| `(SD_\w+)` \|$")


def _section(text: str, title: str) -> str:
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def _docs_rows() -> list[tuple[str, str, str, int, str]]:
    errors_section = _section((ROOT / "docs" / "protocol.md").read_text(), "Errors")
    rows = [m.groups() for m in map(_ROW.match, errors_section.splitlines()) if m]
    assert len(rows) >= 10, "docs/protocol.md's Errors table was not found or lost rows"
    return [(prefix, cls, code, int(value), fortran) for prefix, cls, code, value, fortran in rows]


def _c_status_values() -> dict[str, int]:
    header = (ROOT / "client_c" / "include" / "simdask.h").read_text()
    enum = header[header.index("enum sd_status") :]
    enum = enum[: enum.index("};")]
    values = dict(re.findall(r"\b(SD_(?:OK|ERR_\w+))\s*=\s*(\d+)", enum))
    names = re.findall(r"\b(SD_(?:OK|ERR_\w+))\b", enum)
    assert set(names) == set(values), f"status codes without an explicit value: {set(names) - set(values)}"
    return {name: int(value) for name, value in values.items()}


def _fortran_status_values() -> dict[str, int]:
    module = (ROOT / "client_fortran" / "src" / "simdask.f90").read_text()
    return {name: int(value) for name, value in re.findall(r"\b(SD_(?:OK|ERR_\w+))\s*=\s*(\d+)", module)}


def test_python_table_is_the_documented_one():
    documented = [(prefix, cls) for prefix, cls, *_ in _docs_rows() if prefix != "anything else"]
    assert [(prefix, cls.__name__) for prefix, cls in errors.REPLY_ERRORS] == documented


@pytest.mark.parametrize("row", _docs_rows(), ids=lambda row: row[0])
def test_python_maps_each_reply_as_documented(row):
    prefix, cls, *_ = row
    reply = "BOGUS something went wrong" if prefix == "anything else" else f"{prefix} details of the reply"
    error = errors.error_from_reply(reply, "get_tensor 'u' at 127.0.0.1:6379")
    assert type(error).__name__ == cls
    assert str(error).startswith("get_tensor 'u' at 127.0.0.1:6379: ")


def test_a_longer_word_does_not_match_a_prefix():
    assert type(errors.error_from_reply("OOMPH not a prefix", "ctx")) is errors.ResponseError


def test_c_table_is_the_documented_one():
    source = (ROOT / "client_c" / "src" / "error.c").read_text()
    table = re.findall(r'\{\s*"([^"]+)"\s*,\s*(SD_\w+)\s*\}', source)
    documented = [(prefix, code) for prefix, _, code, _, _ in _docs_rows() if prefix != "anything else"]
    assert table == documented


def test_status_values_agree_in_docs_c_and_fortran():
    c_values = _c_status_values()
    assert c_values["SD_OK"] == 0 and sorted(c_values.values()) == list(range(len(c_values)))
    assert _fortran_status_values() == c_values
    for _, _, code, value, fortran in _docs_rows():
        assert c_values[code] == value and fortran == code


def test_every_exception_class_lives_in_errors():
    """No exception class is defined outside simdask/errors.py (one tree)."""
    import ast

    strays = []
    for path in (ROOT / "simdask").rglob("*.py"):
        if path.name == "errors.py" and path.parent.name == "simdask":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and (
                node.name.endswith(("Error", "Exception"))
                or any(isinstance(b, ast.Name) and b.id.endswith(("Error", "Exception")) for b in node.bases)
            ):
                strays.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert not strays


def test_every_exception_derives_from_simdask_error():
    for name in errors.__all__:
        value = getattr(errors, name)
        if isinstance(value, type):
            assert issubclass(value, errors.SimdaskError), name
