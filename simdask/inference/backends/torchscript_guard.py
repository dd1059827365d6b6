"""What a stored TorchScript model or script may do: compute on tensors, nothing else.

TorchScript cannot call Python, but its operator library reaches beyond the
tensors it is given: ``torch.save`` (``aten::save``) writes any file the
serving worker may write (a shell start-up file is then code), and
``torch.from_file`` / ``debugprims::load_tensor`` read any file it may read;
RPC and collective operators talk to other processes. And loading an archive
runs its ``__setstate__`` methods. So a stored model is checked twice:

1. before it is compiled or loaded, its TorchScript source (every ``code/``
   file of an archive, or a script's text) must not name any of
   :data:`DENIED_WORDS`, also after decoding string escapes (``"s\\x61ve"``);
   an archive must be a well-formed zip with unique entry names;
2. after, every graph of every method of every submodule (or every function
   of a script), inlined, may use only operators of :data:`ALLOWED_NAMESPACES`
   and none of :data:`DENIED_OPS`.

A refused model is a :class:`~simdask.errors.ModelError` naming it and what
was found. Models that only compute (``nn`` layers, tensor maths, control
flow) pass both.
"""

from __future__ import annotations

import codecs
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from typing import Any

from ...errors import ModelError

__all__ = ["ALLOWED_NAMESPACES", "DENIED_OPS", "DENIED_WORDS", "check_archive", "check_source", "check_graphs"]

#: Operator namespaces a stored model may use: tensor computation.
ALLOWED_NAMESPACES = frozenset(
    {
        "aten",
        "prim",
        "prims",
        "quantized",
        "_quantized",
        "mkldnn",
        "mkldnn_prepacked",
        "mkl",
        "onednn",
        "sparse",
        "quantization",
        "rngprims",
        "profiler",
    }
)
#: Operators of those namespaces that reach outside the model: files, other processes, Python.
DENIED_OPS = frozenset(
    {
        "aten::save",
        "aten::from_file",
        "prim::rpc_sync",
        "prim::rpc_async",
        "prim::rpc_remote",
        "prim::PythonOp",
    }
)
#: Names that never appear in TorchScript source that only computes: the denied operators' Python
#: names and the namespaces outside :data:`ALLOWED_NAMESPACES` (torch 2.13).
DENIED_WORDS = frozenset(
    {
        "save",
        "from_file",
        "load_tensor",
        "rpc_sync",
        "rpc_async",
        "rpc_remote",
        "c10d",
        "_c10d_functional",
        "_c10d_functional_autograd",
        "symm_mem",
        "debugprims",
        "debug_mode_ops",
        "_dtensor",
        "_native",
        "_test",
        "inductor",
        "inductor_prims",
        "static_runtime",
    }
)
_ALTERNATIVES = "|".join(sorted(DENIED_WORDS, key=len, reverse=True))
_WORDS = re.compile(r"(?<![A-Za-z0-9_])(" + _ALTERNATIVES + r")(?![A-Za-z0-9_])")
#: Largest TorchScript source checked (bytes): a model's code is kilobytes, a script's text too.
_MAX_SOURCE = 64 * 2**20


def _found(text: str) -> str | None:
    """The first denied word in ``text`` or in it with its string escapes decoded."""
    match = _WORDS.search(text)
    if match is None and "\\" in text:
        decoded = codecs.decode(text.encode("latin-1", "backslashreplace"), "unicode_escape", "replace")
        match = _WORDS.search(decoded)
    return match.group(1) if match else None


def check_source(text: str, label: str) -> None:
    """Refuse TorchScript source that names an operator reaching outside the model."""
    word = _found(text)
    if word is not None:
        raise ModelError(
            f"{label} is refused: its TorchScript names {word!r}, which reaches outside the model "
            "(files, other processes); stored models and scripts may only compute on their inputs"
        )


def check_archive(blob: bytes, label: str) -> None:
    """Refuse a TorchScript archive that is not a clean zip file or whose code names a denied operator."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(blob))
        entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError) as exc:
        raise ModelError(f"{label} is not a TorchScript archive (not a zip file: {exc})") from None
    names = [e.filename for e in entries]
    if len(set(names)) != len(names):
        raise ModelError(f"{label} is refused: its archive names an entry twice")
    code = [e for e in entries if "/code/" in f"/{e.filename}" and not e.filename.endswith(".debug_pkl")]
    if not code:
        raise ModelError(f"{label} is not a TorchScript archive (no code/ folder)")
    total = 0
    for entry in code:
        total += entry.file_size
        if total > _MAX_SOURCE:
            raise ModelError(f"{label} is refused: more than {_MAX_SOURCE} bytes of TorchScript code")
        try:
            text = archive.read(entry).decode("utf-8", "replace")
        except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
            raise ModelError(f"{label} is refused: archive entry {entry.filename!r} cannot be read ({exc})") from None
        check_source(text, f"{label} ({entry.filename})")


def _nodes(block: Any) -> Iterator[Any]:
    for node in block.nodes():
        yield node
        for inner in node.blocks():
            yield from _nodes(inner)


def check_graphs(graphs: Iterable[tuple[str, Any]], label: str) -> None:
    """Refuse graphs (``(where, torch._C.Graph)``) that use an operator outside the allowed ones."""
    import torch

    for where, graph in graphs:
        inlined = graph.copy()
        torch._C._jit_pass_inline(inlined)
        for node in _nodes(inlined):
            kind = node.kind()
            namespace = kind.split("::", 1)[0]
            if kind in DENIED_OPS or namespace not in ALLOWED_NAMESPACES:
                raise ModelError(
                    f"{label} is refused: {where} uses the operator {kind}, which reaches outside the model; "
                    "stored models and scripts may only compute on their inputs"
                )


def module_graphs(module: Any) -> Iterator[tuple[str, Any]]:
    """Every method graph of a loaded ``torch.jit.ScriptModule`` and its submodules."""
    for name, sub in module.named_modules():
        compiled = sub._c
        for method in compiled._method_names():
            yield "method " + repr(f"{name}.{method}" if name else method), compiled._get_method(method).graph


def unit_graphs(unit: Any) -> Iterator[tuple[str, Any]]:
    """Every function graph of a ``torch.jit.CompilationUnit``."""
    for function in unit.get_functions():
        yield f"function {function.name!r}", function.graph
