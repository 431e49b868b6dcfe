"""Every apt-get in scripts/ waits for the dpkg/apt lock instead of failing.

A freshly booted Ubuntu runs unattended-upgrades while scripts/bootstrap.sh starts; apt-get
without a lock timeout fails at once ("Could not get lock /var/lib/dpkg/lock-frontend").
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

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
    assert len(calls) >= 2  # bootstrap.sh's update and install
    assert [call for call, waits in calls.items() if not waits] == []
