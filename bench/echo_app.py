"""The framework's ceiling: a bare FastAPI app whose one ``async def`` route echoes ``lon`` and
``lat``. bench/shipped.py serves it with exactly the uvicorn options of ``geogrid serve``."""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI()


@app.get("/echo")
async def echo(lon: float, lat: float) -> dict[str, float]:
    return {"lon": lon, "lat": lat}
