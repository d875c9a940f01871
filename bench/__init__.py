"""Benchmarks: they print figures (and write them to bench/results/) and assert nothing."""
