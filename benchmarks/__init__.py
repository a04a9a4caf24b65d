"""CNN Lens benchmarks: run each from the repository root as a module, `python -m benchmarks.bench_plugins`."""
