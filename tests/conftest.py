"""Shared test set-up: the parse cache lives in a temporary directory, never the user's ~/.cache; the
test-only oracles as fixtures (the helpers themselves are in oracles.py: import them directly)."""
from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True, scope="session")
def _private_parse_cache(tmp_path_factory):
    # Set in os.environ so that the CLI subprocesses the tests start use it too.
    old = os.environ.get("RESDSL_CACHE_DIR")
    os.environ["RESDSL_CACHE_DIR"] = str(tmp_path_factory.mktemp("resdsl-cache"))
    yield
    if old is None:
        os.environ.pop("RESDSL_CACHE_DIR", None)
    else:
        os.environ["RESDSL_CACHE_DIR"] = old


@pytest.fixture(scope="session")
def torchvision_models():
    """`torchvision.models` (model code only, see oracles.py); skips the test where it is absent."""
    from oracles import torchvision_models as load

    return load()


@pytest.fixture(scope="session")
def timm():
    """`timm` as a test-only oracle; skips the test where it is absent."""
    from oracles import timm_module

    return timm_module()


@pytest.fixture
def cache_at(tmp_path, monkeypatch):
    """A fresh cache directory (parse and checked-network caches), and no in-memory copies, for one test."""
    from resdsl.syntax import cache

    directory = tmp_path / "cache"
    monkeypatch.setenv(cache.DIR_ENV, str(directory))
    monkeypatch.delenv(cache.OFF_ENV, raising=False)
    cache.forget()
    yield directory
    cache.forget()
