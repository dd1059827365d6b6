"""Key templates: ``"{var}.step{step:d}"`` names many store keys at once.

A template is a :meth:`str.format` string. Its fields are parsed out of the
keys it matches: ``{name}`` or ``{name:s}`` match any non-empty text,
``{name:d}`` (with an optional width such as ``{name:04d}``) an integer.
Doubled braces are literal braces, so hash-tagged keys work
(``"{{run1}}.{var}.{step:d}"`` names keys ``{run1}.u.0``, ...).
"""

from __future__ import annotations

import operator
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Field", "KeyTemplate", "VAR", "glob_escape"]

#: The field that names variables; every other field is a dimension.
VAR = "var"

_INT_SPEC = re.compile(r"0?\d*d")
_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")


def glob_escape(text: str) -> str:
    """``text`` as a literal in a store ``SCAN MATCH`` pattern."""
    return _GLOB_SPECIAL.sub(r"\\\1", text)


@dataclass(frozen=True)
class Field:
    """One ``{name:spec}`` field of a template."""

    name: str
    spec: str

    @property
    def is_int(self) -> bool:
        """Whether the field holds integers (``:d``)."""
        return self.spec.endswith("d")

    def pattern(self) -> str:
        return r"-?\d+" if self.is_int else r".+?"


def _integer(value: Any, name: str, template: str) -> int:
    """``value`` as an int for a ``:d`` field: integers, and floats with an integral value."""
    try:
        return operator.index(value)
    except TypeError:
        pass
    if isinstance(value, float) and value.is_integer():  # numpy floats are floats
        return int(value)
    raise ValueError(f"key template {template!r}: field {name!r} takes integers, got {value!r}")


class KeyTemplate:
    """A parsed key template.

    Parameters
    ----------
    template
        A format string such as ``"{var}.step{step:d}"`` or
        ``"rank{rank:d}/{var}_{step:d}"``.

    Examples
    --------
    >>> t = KeyTemplate("{var}.step{step:d}")
    >>> t.glob
    '*.step*'
    >>> t.parse("u.step12")
    {'var': 'u', 'step': 12}
    >>> t.format({"var": "u", "step": 3})
    'u.step3'
    """

    def __init__(self, template: str) -> None:
        if not isinstance(template, str) or not template:
            raise ValueError(f"a key template must be a non-empty string, got {template!r}")
        self.template = template
        literals: list[str] = []
        fields: list[Field] = []
        text = ""
        try:
            parsed = list(string.Formatter().parse(template))
        except ValueError as exc:
            raise ValueError(f"invalid key template {template!r}: {exc}") from None
        for literal, name, spec, conversion in parsed:
            text += literal
            if name is None:
                continue
            literals.append(text)
            text = ""
            if not name.isidentifier() or conversion or "{" in (spec or ""):
                raise ValueError(
                    f"key template {template!r}: field {{{name}}} must be a plain name with an optional "
                    "':d' or ':s' format (no conversions, indexing or nested fields)"
                )
            spec = spec or ""
            if spec not in ("", "s") and not _INT_SPEC.fullmatch(spec):
                raise ValueError(f"key template {template!r}: field {name!r} has format {spec!r}; use ':d' or ':s'")
            if any(f.name == name for f in fields):
                raise ValueError(f"key template {template!r} names field {name!r} twice")
            fields.append(Field(name, spec))
        literals.append(text)
        self.fields: tuple[Field, ...] = tuple(fields)
        self._literals = tuple(literals)
        self.glob = "*".join(glob_escape(text) for text in literals)
        parts = [re.escape(literals[0])]
        for field, literal in zip(fields, literals[1:]):
            parts += [f"(?P<{field.name}>{field.pattern()})", re.escape(literal)]
        self._regex = re.compile("".join(parts), re.DOTALL)

    @property
    def names(self) -> tuple[str, ...]:
        """The field names, in template order."""
        return tuple(f.name for f in self.fields)

    def parse(self, name: str) -> dict[str, int | str] | None:
        """The field values of a key name, or ``None`` when the template does not match it."""
        match = self._regex.fullmatch(name)
        if match is None:
            return None
        values: dict[str, int | str] = {}
        for field in self.fields:
            text = match.group(field.name)
            values[field.name] = int(text) if field.is_int else text
        return values

    def format(self, values: Mapping[str, object]) -> str:
        """The key name for the given field values."""
        missing = [f.name for f in self.fields if f.name not in values]
        if missing:
            raise ValueError(f"key template {self.template!r} needs values for {missing}")
        out = [self._literals[0]]
        for field, literal in zip(self.fields, self._literals[1:]):
            value = values[field.name]
            if field.is_int:
                value = _integer(value, field.name, self.template)
            out += [format(value, field.spec), literal]
        return "".join(out)

    def __repr__(self) -> str:
        return f"KeyTemplate({self.template!r})"
