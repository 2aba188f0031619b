"""The embedded PostgreSQL that `make run` and the tests start: sized for bulk ingestion (never
below what its owner chose), and startable again after a stop in the same process."""
import json
import subprocess
import sys
import textwrap

from backend import runtime

# in a process of its own, as `make run` starts it
SCRIPT = textwrap.dedent("""
    import asyncio, json, logging, sys
    from pathlib import Path
    import asyncpg
    from backend import runtime

    logging.disable(logging.WARNING)

    async def settings(url, change=None):
        conn = await asyncpg.connect(url)
        try:
            if change:
                await conn.execute(change)
            return {name: await conn.fetchval(f"SHOW {name}") for name in runtime.SERVER_SETTINGS}
        finally:
            await conn.close()

    shown = []
    # the second start finds the settings in the data directory; before the third, its owner
    # chose a larger buffer pool, which the start keeps
    for change in (None, "ALTER SYSTEM SET shared_buffers = '640MB'", None):
        server = runtime.start_postgres(Path(sys.argv[1]))
        try:
            shown.append(asyncio.run(settings(server.admin_url, change)))
        finally:
            server.stop()
    print(json.dumps(shown))
""")


def test_embedded_server_runs_with_its_settings_and_starts_again_after_a_stop(tmp_path):
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    shown = json.loads(done.stdout.strip().splitlines()[-1])
    wanted = {"shared_buffers": "512MB", "max_wal_size": "2GB", "checkpoint_timeout": "30min"}
    assert wanted == {name: value for name, (value, _) in runtime.SERVER_SETTINGS.items()}
    assert shown == [wanted, wanted, wanted | {"shared_buffers": "640MB"}]
