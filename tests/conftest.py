"""What every test shares: no test writes to the real cache directory (`kpi` leaves a
ledger checkpoint in `$XDG_CACHE_HOME/cache-gate`, subprocesses included), and each
test starts with no input noted as read."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cache_gate.inputs import forget_inputs


@pytest.fixture(autouse=True, scope="session")
def private_cache_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    patch = pytest.MonkeyPatch()
    patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
    yield
    patch.undo()


@pytest.fixture(autouse=True)
def no_inputs_noted_yet() -> None:
    """Each test is a run of its own: the inputs an earlier test read (by device and
    inode) may since have been deleted and their inodes given to this test's files."""
    forget_inputs()
