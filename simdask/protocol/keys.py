"""The key layout: ensemble key prefixes, name checks, and the names that are simdask's own.

Tensors, datasets and lists are written under the write prefix and read
from the read prefix (``docs/protocol.md``, "Key prefixes"); a dataset's keys
share the hash tag ``{name}`` so that it lives on one shard. Everything of
simdask's own is under ``simdask:`` and never matches a user's key template.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Protocol

from .. import env

__all__ = ["INTERNAL", "KeyPrefixes", "PrefixScope", "check_name", "is_internal"]

#: Names (after the key prefix) that are simdask's own, never user data: the
#: end-of-run marker, chunk keys of large tensors, models, requests, zarr store indexes.
INTERNAL = "simdask:"


def is_internal(name: str) -> bool:
    """Whether a key name is simdask's own, under any key prefix.

    >>> is_internal("simdask:end"), is_internal("p.simdask:end"), is_internal("u.step1")
    (True, True, False)
    """
    return name.startswith(INTERNAL) or f".{INTERNAL}" in name


def check_name(name: str, what: str) -> str:
    """Refuse names that cannot form a key (empty, not a string); return the name."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"{what} name must be a non-empty string, got {name!r}")
    return name


class PrefixScope(Protocol):
    """What puts a group's prefix into a run (:class:`~simdask.protocol.runs.RunScope`)."""

    def write_prefix(self, group: str) -> str: ...

    def read_prefix(self, group: str) -> str: ...


@dataclass
class KeyPrefixes:
    """Which prefix a client writes under and reads from (SmartRedis's SSKEYOUT/SSKEYIN).

    Writes use ``put_prefix``; reads use ``source``, the first incoming prefix
    by default, else the client's own prefix (so a member reads back what it
    wrote). Tensors, datasets and lists are prefixed unless switched off.
    With a ``scope``, each prefix is put in its run (``P@n``, ``docs/protocol.md``
    "Runs"); writes and deletes use the write prefix.

    Examples
    --------
    >>> prefixes = KeyPrefixes(put_prefix="sim_1", incoming=("sim_0",))
    >>> prefixes.tensor("u"), prefixes.tensor("u", write=True), prefixes.dataset("d")
    ('sim_0.u', 'sim_1.u', 'sim_0.{d}')
    """

    put_prefix: str = ""
    incoming: tuple[str, ...] = ()
    source: str = ""
    use_tensor_prefix: bool = True
    use_dataset_prefix: bool = True
    use_list_prefix: bool = True
    scope: PrefixScope | None = None
    _sources: frozenset[str] = field(default=frozenset(), repr=False)

    def __post_init__(self) -> None:
        for prefix in (self.put_prefix, *self.incoming):
            if any(c in prefix for c in "{},@"):
                raise ValueError(f"key prefix {prefix!r} must not contain braces, commas or '@'")
        self._sources = frozenset((*self.incoming, self.put_prefix))
        if not self.source:
            self.source = self.incoming[0] if self.incoming else self.put_prefix

    @classmethod
    def from_env(cls) -> KeyPrefixes:
        """Prefixes from ``SIMDASK_KEY_PREFIX`` and ``SIMDASK_KEY_PREFIXES_IN``."""
        incoming = tuple(p for p in os.environ.get(env.KEY_PREFIXES_IN, "").split(",") if p)
        return cls(put_prefix=os.environ.get(env.KEY_PREFIX, ""), incoming=incoming)

    def set_data_source(self, source: str) -> None:
        """Read from ``source``: one of the incoming prefixes or the client's own."""
        if source not in self._sources:
            known = ", ".join(repr(p) for p in sorted(self._sources) if p) or "none"
            raise ValueError(
                f"data source {source!r} is neither this client's prefix nor in {env.KEY_PREFIXES_IN} (known: {known})"
            )
        self.source = source

    def _join(self, name: str, enabled: bool, write: bool) -> str:
        if not enabled:
            return name
        prefix = self.put_prefix if write else self.source
        if self.scope is not None:
            prefix = self.scope.write_prefix(prefix) if write else self.scope.read_prefix(prefix)
        return f"{prefix}.{name}" if prefix else name

    def tensor(self, name: str, *, write: bool = False) -> str:
        """The key of tensor ``name``: with the read prefix, or the write prefix when ``write``."""
        check_name(name, "tensor")
        return self._join(name, self.use_tensor_prefix, write)

    def dataset(self, name: str, *, write: bool = False) -> str:
        """``p.{name}``: the base of a dataset's keys (``.meta``, ``.<tensor>``)."""
        check_name(name, "dataset")
        if "{" in name or "}" in name:
            raise ValueError(f"dataset name {name!r} must not contain braces (they form its cluster hash tag)")
        return self._join(f"{{{name}}}", self.use_dataset_prefix, write)

    def list(self, name: str, *, write: bool = False) -> str:
        """The key of aggregation list ``name``."""
        check_name(name, "list")
        return self._join(name, self.use_list_prefix, write)
