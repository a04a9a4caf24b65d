"""The allocator settings apply on glibc and can be switched off."""

import platform

import pytest

from app import allocator


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_tuning_applies_on_glibc_unless_switched_off(monkeypatch):
    assert allocator.tune() is True
    monkeypatch.setenv("CNNLENS_MALLOC_TUNING", "0")
    assert allocator.tune() is False
