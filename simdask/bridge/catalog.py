"""The tensors a key template matches in one store, and their headers.

Keys are found with ``SCAN`` on every shard and headers read with one
pipelined ``GETRANGE`` per key (one round trip per shard), so opening
10,000 tensors moves a few hundred bytes each and no data. A catalog
remembers what it has read: refreshing it reads only the new keys' headers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import wire
from ..client import Client
from ..errors import KeyNotFoundError
from ..protocol import tensors
from ..protocol.keys import is_internal
from .template import KeyTemplate, glob_escape

__all__ = ["Entry", "Catalog"]


@dataclass(frozen=True)
class Entry:
    """One matched tensor: its raw key, its template field values and its header."""

    key: str
    fields: dict[str, Any]
    info: wire.TensorInfo


class Catalog:
    """The tensors ``template`` matches in the store ``client`` reads from.

    Parameters
    ----------
    client
        Where to look; its read prefix (``SIMDASK_KEY_PREFIXES_IN`` or its
        own prefix) is put in front of the template.
    template
        A :class:`KeyTemplate` or its text.
    run
        Which run of the client's read group (``docs/protocol.md``, "Runs"):
        its number, or ``None`` for the group's current run (plain keys when
        it has none), looked up now.
    """

    def __init__(self, client: Client, template: str | KeyTemplate, run: int | str | None = None) -> None:
        self.client = client
        self.template = template if isinstance(template, KeyTemplate) else KeyTemplate(template)
        self.prefix = client.run_key_prefix(run)
        at = self.prefix.rstrip(".").rsplit("@", 1)
        self.run = int(at[1]) if len(at) == 2 else None
        self._entries: dict[str, Entry] = {}
        self._ignored: set[str] = set()

    @property
    def entries(self) -> list[Entry]:
        """Every tensor found so far."""
        return list(self._entries.values())

    def key(self, values: dict[str, Any]) -> str:
        """The raw key the template gives for ``values``."""
        return self.prefix + self.template.format(values)

    def refresh(self) -> list[Entry]:
        """Look for keys again; read the headers of new ones only. Returns the new entries."""
        fields: dict[str, dict[str, Any]] = {}
        for key in self.client.keys(glob_escape(self.prefix) + self.template.glob):
            if key in self._entries or key in self._ignored:
                continue
            name = key[len(self.prefix) :]
            values = None if is_internal(name) else self.template.parse(name)
            if values is None:
                self._ignored.add(key)
            else:
                fields[key] = values
        keys = list(fields)
        # Only headers here: a value's length is checked when its data are read.
        infos = dict(zip(keys, tensors.tensor_infos(self.client.session, keys, missing_ok=True, check_length=False)))
        added = []
        for key in sorted(fields):
            info = infos[key]
            if info is not None:
                entry = self._entries[key] = Entry(key, fields[key], info)
                added.append(entry)
        return added

    def require(self) -> list[Entry]:
        """:meth:`refresh`, then every entry; no match at all is a :class:`KeyNotFoundError`."""
        self.refresh()
        if not self._entries:
            raise KeyNotFoundError(
                f"no tensor in the store at {self.client.address} matches the key template "
                f"{self.template.template!r} (pattern {self.prefix + self.template.glob!r})"
            )
        return self.entries
