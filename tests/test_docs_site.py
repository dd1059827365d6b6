"""The documentation site (docs/, Sphinx + myst-parser) builds with warnings as errors and documents the public API.

A warning fails the build: a docstring with broken markup, an object described twice, a page of ``docs/`` left
out of the table of contents, a README section that a guide includes and that was renamed.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import simdask

pytest.importorskip("sphinx", reason="the docs extra (pip install -e '.[docs]') builds the documentation site")
pytest.importorskip("myst_parser", reason="the docs extra (pip install -e '.[docs]') builds the documentation site")

DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site built from docs/ into a temporary folder, as ``make docs`` builds it."""
    out = tmp_path_factory.mktemp("docs-site")
    build = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(DOCS), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, f"sphinx-build failed:\n{build.stdout}\n{build.stderr}"
    return out


def test_every_page_of_docs_is_built(site: Path) -> None:
    pages = sorted(p.stem for p in DOCS.glob("*.md"))
    assert {"index", "quickstart", "python", "c", "fortran", "smartredis", "architecture", "protocol", "api"} <= set(
        pages
    )
    assert [p for p in pages if not (site / f"{p}.html").is_file()] == []


def test_api_reference_documents_every_public_name(site: Path) -> None:
    anchors = set(re.findall(r'id="simdask\.([A-Za-z_][A-Za-z0-9_]*)"', (site / "api.html").read_text()))
    assert sorted(set(simdask.__all__) - anchors) == []
