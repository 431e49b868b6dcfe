"""``python -m bench.launch HOST PORT``: the bare echo app under uvicorn with the options of
``geogrid serve`` (geogrid.cli.serving.uvicorn_options), one worker."""

from __future__ import annotations

import sys

import uvicorn

from geogrid.cli.serving import uvicorn_options
from geogrid.settings import ApiSettings

if __name__ == "__main__":
    host, port = sys.argv[1], int(sys.argv[2])
    uvicorn.run(
        "bench.echo_app:app", host=host, port=port, workers=1, **uvicorn_options(ApiSettings())
    )
