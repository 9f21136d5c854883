"""The test topology's reverse proxy: what nginx.conf does, in a process of its own, from the
same rules (deploy/workers/routes.yaml, read through tools/synapse_workers.py).

    python -m tests.reverse_proxy SPEC.json

SPEC names its listeners and where each Synapse process listens (the topology's own ports):
``{"loopback": [host, port], "public": [host, port, certificate, key],
"upstreams": {"main": [host, port], "generic1": [host, port]}}``. The loopback listener is the
bot's and the people's (nginx's loopback server: everything passes); the public one speaks TLS,
for the other regions' servers (nginx's public server: ``public_refuses`` answers 404). It
tells its starter it is ready as a systemd service would (``READY=1`` on ``$NOTIFY_SOCKET``).
"""

from __future__ import annotations

import asyncio
import json
import signal
import ssl
import sys
from pathlib import Path

import aiohttp
from aiohttp import web
from yarl import URL

from bot.systemd import Notifier
from tools.synapse_workers import Deployment, load

# Headers of one connection, never passed on (RFC 9110 §7.6.1), and those the proxy sets.
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "x-forwarded-for",
    "x-forwarded-proto",
}


def proxy_app(
    deployment: Deployment,
    upstreams: dict[str, tuple[str, int]],
    http: aiohttp.ClientSession,
    *,
    public: bool,
) -> web.Application:
    async def forward(request: web.Request) -> web.StreamResponse:
        target = deployment.route(request.path, public=public)
        if target is None:
            return web.json_response({"errcode": "M_UNRECOGNIZED"}, status=404)
        host, port = upstreams[target]
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        headers |= {
            "Host": request.host,
            "X-Forwarded-For": request.remote or "",
            "X-Forwarded-Proto": request.scheme,
        }
        body = await request.read()
        async with http.request(
            request.method,
            # As received: a federation request's signature covers its path, byte for byte.
            URL(f"http://{host}:{port}{request.raw_path}", encoded=True),
            headers=headers,
            data=body if body else None,
            allow_redirects=False,
        ) as answer:
            response = web.StreamResponse(status=answer.status, reason=answer.reason)
            for name, value in answer.headers.items():
                if name.lower() not in HOP_BY_HOP:
                    response.headers.add(name, value)
            await response.prepare(request)
            async for chunk in answer.content.iter_chunked(1 << 16):
                await response.write(chunk)
            await response.write_eof()
            return response

    app = web.Application(client_max_size=50 * 1024 * 1024)
    app.router.add_route("*", "/{path:.*}", forward)
    return app


async def serve(spec: dict) -> None:
    deployment = load()
    upstreams = {name: (h, int(p)) for name, (h, p) in spec["upstreams"].items()}
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # Bodies passed as they come (compressed stays compressed); a long poll may last.
    async with aiohttp.ClientSession(
        auto_decompress=False,
        connector=aiohttp.TCPConnector(limit=0),
        timeout=aiohttp.ClientTimeout(total=600),
    ) as http:
        runners = []
        host, port = spec["loopback"]
        runners.append(
            (web.AppRunner(proxy_app(deployment, upstreams, http, public=False)), host, port, None)
        )
        host, port, certificate, key = spec["public"]
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(certificate, key)
        runners.append(
            (web.AppRunner(proxy_app(deployment, upstreams, http, public=True)), host, port, tls)
        )
        for runner, host, port, context in runners:
            await runner.setup()
            await web.TCPSite(runner, host, int(port), ssl_context=context).start()
        notifier = Notifier.from_environment()
        notifier.ready("proxying")
        await stop.wait()
        notifier.stopping()
        for runner, *_ in runners:
            await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(serve(json.loads(Path(sys.argv[1]).read_text())))
