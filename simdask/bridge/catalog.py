"""The tensors a key template matches in one store, and their headers.

Keys are found with ``SCAN`` on every shard, one page at a time, and headers
read with one pipelined ``GETRANGE`` per key, a batch of keys per pipeline
(one round trip per shard and batch), so opening 10,000 tensors moves a few
hundred bytes each and no data, and opening a million holds one page of keys
and one batch of headers at a time besides the entries. The lookup of the
current run (``run=None``) goes in one pipeline with the first ``SCAN`` on a
standalone store once this process has seen the group's prefix there: the
scan is of that prefix, done again when a new run has begun since. A catalog
remembers what it has read: refreshing it reads only the new keys' headers
and forgets the keys gone from the store; :meth:`Catalog.probe` looks at
given keys only, and :meth:`Catalog.forget` drops entries a caller is done
with (``watch`` keeps its bookkeeping bounded so).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .. import wire
from ..client import Client
from ..errors import KeyNotFoundError, error_from_reply
from ..protocol import runs, tensors
from ..protocol.keys import is_internal
from ..transport import ErrorReply, Request
from ..transport.transport import scan_command
from .template import KeyTemplate, glob_escape

__all__ = ["Entry", "Catalog"]

#: Keys a server looks at per ``SCAN`` call: few round trips over a large store, a short pause of the server each.
SCAN_COUNT = 10_000
#: Headers read per pipeline: bounds the replies held at once (a few hundred bytes each).
HEADER_BATCH = 10_000
#: Groups' current key prefixes last found, by (store address, group): a later catalog scans the same prefix
#: while it looks the run up, in one round trip. Bounded: forgotten all at once past this many.
_PREFIXES: dict[tuple[str, str], str] = {}
_MAX_PREFIXES = 256


@dataclass(frozen=True, slots=True)  # one per key: a million of them open a long run
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
        self._first: tuple[bytes, list[bytes]] | None = None  # the first SCAN reply, when sent with the lookup
        self.prefix = self._look_up(run)
        at = self.prefix.rstrip(".").rsplit("@", 1)
        self.run = int(at[1]) if len(at) == 2 else None
        self._entries: dict[str, Entry] = {}
        self._ignored: set[str] = set()  # keys the glob matches and the template does not

    def _look_up(self, run: int | str | None) -> str:
        """The key prefix of ``run``; for the current run of a group whose prefix this process has seen on a
        standalone store, looked up in one pipeline with the first ``SCAN`` of that prefix (kept for
        :meth:`refresh` when the prefix is still the same)."""
        client = self.client
        group = client.current_run_lookup() if run is None and not client.is_cluster else None
        if group is None:
            return client.run_key_prefix(run)
        seen = (client.address, group)
        guess = _PREFIXES.get(seen)
        if guess is None:
            prefix = client.run_key_prefix(run)
        else:
            key, command = runs.current_run_command(group)
            scan = scan_command(self._pattern(guess), SCAN_COUNT)
            current, first = client.session.transport.run([Request(key, (command,)), Request(None, (scan,))])
            for reply, sent in ((current, command), (first, scan)):
                if isinstance(reply, ErrorReply):
                    raise error_from_reply(reply, f"{sent[0]} at {client.address}")
            prefix = runs.key_prefix(group, None if current is None else int(current))
            self._first = (first[0], first[1]) if prefix == guess else None
        if len(_PREFIXES) >= _MAX_PREFIXES:
            _PREFIXES.clear()
        _PREFIXES[seen] = prefix
        return prefix

    def _pattern(self, prefix: str) -> str:
        """The ``SCAN`` pattern of the template's keys under ``prefix``."""
        return glob_escape(prefix) + self.template.glob

    @property
    def entries(self) -> list[Entry]:
        """Every tensor found so far (and not forgotten)."""
        return list(self._entries.values())

    def __contains__(self, key: object) -> bool:
        """Whether ``key`` (a raw key) is one of the entries."""
        return key in self._entries

    def key(self, values: dict[str, Any]) -> str:
        """The raw key the template gives for ``values``."""
        return self.prefix + self.template.format(values)

    def refresh(self, *, skip: Callable[[dict[str, Any]], bool] | None = None) -> list[Entry]:
        """Look for keys again: read the headers of new ones only, forget those gone from the store.

        ``skip``: field values of keys to pass over (neither read nor kept).
        Returns the new entries, sorted by key.
        """
        known = bool(self._entries or self._ignored)
        found: set[str] = set()  # to forget what is gone (a first refresh has nothing to forget)
        ignored: set[str] = set()
        pending: dict[str, dict[str, Any]] = {}
        added: list[Entry] = []
        first, self._first = self._first, None
        pages = self.client.session.transport.scan_pages(self._pattern(self.prefix), count=SCAN_COUNT, first=first)
        for _, page in pages:
            for key in page:
                if known:
                    found.add(key)
                if key in self._entries:
                    continue
                if key in self._ignored:
                    ignored.add(key)
                    continue
                name = key[len(self.prefix) :]
                values = None if is_internal(name) else self.template.parse(name)
                if values is None:
                    ignored.add(key)
                elif skip is None or not skip(values):
                    pending[key] = values
            if len(pending) >= HEADER_BATCH:
                added += self._read(pending)
                pending = {}
        added += self._read(pending)
        if known:
            self.forget([key for key in self._entries if key not in found])
        self._ignored = ignored
        return self._keep(added)

    def probe(self, values: Iterable[dict[str, Any]]) -> list[Entry]:
        """Look at the keys of these field values only, whatever else the store holds: read their headers
        (one pipelined round trip per shard), keep those that exist, forget those gone.

        Returns the entries of keys not known before, sorted by key.
        """
        pending = {self.key(v): v for v in values}
        before = {key for key in pending if key in self._entries}
        self.forget(before)
        return [entry for entry in self._keep(self._read(pending)) if entry.key not in before]

    def forget(self, keys: Iterable[str]) -> None:
        """Drop these keys' entries (a refresh finds those still in the store again)."""
        for key in keys:
            self._entries.pop(key, None)

    def _read(self, pending: dict[str, dict[str, Any]]) -> list[Entry]:
        """The entries of the ``pending`` keys (field values by key) that exist: their headers read."""
        if not pending:
            return []
        keys = list(pending)
        # Only headers here: a value's length is checked when its data are read.
        infos = tensors.tensor_infos(self.client.session, keys, missing_ok=True, check_length=False)
        return [Entry(key, pending[key], info) for key, info in zip(keys, infos) if info is not None]

    def _keep(self, entries: list[Entry]) -> list[Entry]:
        """Add entries in the order of their keys (once each: SCAN may return a key twice); returns them so."""
        kept = sorted({entry.key: entry for entry in entries}.values(), key=lambda entry: entry.key)
        for entry in kept:
            self._entries[entry.key] = entry
        return kept

    def require(self) -> list[Entry]:
        """:meth:`refresh`, then every entry; no match at all is a :class:`KeyNotFoundError`."""
        self.refresh()
        if not self._entries:
            raise KeyNotFoundError(
                f"no tensor in the store at {self.client.address} matches the key template "
                f"{self.template.template!r} (pattern {self.prefix + self.template.glob!r})"
            )
        return self.entries
