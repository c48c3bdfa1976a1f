"""Reports reach their destination whole, and nothing else is touched: no fixed
temporary name a planted link could redirect, and a device or FIFO is written, never
replaced by a regular file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from cache_gate.errors import InputError
from cache_gate.reporters.destination import write_report


def test_a_new_report_is_written(tmp_path: Path) -> None:
    write_report(tmp_path / "report.json", "{}\n")
    assert (tmp_path / "report.json").read_text() == "{}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_an_existing_report_is_replaced_keeping_its_permissions(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("old")
    target.chmod(0o640)
    write_report(target, "new")
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_a_link_planted_at_the_old_fixed_temporary_name_is_not_followed(
        tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (tmp_path / ".report.json.tmp").symlink_to(victim)
    write_report(tmp_path / "report.json", "report")
    assert victim.read_text() == "precious"
    assert (tmp_path / "report.json").read_text() == "report"


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root")
def test_a_character_device_stays_a_device(tmp_path: Path) -> None:
    """As root, `--output /dev/null` once renamed a regular file over the device. A
    private null device (never the machine's own) stands in for it."""
    device = tmp_path / "null"
    os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    write_report(device, "discarded")
    assert stat.S_ISCHR(device.stat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null"]


def test_a_fifo_nobody_reads_is_an_error_not_a_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="a FIFO that nothing reads"):
        write_report(fifo, "report")
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_a_fifo_with_a_reader_receives_the_report(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    # A reader is there first; the report fits the pipe's buffer, so no thread is needed.
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        write_report(fifo, "report\n")
        os.set_blocking(reader, True)
        assert os.read(reader, 100) == b"report\n"
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a directory"):
        write_report(tmp_path, "report")


def test_a_missing_directory_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot write report to"):
        write_report(tmp_path / "missing" / "report.json", "report")
