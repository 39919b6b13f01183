"""The fair web baseline: a plain FastAPI app, outside the project's app (none of its
middleware, dependencies, templates or models), served the same way (uvicorn, one worker, in
its own process; see bench.common.served_app).

Its POST does what every project POST must at least do: parse a urlencoded form (the raise
form's 17 fields) in FastAPI's idiomatic way, then write one small row and commit it durably,
in the thread pool like the project's `def` routes. Whatever the project spends beyond this is
its own: sessions, CSRF, rate limits, the domain and its chronology, the answer page.
"""

from __future__ import annotations

import os
from typing import Annotated

from fastapi import FastAPI, Form
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert

METADATA = MetaData()
NOTES = Table(
    "bench_plain_notes",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("child_reference", String(100), nullable=False),
    Column("reason", String(2000), nullable=False),
)


def create() -> FastAPI:
    engine = create_engine(os.environ["ESCALATION_DATABASE_URL"])
    METADATA.create_all(engine)
    app = FastAPI()

    @app.get("/board/signin")  # what bench.common.served_app polls until the server is up
    def ready() -> dict:
        return {"ok": True}

    @app.post("/plain", status_code=201)
    def plain(
        child_reference: Annotated[str, Form()],
        reason: Annotated[str, Form()],
        csrf: Annotated[str, Form()] = "",
        form_id: Annotated[str, Form()] = "",
    ) -> dict:
        with engine.begin() as connection:
            connection.execute(insert(NOTES).values(child_reference=child_reference, reason=reason))
        return {"ok": True}

    return app
