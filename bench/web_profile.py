"""Where a form POST and a link POST spend their time, in-process: the statements each sends
(an event listener on the engine) and a cProfile of `--requests` of each.

    .venv/bin/python -m bench.web_profile [--requests 200] [--postgres URL] [--top 40]
        [--only form|link] [--sort tottime|cumulative] [--statements]

The app is bench.web_app's (the real app, rate limits lifted), called through httpx's ASGI
transport with the thread pool replaced by a direct call, so that the profile sees the route's
work in the one thread it measures. No server, no network: this is the app's own CPU, not the
ratio bench.web prints.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import tempfile
import time

import httpx
from sqlalchemy import event

from bench.common import temporary_schema
from bench.web import form_data, prepare


def _inline_threadpool() -> None:
    """FastAPI's `def` routes and dependencies run in this thread (one profile sees them)."""
    import anyio.to_thread

    async def inline(function, *args, **_options):
        return function(*args)

    anyio.to_thread.run_sync = inline


async def _run(
    app, cookie: str, linked: list, count: int, only: str | None, profile, warmed=None
) -> dict:
    base = "http://127.0.0.1:8000"
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url=base, headers={"Origin": base}
    ) as client:
        client.cookies.set("rpd_session", cookie)

        async def form(number: int):
            return await client.post("/raise", data=form_data(number), follow_redirects=False)

        links_left = iter(linked)

        async def link(number: int):
            path, link_cookie, csrf = next(links_left)
            return await client.post(
                path,
                data={"action": "acknowledge", "csrf": csrf},
                headers={"Cookie": f"rpd_link={link_cookie}"},
                follow_redirects=False,
            )

        kinds = {"form": form, "link": link}
        if only:
            kinds = {only: kinds[only]}
        for name, send in kinds.items():  # warm up: templates, compiled statements
            for number in range(10**6, 10**6 + 5):
                response = await send(number)
                assert response.status_code in (200, 303), (name, response.text[:300])
        if warmed is not None:
            warmed()
        times = {}
        for name, send in kinds.items():
            started, cpu = time.perf_counter(), time.process_time()
            if profile is not None:
                profile.enable()
            for number in range(count):
                response = await send(number)
                assert response.status_code in (200, 303), (name, response.text[:300])
            if profile is not None:
                profile.disable()
            times[name] = (
                (time.perf_counter() - started) / count * 1000,
                (time.process_time() - cpu) / count * 1000,
            )
        return times


def measure(url: str, args) -> None:
    os.environ["ESCALATION_DATABASE_URL"] = url
    os.environ.setdefault("ESCALATION_PUBLIC_BASE_URL", "http://127.0.0.1:8000")
    _key, cookie, linked = prepare(url, 2 * (args.requests + 5) + 6)
    from bench.web_app import create

    app = create()
    engine = app.state.sessions.kw["bind"]
    sent: list[str] = []
    event.listen(
        engine,
        "before_cursor_execute",
        lambda _c, _cur, statement, *rest: sent.append(" ".join(statement.split())),
    )
    # Statements a request: one of each kind on its own.
    for only in ("form", "link"):
        if args.only and only != args.only:
            continue
        asyncio.run(_run(app, cookie, linked, 1, only, None, warmed=sent.clear))
        print(f"{engine.dialect.name}: {only} POST, one request after 5: statements")
        for number, statement in enumerate(sent, 1):
            print(f"  {number:2d}  {statement[: args.width]}")
        linked = linked[6:] if only == "link" else linked
    plain = asyncio.run(_run(app, cookie, linked, args.requests, args.only, None))
    linked = linked[args.requests + 5 :]
    profile = cProfile.Profile()
    times = asyncio.run(_run(app, cookie, linked, args.requests, args.only, profile))
    for name, (ms, _cpu) in times.items():
        print(
            f"{engine.dialect.name}: {name} POST {plain[name][0]:.2f} ms a request, "
            f"{plain[name][1]:.2f} ms CPU ({ms:.2f} ms profiled)"
        )
    if args.dump:
        profile.dump_stats(args.dump)
    pstats.Stats(profile).sort_stats(args.sort).print_stats(args.top)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--postgres")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--only", choices=("form", "link"))
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--width", type=int, default=160, help="of each statement printed")
    parser.add_argument("--dump", help="write the profile to this file (pstats)")
    args = parser.parse_args()
    _inline_threadpool()
    if args.postgres:
        with temporary_schema(args.postgres) as url:
            measure(url, args)
        return
    with tempfile.TemporaryDirectory() as directory:
        measure(f"sqlite:///{directory}/p.db", args)


if __name__ == "__main__":
    main()
