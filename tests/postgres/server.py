"""A throwaway PostgreSQL server for the tests and the benchmark.

`initdb` in a temporary directory, a free loopback port, the unix socket in the
same directory; stopped and deleted afterwards. PostgreSQL refuses to run as
root, so a root process runs the server as an unprivileged user (`postgres` when
the distribution created one, else `nobody`). The database superuser logs in
with a password over TCP (scram-sha-256), so that bad credentials can be tested.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

SUPERUSER = "cachegate"
DATABASE = "litellm"
# Deliberately URL-unfriendly, so that quoting and redaction are exercised.
PASSWORD = "s3cret:p@ss/word"
SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    # A throwaway server: durability buys nothing here.
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "'256MB'",
    "max_parallel_workers_per_gather": "2",
}
RUN_AS_CANDIDATES = ("postgres", "nobody")


def find_bin_dir() -> Path | None:
    """The directory of initdb/pg_ctl: $CACHE_GATE_PG_BIN, Debian's newest
    /usr/lib/postgresql/N/bin, else wherever initdb is on PATH."""
    configured = os.environ.get("CACHE_GATE_PG_BIN")
    if configured:
        return Path(configured)
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                      key=lambda path: int(path.parent.parent.name)
                      if path.parent.parent.name.isdigit() else 0)
    if versions:
        return versions[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    bin_dir: Path
    root: Path
    port: int
    run_as: pwd.struct_passwd | None

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str = DATABASE, *, password: str | None = PASSWORD,
            user: str = SUPERUSER, query: str = "") -> str:
        secret = f":{quote(password, safe='')}" if password is not None else ""
        suffix = f"?{query}" if query else ""
        return f"postgresql://{user}{secret}@127.0.0.1:{self.port}/{database}{suffix}"

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run one of the server's programs as the server's OS user."""
        extra: dict[str, Any] = {}
        if self.run_as is not None:
            extra = {"user": self.run_as.pw_uid, "group": self.run_as.pw_gid,
                     "extra_groups": []}
        return subprocess.run([str(self.bin_dir / args[0]), *args[1:]], check=check,
                              capture_output=True, text=True, cwd=self.root,
                              env={**os.environ, "LC_ALL": "C"}, **extra)

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop",
                     check=False)


def _run_as() -> pwd.struct_passwd | None:
    if os.geteuid() != 0:
        return None
    for name in RUN_AS_CANDIDATES:
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise RuntimeError("running as root and no unprivileged user to run PostgreSQL as "
                       f"(tried {', '.join(RUN_AS_CANDIDATES)})")


def _give(path: Path, user: pwd.struct_passwd | None) -> None:
    if user is not None:
        os.chown(path, user.pw_uid, user.pw_gid)


@contextlib.contextmanager
def running_server(bin_dir: Path, attempts: int = 3) -> Iterator[Server]:
    """A fresh cluster, started; stopped and deleted on exit."""
    run_as = _run_as()
    # The server's user must reach its directory: not under a root-only $TMPDIR.
    root = Path(tempfile.mkdtemp(prefix="cache-gate-pg-",
                                 dir="/tmp" if run_as is not None else None))
    server = Server(bin_dir, root, 0, run_as)
    try:
        _give(root, run_as)
        secret = root / "password"
        secret.write_text(PASSWORD + "\n")
        _give(secret, run_as)
        server.run("initdb", "-D", str(server.data), "-U", SUPERUSER, f"--pwfile={secret}",
                   "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
                   "--no-locale", "--no-sync")
        with (server.data / "postgresql.conf").open("a") as conf:
            for name, value in SERVER_SETTINGS.items():
                conf.write(f"{name} = {value}\n")
            conf.write(f"unix_socket_directories = '{root}'\n")
        for attempt in range(attempts):
            server.port = free_port()
            started = server.run("pg_ctl", "-D", str(server.data), "-l", str(root / "log"),
                                 "-w", "-t", "60", "-o", f"-p {server.port}", "start",
                                 check=False)
            if started.returncode == 0:
                break
            if attempt == attempts - 1:
                log = (root / "log").read_text(errors="replace") if (
                    root / "log").exists() else ""
                raise RuntimeError(f"PostgreSQL did not start: {started.stderr}\n{log}")
        server.run("createdb", "-h", str(root), "-p", str(server.port), "-U", SUPERUSER,
                   DATABASE)
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
