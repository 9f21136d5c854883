"""deploy/workers holds one deployment: nginx.conf routes exactly as routes.yaml says, the
workers' files agree with the shared one, and the test topology runs those files and the
unit's command with nothing changed but ports and paths."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests import topology
from tests.topology import ETC, PG_SOCKET, TopologyError, WorkersSynapse, localise
from tools.synapse_workers import (
    MAIN,
    NGINX_FILE,
    WORKERS_DIR,
    Deployment,
    load,
    nginx_conf,
)

# Requests of every kind a region sees: the proxy and nginx must send each to the same place.
SAMPLE_PATHS = [
    "/_matrix/client/v3/sync",
    "/_matrix/client/r0/sync",
    "/_matrix/client/versions",
    "/_matrix/client/v3/login",
    "/_matrix/client/v3/register",
    "/_matrix/client/v3/register/available",
    "/_matrix/client/v3/rooms/!abc:example.org/messages",
    "/_matrix/client/v3/rooms/!abc:example.org/members",
    "/_matrix/client/v3/rooms/!abc:example.org/state",
    "/_matrix/client/v3/rooms/!abc:example.org/state/m.room.name/",
    "/_matrix/client/v3/rooms/!abc:example.org/send/m.room.message/t1",
    "/_matrix/client/v3/rooms/!abc:example.org/invite",
    "/_matrix/client/v3/rooms/!abc:example.org/event/$e1",
    "/_matrix/client/v1/rooms/!abc:example.org/hierarchy",
    "/_matrix/client/v3/createRoom",
    "/_matrix/client/v3/join/%23room:example.org",
    "/_matrix/client/v3/keys/query",
    "/_matrix/client/v3/keys/upload",
    "/_matrix/client/v3/keys/claim",
    "/_matrix/client/v3/sendToDevice/m.room.encrypted/t2",
    "/_matrix/client/v3/user/@a:example.org/filter/1",
    "/_matrix/client/v3/user/@a:example.org/account_data/m.direct",
    "/_matrix/client/v3/directory/room/%23agora-policy:example.org",
    "/_matrix/client/v1/media/download/example.org/abc",
    "/_matrix/media/v3/upload",
    "/_matrix/federation/v1/send/1700000000000",
    "/_matrix/federation/v1/make_join/!abc:example.org/@a:example.org",
    "/_matrix/federation/v2/send_join/!abc:example.org/$e1",
    "/_matrix/federation/v2/invite/!abc:example.org/$e1",
    "/_matrix/federation/v1/query/directory",
    "/_matrix/federation/v1/version",
    "/_matrix/key/v2/server",
    "/_matrix/key/v2/query",
    "/_synapse/admin/v1/users/@a:example.org/login",
    "/_synapse/admin/v1/registration_tokens/new",
    "/_synapse/client/agora/registration_link",
    "/.well-known/matrix/server",
]


# --- a small reader of nginx's configuration language, independent of the generator ----------


def _tokens(text: str) -> list[str]:
    text = re.sub(r"#[^\n]*", "", text)
    return re.findall(r'"(?:[^"\\]|\\.)*"|[{};]|[^\s{};"]+', text)


def _blocks(tokens: list[str], i: int = 0) -> tuple[list[tuple[list[str], Any]], int]:
    """[(directive and its arguments, children or None)], up to the closing brace."""
    out: list[tuple[list[str], Any]] = []
    words: list[str] = []
    while i < len(tokens):
        token = tokens[i]
        if token == ";":
            out.append((words, None))
            words = []
        elif token == "{":
            children, i = _blocks(tokens, i + 1)
            out.append((words, children))
            words = []
        elif token == "}":
            return out, i
        else:
            words.append(token.strip('"'))
        i += 1
    return out, i


class NginxServer:
    def __init__(self, body: list[tuple[list[str], Any]]):
        self.listen = [w[1] for w, _ in body if w[0] == "listen"]
        self.regexes: list[tuple[str, str | None]] = []  # in order: pattern → upstream; None: 404
        self.prefixes: dict[str, str | None] = {}
        for words, children in body:
            if words[0] != "location":
                continue
            target = _target(children)
            if words[1] == "~":
                self.regexes.append((words[2], target))
            else:
                self.prefixes[words[1]] = target

    def route(self, path: str) -> str | None:
        """nginx's choice: the first regular expression that matches, else the longest
        prefix."""
        for pattern, target in self.regexes:
            if re.search(pattern, path):
                return target
        prefix = max((p for p in self.prefixes if path.startswith(p)), key=len)
        return self.prefixes[prefix]


def _target(children: list[tuple[list[str], Any]]) -> str | None:
    for words, _ in children:
        if words[0] == "proxy_pass":
            return words[1].removeprefix("http://synapse_")
        if words[:2] == ["return", "404"]:
            return None
    raise AssertionError(f"a location that neither passes nor refuses: {children}")


def read_nginx(text: str) -> tuple[dict[str, str], list[NginxServer]]:
    blocks, _ = _blocks(_tokens(text))
    upstreams = {}
    servers = []
    for words, children in blocks:
        if words[0] == "upstream":
            (address,) = [w[1] for w, _ in children if w[0] == "server"]
            upstreams[words[1].removeprefix("synapse_")] = address
        elif words[0] == "server":
            servers.append(NginxServer(children))
    return upstreams, servers


@pytest.fixture(scope="module")
def deployment() -> Deployment:
    return load()


@pytest.fixture(scope="module")
def nginx(deployment) -> tuple[dict[str, str], NginxServer, NginxServer]:
    upstreams, servers = read_nginx((WORKERS_DIR / NGINX_FILE).read_text())
    (public,) = [s for s in servers if "443" in s.listen]
    (loopback,) = [s for s in servers if any(a.startswith("127.0.0.1:") for a in s.listen)]
    return upstreams, public, loopback


def test_nginx_conf_is_made_from_the_rules_as_they_are(deployment):
    assert (WORKERS_DIR / NGINX_FILE).read_text() == nginx_conf(deployment), (
        "deploy/workers/nginx.conf is stale: python tools/synapse_workers.py"
    )


def test_nginx_routes_the_same_patterns_to_the_same_processes_in_the_same_order(deployment, nginx):
    _, public, loopback = nginx
    routed = [(p, r.to) for r in deployment.routes for p in r.patterns]
    refused = [(p, None) for p in deployment.public_refuses]
    assert loopback.regexes == routed
    assert public.regexes == refused + routed
    assert public.prefixes == loopback.prefixes == {"/": MAIN}


def test_nginx_and_the_tests_proxy_send_every_request_to_the_same_process(deployment, nginx):
    _, public, loopback = nginx
    for path in SAMPLE_PATHS:
        assert public.route(path) == deployment.route(path, public=True), path
        assert loopback.route(path) == deployment.route(path, public=False), path
    # What the rules are for, spelled out.
    assert deployment.route("/_matrix/client/v3/sync", public=True) == "generic1"
    assert deployment.route("/_matrix/federation/v1/send/1", public=True) == "generic1"
    send = "/_matrix/client/v3/rooms/!a:b/send/m.room.message/1"
    assert deployment.route(send, public=True) == MAIN
    assert deployment.route("/_synapse/admin/v1/users/@a:b/login", public=True) is None
    assert deployment.route("/_synapse/admin/v1/users/@a:b/login", public=False) == MAIN
    module = "/_synapse/client/agora/v1/rooms/join"  # Agora's module: the main process's
    assert deployment.route(module, public=True) is None
    assert deployment.route(module, public=False) == MAIN


def test_nginx_reaches_each_process_where_its_file_says_it_listens(deployment, nginx):
    upstreams, _, _ = nginx
    assert upstreams == {name: f"{h}:{p}" for name, (h, p) in deployment.upstreams().items()}
    assert set(upstreams) == {MAIN, "generic1"}


def _replication_port(listeners: list[dict[str, Any]]) -> int:
    (port,) = [
        listener["port"]
        for listener in listeners
        if any("replication" in r["names"] for r in listener["resources"])
    ]
    return port


def test_the_workers_files_agree_with_the_shared_one(deployment):
    shared, workers = deployment.shared, deployment.workers
    assert set(workers) == {"generic1", "events1", "federation_sender1"}
    assert shared["stream_writers"] == {"events": ["events1"]}
    assert shared["federation_sender_instances"] == ["federation_sender1"]
    instance_map = shared["instance_map"]
    # Everyone who is called by replication is in the instance map, where they listen.
    assert set(instance_map) == {MAIN, *shared["stream_writers"]["events"]}
    assert instance_map[MAIN]["port"] == _replication_port(shared["listeners"])
    assert instance_map["events1"]["port"] == _replication_port(
        workers["events1"]["worker_listeners"]
    )
    listeners = [
        *shared["listeners"],
        *(listener for w in workers.values() for listener in w.get("worker_listeners", [])),
    ]
    assert all(listener["bind_addresses"] == ["127.0.0.1"] for listener in listeners)
    ports = [listener["port"] for listener in listeners]
    assert len(ports) == len(set(ports))
    for config in workers.values():
        assert config["worker_app"] == "synapse.app.generic_worker"
        assert config["worker_log_config"] == f"{ETC}/worker-log.yaml"
    assert shared["database"]["name"] == "psycopg2"
    assert shared["redis"]["enabled"] is True


def _changes(shipped: Any, local: Any, key: str = "") -> list[tuple[str, Any, Any]]:
    if isinstance(shipped, dict):
        assert set(shipped) == set(local)
        return [c for k in shipped for c in _changes(shipped[k], local[k], k)]
    if isinstance(shipped, list):
        assert len(shipped) == len(local)
        return [c for s, v in zip(shipped, local, strict=True) for c in _changes(s, v, key)]
    return [] if shipped == local else [(key, shipped, local)]


def test_the_topology_runs_the_shipped_files_with_only_ports_and_paths_changed(tmp_path: Path):
    hs = WorkersSynapse(tmp_path)
    paths = {ETC: str(hs.etc), PG_SOCKET: str(tmp_path / "run" / "pg")}
    files = {"workers.yaml": hs.deployment.shared, **hs.deployment.workers}
    for name, shipped in files.items():
        local = localise(shipped, hs.ports, paths)
        for key, before, after in _changes(shipped, local):
            if key == "port":
                assert after == hs.ports[before] and after != before, name
            else:
                prefix = next(p for p in paths if before.startswith(p))
                assert after == paths[prefix] + before[len(prefix) :], name
        text = yaml.safe_dump(local)
        assert ETC not in text and PG_SOCKET not in text, name  # nothing of the real machine
        shipped_ports = {str(p) for p in hs.ports}
        assert not shipped_ports & set(re.findall(r"port: (\d+)", text)), name


def test_the_topology_runs_each_worker_with_the_units_command(tmp_path: Path):
    hs = WorkersSynapse(tmp_path)
    unit = (WORKERS_DIR / "matrix-synapse-worker@.service").read_text()
    (exec_start,) = [line for line in unit.splitlines() if line.startswith("ExecStart=")]
    for name in hs.deployment.workers:
        shipped = shlex.split(exec_start.removeprefix("ExecStart=").replace("%i", name))
        expected = [sys.executable, *(a.replace(ETC, str(hs.etc)) for a in shipped[1:])]
        assert hs._worker_argv(name) == expected
        assert f"--config-path={hs.etc}/workers/{name}.yaml" in expected
        assert f"--config-path={hs.etc}/conf.d/" in expected
    assert "AssertPathExists=/etc/matrix-synapse/workers/%i.yaml" in unit


def test_a_missing_package_names_the_make_target_that_installs_it(monkeypatch, tmp_path):
    monkeypatch.setattr(topology.shutil, "which", lambda name: None)
    with pytest.raises(TopologyError, match=r"redis-server is not installed.*make install-workers"):
        topology.check_installed()
    monkeypatch.setattr(topology, "PG_ROOT", tmp_path)  # no PostgreSQL there
    with pytest.raises(
        TopologyError, match=r"PostgreSQL's server is not installed.*make install-workers"
    ):
        topology.check_installed()
