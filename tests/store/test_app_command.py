"""``psyscore app``: the database URL (it may hold a password) is not on any command line ``ps`` shows, and
uvicorn believes X-Forwarded-For only from the configured proxies."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
if not Path("/proc/self/cmdline").exists():  # pragma: no cover - Linux only
    pytest.skip("needs /proc to read command lines", allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def _descendants(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                out += [int(entry.name), *_descendants(int(entry.name))]
    return out


def test_db_url_is_not_on_any_command_line(tmp_path: Path) -> None:
    secret = "SENTINEL-pw-9f3c"
    db = tmp_path / f"clinic-{secret}.db"
    env = {k: v for k, v in os.environ.items() if k != "PSYSCORE_DATABASE_URL"}
    proc = subprocess.Popen([sys.executable, "-m", "scoring", "app", "--db", f"sqlite:///{db}", "--port",
                             str(_free_port()), "--trusted-proxy", "10.0.0.5"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while "streamlit" not in _cmdline(proc.pid):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("psyscore app did not start the Streamlit server")
            time.sleep(0.1)
        for pid in (proc.pid, *_descendants(proc.pid)):
            assert secret not in _cmdline(pid)
        server_env = _environ(proc.pid)
        assert secret in server_env["PSYSCORE_DATABASE_URL"]  # it travels by environment only
        assert server_env["FORWARDED_ALLOW_IPS"] == server_env["PSYSCORE_TRUSTED_PROXIES"] == "10.0.0.5"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
