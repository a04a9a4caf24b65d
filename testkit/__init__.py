"""Test support shared by tests/, benchmarks/ and scripts/: the running app, small models, the CAM cases.

Not shipped (the wheel holds app/, registry/, plugins/ and spaces_config/); run from the repository root. Plugin
authors' test support is `registry.testing`.
"""
