"""`geogrid notify webhooks add|list|pause|resume|remove` and `geogrid notify status`."""

from __future__ import annotations

from typer.testing import CliRunner

from geogrid.cli.main import app


def run(url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        app, list(args), env={"GEOGRID_DATABASE_URL": url, "COLUMNS": "250"}
    )
    return result.exit_code, result.stdout, result.stderr


def test_webhooks_are_added_listed_paused_and_removed(fresh_demo_url: str) -> None:
    url = fresh_demo_url
    code, out, err = run(
        url,
        "notify",
        "webhooks",
        "add",
        "sms",
        "https://sms.example/hook",
        "--kind",
        "case.assigned",
    )
    assert code == 0, err
    secret = out.strip()
    assert len(secret) >= 32  # made for it, shown once
    code, out, _ = run(url, "notify", "webhooks", "list")
    assert code == 0 and "sms" in out and "case.assigned" in out and secret not in out
    code, _, err = run(url, "notify", "webhooks", "add", "sms", "https://other.example/")
    assert code == 1 and 'a webhook named "sms" exists already' in err
    code, _, err = run(url, "notify", "webhooks", "add", "wx", "https://wx.example/", "--kind", "x")
    assert code == 1 and "event kinds ['x'] are unknown" in err
    assert run(url, "notify", "webhooks", "pause", "sms")[0] == 0
    assert "paused" in run(url, "notify", "webhooks", "list")[1]
    assert run(url, "notify", "webhooks", "resume", "sms")[0] == 0
    code, out, _ = run(url, "notify", "status")
    assert code == 0 and "pending 0" in out
    assert run(url, "notify", "webhooks", "remove", "sms")[0] == 0
    code, _, err = run(url, "notify", "webhooks", "remove", "sms")
    assert code == 1 and 'there is no webhook named "sms"' in err
