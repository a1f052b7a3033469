"""Benchmarks and the soak test for vexora_async (run ``python -m benchmarks --help``)."""
