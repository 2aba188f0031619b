"""The `pacto` command: help for every subcommand, idempotent demo seed, bootstrap of an admin."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

PACTO = str(Path(sys.executable).with_name("pacto"))
COMMANDS = ["run", "web", "worker", "migrate", "seed-demo", "create-org", "create-user", "audit"]


def pacto(*args, env=None, input=None):
    return subprocess.run([PACTO, *args], capture_output=True, text=True, timeout=120, input=input,
                          env={**os.environ, **(env or {})})


def test_help_lists_every_command():
    result = pacto("--help")
    assert result.returncode == 0
    for command in COMMANDS:
        assert command in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_help(command):
    result = pacto(command, "--help")
    assert result.returncode == 0 and "usage: pacto " + command in result.stdout


TABLES = ["organization", "app_user", "relationship", "relationship_member", "contact", "invitation", "audit_entry"]


async def test_seed_demo_twice_changes_nothing(database, owner):
    env = {"DATABASE_URL": database.admin_url}
    first = pacto("seed-demo", env=env)
    assert first.returncode == 0, first.stderr
    assert "Demo data created." in first.stdout
    counts = {t: await owner.fetchval(f"SELECT count(*) FROM {t}") for t in TABLES}
    assert counts["organization"] == 4 and counts["app_user"] == 6 and counts["relationship"] == 2
    second = pacto("seed-demo", env=env)
    assert second.returncode == 0 and "nothing changed" in second.stdout
    assert {t: await owner.fetchval(f"SELECT count(*) FROM {t}") for t in TABLES} == counts


async def test_bootstrap_an_organization_and_its_admin(database, owner, app, browser):
    env = {"DATABASE_URL": database.admin_url}
    org = pacto("create-org", "--name", "Bootstrap S.A.", "--currency", "USD", env=env)
    assert org.returncode == 0, org.stderr
    org_id = org.stdout.strip()
    weak = pacto("create-user", "--org", org_id, "--email", "root@boot.example", "--name", "Root", "--admin",
                 env=env | {"PACTO_NEW_PASSWORD": "short"})
    assert weak.returncode == 1 and "password" in weak.stderr
    user = pacto("create-user", "--org", org_id, "--email", "root@boot.example", "--name", "Root", "--admin",
                 env=env | {"PACTO_NEW_PASSWORD": "a-strong-password"})
    assert user.returncode == 0, user.stderr
    assert await owner.fetchval("SELECT org_role FROM app_user WHERE email = 'root@boot.example'") == "admin"
    root = await browser()
    await root.login("root@boot.example", "a-strong-password")
    page = await root.get("/org")
    assert page.status_code == 200 and "Bootstrap S.A." in page.text


async def test_migrate_is_idempotent(database):
    result = pacto("migrate", env={"DATABASE_URL": database.admin_url})
    assert result.returncode == 0 and "up to date" in result.stdout
