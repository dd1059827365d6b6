"""Key templates: globs for SCAN, parsing keys into field values, formatting names back."""

from __future__ import annotations

import numpy as np
import pytest

from simdask.bridge.template import KeyTemplate, glob_escape


def test_fields_glob_and_parse():
    t = KeyTemplate("rank{rank:d}/{var}_{step:04d}")
    assert t.names == ("rank", "var", "step")
    assert t.glob == "rank*/*_*"
    assert t.parse("rank3/u_v_0012") == {"rank": 3, "var": "u_v", "step": 12}
    assert t.parse("rank3/u") is None
    assert t.parse("rankx/u_1") is None
    assert t.format({"rank": 1, "var": "T", "step": 5}) == "rank1/T_0005"


def test_negative_integers_and_adjacent_fields():
    t = KeyTemplate("{var}{step:d}")
    assert t.parse("u12") == {"var": "u", "step": 12}
    assert t.parse("u-3") == {"var": "u", "step": -3}


def test_literal_braces_are_hash_tags():
    t = KeyTemplate("{{run1}}.{var}")
    assert t.glob == "{run1}.*"
    assert t.parse("{run1}.temp") == {"var": "temp"}
    assert t.format({"var": "x"}) == "{run1}.x"


def test_glob_special_characters_are_escaped():
    t = KeyTemplate("a*b[{x}]?")
    assert t.glob == r"a\*b\[*\]\?"
    assert t.parse("a*b[zz]?") == {"x": "zz"}
    assert glob_escape("p?.") == r"p\?."


def test_template_without_fields():
    t = KeyTemplate("u")
    assert (t.fields, t.glob, t.parse("u"), t.parse("uu")) == ((), "u", {}, None)


def test_integer_fields_take_integral_values_only():
    t = KeyTemplate("s{step:d}")
    assert t.format({"step": np.int64(3)}) == "s3"
    assert t.format({"step": 4.0}) == "s4"
    with pytest.raises(ValueError, match="takes integers"):
        t.format({"step": 0.5})
    with pytest.raises(ValueError, match="needs values"):
        t.format({})


@pytest.mark.parametrize("bad", ["", "{a.b}", "{a[0]}", "{a!r}", "{a:x}", "{}", "{a}{a}", "{a", "a}"])
def test_invalid_templates(bad):
    with pytest.raises(ValueError):
        KeyTemplate(bad)
