"""The contract every registered plugin must meet, checked for each one (as timm tests its models).

A new plugin — built in, in an extra folder or from a package — gets these tests for free; the
checks live in `registry.testing` so that plugin authors run exactly the same ones.
"""

import pytest

import registry
from registry.testing import CONTRACT, check

PLUGINS = [plugin.name for plugin in registry.list_plugins()]


@pytest.mark.parametrize("name", PLUGINS)
def test_loader_recorded_where_it_came_from(name):
    assert registry.get_plugin(name).source.startswith(("plugins/", "/", "entry point"))


@pytest.mark.parametrize("check_name", CONTRACT)
@pytest.mark.parametrize("name", PLUGINS)
def test_contract(name, check_name):
    check(registry.get_plugin(name), check_name)


def test_the_suite_catches_a_broken_plugin():
    """The contract can fail: a plugin that ignores the class it is asked for is caught."""

    class IgnoresTarget(registry.Plugin):
        name, title, output = "ignores_target", "Ignores target", "heatmap"
        description = "Always explains class 0, whatever the caller asks for: a broken plugin."
        needs_target = True

        def compute(self, ctx):
            ctx.target = 0
            return ctx.x[0, 0]

    check(IgnoresTarget(), "declarations")
    with pytest.raises(AssertionError):
        check(IgnoresTarget(), "results")
