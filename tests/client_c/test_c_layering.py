"""libsimdask's source files call each other downward only: no call cycle between files.

Each ``client_c/src/*.c`` is compiled on its own; ``nm`` says which symbols
each object defines and which it uses, which gives the graph "file A uses a
symbol of file B". That graph must have no cycle, and must agree with the file
map at the top of ``sd_internal.h``: each file uses only files listed above
it. CMakeLists.txt builds exactly the files of the map, in its order.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from simdask_tests_native import ROOT, missing_c_tools

SRC = ROOT / "client_c" / "src"

pytestmark = pytest.mark.skipif(
    bool(missing_c_tools()) or shutil.which("nm") is None, reason=f"no C toolchain: {missing_c_tools() or 'no nm'}"
)


def compile_objects(sources: list[Path], out: Path, *include: Path) -> dict[str, Path]:
    """Each source compiled on its own (no optimisation: every call stays a call)."""
    cflags = subprocess.run(
        ["pkg-config", "--cflags", "hiredis"], capture_output=True, text=True, check=True
    ).stdout.split()
    objects = {}
    for source in sources:
        obj = out / f"{source.stem}.o"
        subprocess.run(
            [
                "gcc",
                "-std=c11",
                "-O0",
                "-D_DEFAULT_SOURCE",
                "-D_POSIX_C_SOURCE=200809L",
                *(f"-I{d}" for d in include),
                *cflags,
                "-c",
                source,
                "-o",
                obj,
            ],
            check=True,
        )
        objects[source.name] = obj
    return objects


def _symbols(obj: Path, *flags: str) -> set[str]:
    out = subprocess.run(["nm", *flags, obj], capture_output=True, text=True, check=True).stdout
    return {line.split()[-1] for line in out.splitlines() if line.strip()}


def file_graph(objects: dict[str, Path]) -> dict[str, set[str]]:
    """file -> the other files whose symbols it uses (symbols of no file, libc's and hiredis's, left out)."""
    owner = {sym: name for name, obj in objects.items() for sym in _symbols(obj, "--defined-only", "--extern-only")}
    return {
        name: {owner[sym] for sym in _symbols(obj, "--undefined-only") if sym in owner} - {name}
        for name, obj in objects.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of the graph as a path [a, b, ..., a], or None (depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for succ in sorted(graph.get(node, ())):
            if state.get(succ) == 1:
                return path[path.index(succ) :] + [succ]
            if succ not in state and (cycle := visit(succ)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def file_map() -> list[str]:
    """The files of sd_internal.h's map, bottom-up."""
    header = (SRC / "sd_internal.h").read_text()
    return re.findall(r"^ \*   (\w+\.c) ", header.split("*/", 1)[0], flags=re.M)


@pytest.fixture(scope="module")
def graph(tmp_path_factory) -> dict[str, set[str]]:
    out = tmp_path_factory.mktemp("layering")
    return file_graph(compile_objects(sorted(SRC.glob("*.c")), out, ROOT / "client_c" / "include", SRC))


def test_no_call_cycle_between_source_files(graph):
    assert len(graph) > 10 and any(graph.values())
    cycle = find_cycle(graph)
    assert cycle is None, "call cycle between files: " + " -> ".join(cycle)


def test_each_file_uses_only_files_above_it_in_the_map(graph):
    order = file_map()
    upward = [
        f"{user} uses {used}"
        for user, used_files in graph.items()
        for used in used_files
        if order.index(used) > order.index(user)
    ]
    assert not upward, f"sd_internal.h's file map says otherwise: {upward}"


def test_the_map_and_cmake_list_every_source_once():
    order = file_map()
    cmake = re.findall(r"^\s+src/(\w+\.c)\)?$", (ROOT / "client_c" / "CMakeLists.txt").read_text(), flags=re.M)
    assert len(set(order)) == len(order)
    assert sorted(order) == sorted(p.name for p in SRC.glob("*.c"))
    assert cmake == order


def test_a_cycle_is_caught(tmp_path):
    """The check itself: files that call each other in a ring are reported, a chain is not."""
    sources = {
        "low.c": "int low(void) { return 1; }\n",
        "mid.c": "int low(void); int top(void); int mid(void) { return low() + top(); }\n",
        "top.c": "int mid(void); int top(void) { return 0; } int run(void) { return mid(); }\n",
    }
    for name, text in sources.items():
        (tmp_path / name).write_text(text)
    graph = file_graph(compile_objects([tmp_path / name for name in sources], tmp_path))
    assert graph == {"low.c": set(), "mid.c": {"low.c", "top.c"}, "top.c": {"mid.c"}}
    assert find_cycle(graph) == ["mid.c", "top.c", "mid.c"]
    del graph["top.c"]
    assert find_cycle(graph) is None
