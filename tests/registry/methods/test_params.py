"""Param declarations: bad specs are refused, user values are checked and converted."""

import numpy as np
import pytest

import registry
from registry import Param, PluginSpecError
from registry.models import parse_class_number


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


@pytest.mark.parametrize("value", ["inf", "nan", "-inf", float("inf"), float("nan"), "٣", "1_0", "", True, None])
def test_numbers_must_be_finite_plain_numbers(value):
    count = Param("count", "int", 4, minimum=1, maximum=8)
    opacity = Param("opacity", "float", 0.5, minimum=0.0, maximum=1.0)
    for param in (count, opacity):
        with pytest.raises(ValueError, match="must be a (finite )?number"):
            param.coerce(value)


def test_plain_decimal_strings_are_numbers():
    assert Param("opacity", "float", 0.5, minimum=0.0, maximum=1.0).coerce(" .25 ") == 0.25
    assert Param("count", "int", 4, minimum=1, maximum=8).coerce("8e0") == 8


@pytest.mark.parametrize("value", ["²", "٣", "3.0", "-1", "1 2", "", None, True, 2.0, "0x1"])
def test_class_numbers_are_ascii_digits_only(value):
    with pytest.raises(ValueError, match="class number from 0 to 999, written with the digits 0-9"):
        parse_class_number(value, 1000)


def test_class_numbers_parse_and_check_their_range():
    assert parse_class_number(" 285 ", 1000) == 285
    assert parse_class_number(np.int64(7), 1000) == 7
    assert parse_class_number("1234") == 1234  # no range known yet: the backbone checks it later
    with pytest.raises(ValueError, match="from 0 to 999; got '1000'"):
        parse_class_number("1000", 1000)


def test_a_long_value_is_quoted_short():
    """A client's 10,000-character value comes back as a short, marked prefix, not echoed whole."""
    with pytest.raises(ValueError) as refused:
        Param("colormap", "choice", "jet", choices=("jet", "viridis")).coerce("x" * 10_000)
    assert len(str(refused.value)) < 200 and "10,000 characters" in str(refused.value)
    with pytest.raises(registry.UnknownPluginError) as unknown:
        registry.get_plugin("m" * 10_000)
    assert "10,000 characters" in str(unknown.value) and len(str(unknown.value)) < 2000
