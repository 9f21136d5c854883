"""deploy/workers: Synapse with workers as Agora ships it, read in one place.

- ``workers.yaml``: what the main process and every worker share (listeners, PostgreSQL, Redis,
  instance_map, stream writers, the federation sender);
- one file per worker (``generic1.yaml``, ``events1.yaml``, ``federation_sender1.yaml``): any
  ``*.yaml`` with a ``worker_app``;
- ``routes.yaml``: which process answers which request, the reverse proxy's rules;
- ``nginx.conf``: made from the three above by this script, never by hand;
- ``matrix-synapse-worker@.service``: the systemd unit that runs each worker.

The test topology (tests/topology.py) starts these files and routes with ``route()``; the
nginx file is checked against the same rules (tests/test_workers_deploy_unit.py).

    python tools/synapse_workers.py [--check]

writes ``deploy/workers/nginx.conf`` (``--check``: changes nothing, exits 1 if it is stale).
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKERS_DIR = ROOT / "deploy" / "workers"
MAIN = "main"
SHARED_FILE = "workers.yaml"
ROUTES_FILE = "routes.yaml"
NGINX_FILE = "nginx.conf"
WORKER_UNIT = "matrix-synapse-worker@.service"
LOG_CONFIG_FILE = "worker-log.yaml"
# The main process's command, as the matrix-synapse-py3 package's matrix-synapse.service runs it.
MAIN_COMMAND = (
    "/opt/venvs/matrix-synapse/bin/python -m synapse.app.homeserver"
    " --config-path=/etc/matrix-synapse/homeserver.yaml --config-path=/etc/matrix-synapse/conf.d/"
)
# The loopback server nginx.conf gives the bot (its homeserver.url) and the operators.
LOOPBACK_LISTEN = "127.0.0.1:8090"


@dataclass(frozen=True)
class Route:
    to: str
    patterns: tuple[str, ...]


@dataclass(frozen=True)
class Deployment:
    shared: dict[str, Any]
    workers: dict[str, dict[str, Any]]  # worker name → its file
    routes: tuple[Route, ...]
    public_refuses: tuple[str, ...]
    worker_command: str  # the unit's ExecStart, %i for the worker's name

    def route(self, path: str, *, public: bool) -> str | None:
        """The process a request for ``path`` goes to; None: refused (404). Each pattern is
        searched from the path's start as nginx does (they all begin with ^)."""
        if public and any(re.search(p, path) for p in self.public_refuses):
            return None
        for route in self.routes:
            if any(re.search(p, path) for p in route.patterns):
                return route.to
        return MAIN

    def upstreams(self) -> dict[str, tuple[str, int]]:
        """Where the proxy reaches each process that serves requests: its listener with the
        ``client`` resource."""
        out = {MAIN: _client_listener(self.shared.get("listeners", []), "workers.yaml")}
        for name, config in self.workers.items():
            if any(r.to == name for r in self.routes):
                out[name] = _client_listener(config.get("worker_listeners", []), name)
        return out

    def worker_argv(self, name: str) -> list[str]:
        return shlex.split(self.worker_command.replace("%i", name))


def _client_listener(listeners: list[dict[str, Any]], where: str) -> tuple[str, int]:
    for listener in listeners:
        names = {n for r in listener.get("resources", []) for n in r.get("names", [])}
        if "client" in names:
            return listener.get("bind_addresses", ["127.0.0.1"])[0], int(listener["port"])
    raise ValueError(f"{where}: no listener with the client resource")


def load(directory: Path = WORKERS_DIR) -> Deployment:
    shared = yaml.safe_load((directory / SHARED_FILE).read_text())
    workers = {}
    for path in sorted(directory.glob("*.yaml")):
        config = yaml.safe_load(path.read_text())
        if isinstance(config, dict) and "worker_app" in config:
            if config.get("worker_name") != path.stem:
                raise ValueError(f"{path.name}: worker_name must be {path.stem!r}")
            workers[path.stem] = config
    rules = yaml.safe_load((directory / ROUTES_FILE).read_text())
    routes = tuple(Route(r["to"], tuple(r["patterns"])) for r in rules["routes"])
    for route in routes:
        if route.to not in workers:
            raise ValueError(f"{ROUTES_FILE}: {route.to!r} is no worker of {directory}")
        for pattern in route.patterns:
            re.compile(pattern)
    return Deployment(
        shared,
        workers,
        routes,
        tuple(rules.get("public_refuses", [])),
        _exec_start(directory / WORKER_UNIT),
    )


def _exec_start(unit: Path) -> str:
    for line in unit.read_text().splitlines():
        if line.startswith("ExecStart="):
            return line.removeprefix("ExecStart=")
    raise ValueError(f"{unit.name}: no ExecStart=")


# --- nginx -------------------------------------------------------------------------------------


def _locations(deployment: Deployment, *, public: bool) -> list[str]:
    lines = []
    if public:
        lines += [f'    location ~ "{p}" {{ return 404; }}' for p in deployment.public_refuses]
    for route in deployment.routes:
        lines += [
            f'    location ~ "{p}" {{ proxy_pass http://synapse_{route.to}; }}'
            for p in route.patterns
        ]
    lines.append(f"    location / {{ proxy_pass http://synapse_{MAIN}; }}")
    return lines


PROXY_SETTINGS = """\
    client_max_body_size 50M;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host $host;
    proxy_set_header X-Forwarded-For $remote_addr;
    proxy_set_header X-Forwarded-Proto $scheme;
    # A /sync holds its request up to its timeout (30 s from most clients).
    proxy_read_timeout 600s;
"""


def nginx_conf(deployment: Deployment) -> str:
    upstreams = "\n".join(
        f"upstream synapse_{name} {{\n    server {host}:{port};\n    keepalive 16;\n}}"
        for name, (host, port) in deployment.upstreams().items()
    )
    public = "\n".join(_locations(deployment, public=True))
    loopback = "\n".join(_locations(deployment, public=False))
    return f"""\
# Synapse with workers behind nginx: made from routes.yaml, workers.yaml and the workers' files
# by tools/synapse_workers.py (do not edit; a test checks that it routes as routes.yaml says).
# /etc/nginx/sites-available/matrix, linked from sites-enabled; set server_name and the
# certificates. A request goes to the first regular expression that matches its path, in
# the order below; anything else to the main process.

{upstreams}

# The public server: Element and the other clients on 443, the other regions' servers on 8448.
server {{
    listen 443 ssl;
    listen [::]:443 ssl;
    listen 8448 ssl;
    listen [::]:8448 ssl;
    server_name matrix.example.org;
    ssl_certificate /etc/letsencrypt/live/matrix.example.org/fullchain.pem;
    ssl_certificate_key /etc/letsencrypt/live/matrix.example.org/privkey.pem;

{PROXY_SETTINGS}
{public}
}}

# The bot's server (Agora's homeserver.url: http://{LOOPBACK_LISTEN}) and the operators':
# loopback only, Synapse's admin API included.
server {{
    listen {LOOPBACK_LISTEN};

{PROXY_SETTINGS}
{loopback}
}}
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if nginx.conf is stale")
    args = parser.parse_args(argv)
    text = nginx_conf(load())
    path = WORKERS_DIR / NGINX_FILE
    if args.check:
        if not path.exists() or path.read_text() != text:
            print(f"{path} is stale: run python tools/synapse_workers.py", file=sys.stderr)
            return 1
        return 0
    path.write_text(text)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
