"""The Fortran module's bind(C) copy of sd_options has the C struct's fields, in order and of matching kinds.

sd_options_init fills the whole C struct: a Fortran copy with fewer fields is
written past its end, and the C client reads stack garbage for the fields it
lacks (a pointer field then crashes the program).
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _c_fields() -> list[tuple[str, str]]:
    header = (ROOT / "client_c" / "include" / "simdask.h").read_text()
    block = header[header.index("typedef struct sd_options") : header.index("} sd_options;")]
    block = re.sub(r"/\*.*?\*/", "", block, flags=re.S)
    return [
        ("ptr" if "*" in decl else "int", name)
        for decl, name in re.findall(r"^\s*((?:const\s+)?char\s*\*|int)\s*(\w+)\s*;", block, flags=re.M)
    ]


def _fortran_fields() -> list[tuple[str, str]]:
    source = (ROOT / "client_fortran" / "src" / "simdask.f90").read_text()
    block = source[source.index("type, bind(C) :: c_options") : source.index("end type c_options")]
    fields = []
    for kind, names in re.findall(r"^\s*(type\(c_ptr\)|integer\(c_int\))\s*::\s*(.+)$", block, flags=re.M):
        fields += [("ptr" if kind.startswith("type") else "int", n.strip()) for n in names.split(",")]
    return fields


def test_fortran_options_match_the_c_struct_field_for_field():
    assert _fortran_fields() == _c_fields()
