"""Param declarations: bad specs are refused, user values are checked and converted."""

import pytest

from registry import Param, PluginSpecError


def test_number_needs_a_range():
    with pytest.raises(PluginSpecError, match="minimum and maximum"):
        Param("count", "int", 3)


def test_bad_default_is_a_spec_error():
    with pytest.raises(PluginSpecError, match="bad default"):
        Param("count", "int", 100, minimum=1, maximum=10)


def test_unknown_kind_and_bad_name_are_refused():
    with pytest.raises(PluginSpecError, match="kind"):
        Param("x", "colour", "red")
    with pytest.raises(PluginSpecError, match="identifier"):
        Param("not a name", "bool", True)


def test_choice_needs_strings():
    with pytest.raises(PluginSpecError, match="tuple of strings"):
        Param("mode", "choice", "a", choices=())


def test_coerce_converts_and_checks():
    count = Param("count", "int", 4, minimum=1, maximum=8)
    assert count.coerce(5.0) == 5 and isinstance(count.coerce("6"), int)
    with pytest.raises(ValueError, match="between 1 and 8"):
        count.coerce(9)
    with pytest.raises(ValueError, match="whole number"):
        count.coerce(2.5)
    assert Param("on", "bool", False).coerce("true") is True
    with pytest.raises(ValueError, match="one of a, b"):
        Param("mode", "choice", "a", choices=("a", "b")).coerce("c")
