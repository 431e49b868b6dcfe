"""Every apt-get in scripts/ waits for the dpkg/apt locks instead of failing.

A freshly booted Ubuntu runs apt-daily and unattended-upgrades while scripts/bootstrap.sh
starts; apt-get without waiting fails at once ("Could not get lock /var/lib/dpkg/lock-frontend",
or .../lists/lock for an update, which DPkg::Lock::Timeout does not cover).
"""

from __future__ import annotations

import fcntl
import os
import re
import shlex
import shutil
import subprocess
import time
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
LOCK_TIMEOUT = re.compile(r"DPkg::Lock::Timeout=(\d+)", re.IGNORECASE)


def apt_get_calls(script: str) -> list[list[str]]:
    """The words of each apt-get command in a shell script (a quoted message is one word)."""
    calls = []
    for line in script.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        for i, word in enumerate(words):
            if word == "apt-get":
                calls.append(words[i:])
    return calls


def _waits(call: list[str]) -> bool:
    options = [call[i + 1] for i, word in enumerate(call[:-1]) if word == "-o"]
    return any((m := LOCK_TIMEOUT.fullmatch(o)) and int(m.group(1)) >= 60 for o in options)


def test_the_parser_sees_apt_get_calls_but_not_messages() -> None:
    script = 'say "apt-get update"  # apt-get in a comment\n$SUDO apt-get \\\n  update -qq\n'
    assert apt_get_calls(script) == [["apt-get", "update", "-qq"]]
    assert not _waits(["apt-get", "update"])
    assert _waits(["apt-get", "-o", "DPkg::Lock::Timeout=600", "update"])


def test_every_apt_get_in_scripts_waits_for_the_lock() -> None:
    calls = {
        f"{path.name}: {shlex.join(call)}": _waits(call)
        for path in sorted(SCRIPTS.iterdir())
        if path.is_file()
        for call in apt_get_calls(path.read_text(encoding="utf-8"))
    }
    assert calls  # bootstrap.sh runs apt-get in one place, apt_get()
    assert [call for call, waits in calls.items() if not waits] == []


@pytest.mark.skipif(shutil.which("apt-get") is None, reason="needs Debian's apt-get")
def test_bootstrap_apt_get_waits_while_another_apt_updates_the_lists(tmp_path: Path) -> None:
    script = (SCRIPTS / "bootstrap.sh").read_text(encoding="utf-8")
    [apt_get] = re.findall(r"^apt_get\(\) \{\n.*?^\}\n", script, re.M | re.S)
    # A real apt-get update on package lists of its own, from no sources: no network, no root.
    (tmp_path / "lists" / "partial").mkdir(parents=True)
    (tmp_path / "parts").mkdir()
    (tmp_path / "sources.list").write_text("")
    own = [
        f"Dir::State::Lists={tmp_path / 'lists'}",
        f"Dir::Etc::sourcelist={tmp_path / 'sources.list'}",
        f"Dir::Etc::sourceparts={tmp_path / 'parts'}",
        f"Dir::Cache={tmp_path / 'cache'}",
    ]
    options = [word for option in own for word in ("-o", option)]
    harness = f'set -euo pipefail\nSUDO=""\nsay() {{ echo "$*" >&2; }}\n{apt_get}apt_get "$@"\n'
    # Another apt holds the lists lock, as apt-daily does while it updates.
    lock = os.open(tmp_path / "lists" / "lock", os.O_RDWR | os.O_CREAT, 0o640)
    fcntl.lockf(lock, fcntl.LOCK_EX)
    try:
        waiting = subprocess.Popen(
            ["bash", "-c", harness, "bash", *options, "update", "-qq"],
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(1.5)
        assert waiting.poll() is None, waiting.communicate()[1]  # waits, has not failed
    finally:
        os.close(lock)  # the other apt is done
    _, errors = waiting.communicate(timeout=60)
    assert waiting.returncode == 0, errors
    assert "waiting" in errors
