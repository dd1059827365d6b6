"""``ConfigOptions``: where a Client takes its settings from (the environment, maybe with a suffix).

``ConfigOptions.create_from_environment("db2")`` reads every option from the
environment variable of its name with ``_db2`` appended (``SSDB_db2``,
``SR_DB_TYPE_db2``, ``SSKEYIN_db2``, ``SSKEYOUT_db2``, ``SR_CONN_TIMEOUT_db2``,
...), so one process can hold clients of several stores; ``""`` reads the
plain names. Overrides set on an instance win over the environment, for
that instance only. Only the environment is a source (as in SmartRedis 0.6).
"""

from __future__ import annotations

import os

from .error import RedisKeyError, RedisRuntimeError
from .util import exception_handler, typecheck

__all__ = [
    "ConfigOptions",
    "SSDB",
    "SR_DB_TYPE",
    "SSKEYIN",
    "SSKEYOUT",
    "SR_CONN_TIMEOUT",
    "SR_CONN_INTERVAL",
    "SR_CMD_TIMEOUT",
    "SR_CMD_INTERVAL",
    "SR_THREAD_COUNT",
    "SR_MODEL_TIMEOUT",
]

#: The store's address: ``host:port``, comma-separated cluster nodes, ``unix:///path`` (``tcp://`` allowed).
SSDB = "SSDB"
#: ``Standalone`` or ``Clustered``: accepted; simdask asks the store which it is.
SR_DB_TYPE = "SR_DB_TYPE"
#: Comma-separated prefixes reads may use; the first is the default data source.
SSKEYIN = "SSKEYIN"
#: The prefix writes use.
SSKEYOUT = "SSKEYOUT"
#: Seconds to connect (simdask's ``connect_timeout``).
SR_CONN_TIMEOUT = "SR_CONN_TIMEOUT"
#: Milliseconds between connection attempts: validated, no effect.
SR_CONN_INTERVAL = "SR_CONN_INTERVAL"
#: Seconds a command may take (simdask's ``socket_timeout``: one reply's wait).
SR_CMD_TIMEOUT = "SR_CMD_TIMEOUT"
#: Milliseconds between command attempts: validated, no effect.
SR_CMD_INTERVAL = "SR_CMD_INTERVAL"
#: Threads of SmartRedis's worker pool: validated, no effect (simdask pipelines per shard instead).
SR_THREAD_COUNT = "SR_THREAD_COUNT"
#: Milliseconds ``run_model``/``run_script`` wait; read at each call, never suffixed (as in SmartRedis).
SR_MODEL_TIMEOUT = "SR_MODEL_TIMEOUT"

_NOT_MADE_BY_FACTORY = (
    "Attempting to call managed method on ConfigOptions object not created from a factory method "
    "(use ConfigOptions.create_from_environment)"
)


class ConfigOptions:
    """Options for a :class:`~smartredis.Client`; made with :meth:`create_from_environment`."""

    def __init__(self) -> None:
        self._suffix: str | None = None  # None: not made by the factory, every option call refuses
        self._integers: dict[str, int] = {}
        self._strings: dict[str, str] = {}

    @classmethod
    @exception_handler
    def create_from_environment(cls, db_suffix: str) -> ConfigOptions:
        """Options read from the environment; a non-empty ``db_suffix`` appends ``_<db_suffix>`` to every name."""
        typecheck(db_suffix, "db_suffix", str)
        options = cls()
        options._suffix = db_suffix
        return options

    @property
    def suffix(self) -> str:
        """The suffix of the variable names read (``""``: none)."""
        return self._suffix or ""

    def _managed(self) -> None:
        if self._suffix is None:
            raise RedisRuntimeError(_NOT_MADE_BY_FACTORY)

    def _variable(self, option_name: str) -> str:
        if not option_name:
            raise RedisKeyError("Invalid empty environment variable name detected")
        return f"{option_name}_{self._suffix}" if self._suffix else option_name

    @exception_handler
    def get_integer_option(self, option_name: str) -> int:
        """The option's integer value; :class:`RedisKeyError` when it is neither set nor overridden."""
        typecheck(option_name, "option_name", str)
        self._managed()
        if option_name not in self._integers:
            text = self._environment(option_name)
            try:
                self._integers[option_name] = int(text.strip())
            except ValueError:
                raise ValueError(f"{self._variable(option_name)}={text!r} is not an integer") from None
        return self._integers[option_name]

    @exception_handler
    def get_string_option(self, option_name: str) -> str:
        """The option's value; :class:`RedisKeyError` when it is neither set nor overridden."""
        typecheck(option_name, "option_name", str)
        self._managed()
        if option_name not in self._strings:
            self._strings[option_name] = self._environment(option_name)
        return self._strings[option_name]

    @exception_handler
    def is_configured(self, option_name: str) -> bool:
        """Whether the option is overridden or its variable is set."""
        typecheck(option_name, "option_name", str)
        self._managed()
        known = option_name in self._integers or option_name in self._strings
        return known or self._variable(option_name) in os.environ

    @exception_handler
    def override_integer_option(self, option_name: str, value: int) -> None:
        """Use ``value`` for the option from now on (this instance only)."""
        typecheck(option_name, "option_name", str)
        typecheck(value, "value", int)
        self._managed()
        self._variable(option_name)
        self._integers[option_name] = value

    @exception_handler
    def override_string_option(self, option_name: str, value: str) -> None:
        """Use ``value`` for the option from now on (this instance only)."""
        typecheck(option_name, "option_name", str)
        typecheck(value, "value", str)
        self._managed()
        self._variable(option_name)
        self._strings[option_name] = value

    def _environment(self, option_name: str) -> str:
        variable = self._variable(option_name)
        if variable not in os.environ:
            raise RedisKeyError(f"Configuration option {option_name} is not set (environment variable {variable})")
        return os.environ[variable]

    def resolve_string(self, option_name: str) -> str | None:
        """The option's value if overridden or set, else ``None`` (what a Client reads)."""
        self._managed()
        return self.get_string_option(option_name) if self.is_configured(option_name) else None

    def resolve_integer(self, option_name: str, *, minimum: int, limit: int | None = None) -> int | None:
        """The option's integer value if overridden or set, else ``None``; a :class:`ValueError` out of range."""
        self._managed()
        if not self.is_configured(option_name):
            return None
        value = self.get_integer_option(option_name)
        if value < minimum or (limit is not None and value > limit):
            bound = f">= {minimum}" + (f" and <= {limit}" if limit is not None else "")
            raise ValueError(f"{self._variable(option_name)} must be {bound}, got {value}")
        return value

    def __repr__(self) -> str:
        source = "not made by a factory" if self._suffix is None else f"environment, suffix {self._suffix!r}"
        return f"<smartredis.ConfigOptions {source}>"
