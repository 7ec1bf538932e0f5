from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.server import ServerProcess, dev_server


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[ServerProcess]:
    """A fresh dev server (root token "root") for one test."""
    server = dev_server(tmp_path / "dev").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def shared_dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One dev server shared by a module's tests (they use distinct paths)."""
    server = dev_server(tmp_path_factory.mktemp("shared-dev")).start()
    yield server
    server.stop()
