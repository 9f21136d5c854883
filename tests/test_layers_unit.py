"""The shape of the code, checked by tools rather than goodwill: import-linter's contracts
(``.importlinter``: no capability below the gateway and the store, capabilities import
neither the commands nor the web, the config no service) and no module import cycle in
``bot/`` at all (type-only imports included)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent


def test_no_module_of_bot_imports_itself_back():
    graph = grimp.build_graph("bot", exclude_type_checking_imports=False)
    cycles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back:
                cycles.append(" → ".join((module, *back)))
    assert cycles == [], "\n".join(cycles)


def test_the_import_contracts_hold():
    done = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
