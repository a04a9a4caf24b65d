"""The checks CNN Lens runs on its own plugins, run on this one."""

import pytest
from cnnlens_activation_energy import ActivationEnergy

from registry.testing import CONTRACT, check


@pytest.mark.parametrize("name", CONTRACT)
def test_contract(name):
    check(ActivationEnergy(), name)
