"""`make bench` runs every module of bench/ one after another: each must at least import
and offer its `main`, or the run stops at the first broken one."""

from __future__ import annotations

import importlib

import pytest

import bench.__main__ as runner


@pytest.mark.parametrize("name", ["store", "load", "local", "emergency", "turn", "insight"])
def test_each_benchmark_imports_and_has_a_main(name):
    module = importlib.import_module(f"bench.{name}")
    assert callable(module.main)
    assert module in vars(runner).values()
