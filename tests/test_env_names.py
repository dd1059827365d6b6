"""One place for names and defaults: the SIMDASK_* variables and the timeouts agree across Python and C."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import simdask  # noqa: F401  (registers the simdask config defaults)
from simdask import config, env

ROOT = Path(__file__).resolve().parents[1]
HEADER = ROOT / "client_c" / "include" / "simdask.h"


def _options_block() -> str:
    header = HEADER.read_text()
    start = header.index("typedef struct sd_options")
    return header[start : header.index("} sd_options;", start)]


def test_c_reads_the_variables_python_reads():
    assert set(re.findall(r"\bSIMDASK_[A-Z_]+\b", _options_block())) == set(env.CLIENT_NAMES)


def test_python_spells_variable_names_only_in_env_module():
    strays = []
    for path in (ROOT / "simdask").rglob("*.py"):
        if path == ROOT / "simdask" / "env.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and re.fullmatch(r"SIMDASK_[A-Z_]+", node.value)
            ):
                strays.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value}")
    assert not strays


def test_c_defaults_are_simdask_yaml_defaults():
    documented = re.findall(r"default (\d+) \(simdask\.yaml ([\w.-]+), seconds\)", _options_block())
    assert {name for _, name in documented} == {
        "client.connect-timeout",
        "client.socket-timeout",
        "inference.run-timeout",
        "runs.lease",
    }
    for milliseconds, name in documented:
        assert int(milliseconds) == round(float(config.get(name)) * 1000), name


def test_protocol_doc_states_the_same_defaults():
    text = (ROOT / "docs" / "protocol.md").read_text()
    for name, seconds in (
        ("client.connect-timeout", config.get("client.connect-timeout")),
        ("client.socket-timeout", config.get("client.socket-timeout")),
        ("inference.run-timeout", config.get("inference.run-timeout")),
        ("runs.lease", config.get("runs.lease")),
    ):
        assert re.search(rf"\| {seconds:g} s \| `{re.escape(name)}` \|", text), name
