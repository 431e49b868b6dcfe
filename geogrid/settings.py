"""Settings, read from the environment (prefix ``GEOGRID_``) or a ``.env`` file.

Split by concern so each part of the system asks only for what it uses.
"""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: The checkout geogrid runs from (holds pyproject.toml when installed editable).
REPO_ROOT = Path(__file__).resolve().parents[1]
#: A web origin as browsers send it: scheme, host and an optional port, nothing more.
_SPAN = r"[0-2]?[0-9]:[0-5][0-9]-[0-2]?[0-9]:[0-5][0-9]"
_OFFICE_HOURS = re.compile(rf"{_SPAN}(,{_SPAN})*")
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")


def _default_home() -> Path:
    if (REPO_ROOT / "pyproject.toml").exists():
        return REPO_ROOT / ".geogrid"
    return Path.cwd() / ".geogrid"


class _Base(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GEOGRID_", env_file=".env", extra="ignore")


class DatabaseSettings(_Base):
    """Where the data lives."""

    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of an existing PostgreSQL+PostGIS server. Unset: embedded.",
    )
    database_replica_url: str | None = Field(
        default=None,
        description="URL of a hot standby of that server (streaming replication): release-"
        "pinned reads go there once it has replayed the release they need, else to the "
        "primary. Unset: everything reads the primary",
    )
    home: Path = Field(
        default_factory=_default_home,
        description="Project-local folder for the embedded cluster (git-ignored).",
    )
    cluster_user: str = Field(
        default="geogrid",
        description="Unprivileged system user that runs the embedded cluster when run as root.",
    )
    pool_size: int = Field(
        default=10,
        ge=1,
        le=200,
        description="Requests of one process that may use the database at once (each holds "
        "one connection); more wait up to GEOGRID_POOL_TIMEOUT_S, then get 503",
    )
    pool_timeout_s: float = Field(
        default=2.0,
        gt=0,
        le=60,
        description="Seconds a request waits for a free database connection before a 503 "
        "with Retry-After",
    )
    timeout_interactive_s: float = Field(
        default=5.0,
        gt=0,
        le=600,
        description="Statement timeout and deadline of a request's database work: reads and "
        "writes a person waits for",
    )
    timeout_long_s: float = Field(
        default=120.0,
        gt=0,
        le=3600,
        description="Statement timeout and deadline of long work: publishing a plan, "
        "exports, imports and batches",
    )
    connect_timeout_s: int = Field(
        default=3,
        ge=2,
        le=60,
        description="Seconds to open a new database connection (libpq's connect_timeout, at "
        "least 2); no more than the interactive timeout, since opening cannot be cut short",
    )

    prepared_statements: bool = Field(
        default=True,
        description="Prepare the statements a process runs again (planned once per "
        "connection); false behind a pooler in transaction mode (PgBouncer before 1.21)",
    )

    @model_validator(mode="after")
    def _connecting_fits_the_deadline(self) -> DatabaseSettings:
        if self.connect_timeout_s > self.timeout_interactive_s:
            raise ValueError(
                "GEOGRID_CONNECT_TIMEOUT_S must not exceed GEOGRID_TIMEOUT_INTERACTIVE_S"
            )
        return self


class DemoSettings(_Base):
    """The Yaohai demo dataset."""

    demo_path: Path = REPO_ROOT / "data" / "yaohai_demo.gpkg"


class ServiceAreaSettings(_Base):
    """How 5/10/15-minute service areas are drawn (docs/architecture.md, "Service areas")."""

    detour_factor: float = Field(default=1.3, gt=0.5, le=3.0)
    walking_speed_m_per_min: float | None = Field(
        default=None,
        deprecated="ignored: walking minutes are read off the tiers (geogrid.lookup.walking); "
        "the GB 50180-2018 tiers imply no single speed (300/5, 500/10, 1000/15 m/min)",
    )
    #: Walking distance per tier in metres (GB 50180-2018), minutes -> metres; walking minutes
    #: are read off these (geogrid.lookup.walking).
    tier_distances_m: dict[int, float] = {5: 300.0, 10: 500.0, 15: 1000.0}
    #: The tier each station kind serves (README, "The walking model": how each kind was
    #: matched to GB 50180-2018's facility types). Coverage counts each kind at its own tier
    #: unless a request names one tier for all.
    tier_by_kind: dict[str, int] = {
        "party_mass": 5,
        "doorstep": 5,
        "happiness": 5,
        "mediation": 5,
        "legal": 15,
        "courier_rest": 15,
    }
    #: The station kinds that are residents' services, counted by coverage unless a request
    #: names kinds (courier rest stops serve delivery riders, not residents).
    resident_kinds: tuple[str, ...] = ("party_mass", "doorstep", "happiness", "mediation", "legal")
    #: Detour factor per station kind, overriding ``detour_factor``.
    detour_factor_by_kind: dict[str, float] = {}
    #: On a walking network, the longest straight walk from a path to a door (metres): a
    #: barrier wider than this (a river between its bank paths, a rail yard) is walked round.
    network_access_m: float = Field(default=80.0, gt=0, le=500)

    @model_validator(mode="after")
    def _tiers_are_a_walking_scale(self) -> ServiceAreaSettings:
        tiers = sorted(self.tier_distances_m.items())
        if not tiers or any(m <= 0 or d <= 0 for m, d in tiers):
            raise ValueError(
                "GEOGRID_TIER_DISTANCES_M must map positive minutes to positive metres"
            )
        if any(d1 >= d2 for (_, d1), (_, d2) in pairwise(tiers)):
            raise ValueError("GEOGRID_TIER_DISTANCES_M: a longer tier must be a longer walk")
        unknown = {k: m for k, m in self.tier_by_kind.items() if m not in self.tier_distances_m}
        if unknown:
            raise ValueError(f"GEOGRID_TIER_BY_KIND names tiers that have no distance: {unknown}")
        return self


class ApiSettings(_Base):
    """The HTTP service."""

    host: str = "127.0.0.1"
    port: int = 8000
    forwarded_allow_ips: str | None = Field(
        default=None,
        description="Addresses (comma-separated, CIDR allowed, * for any) of the reverse "
        "proxies whose X-Forwarded-For and X-Forwarded-Proto geogrid serve trusts. Unset: "
        "uvicorn's FORWARDED_ALLOW_IPS, else 127.0.0.1 (a proxy on the same host)",
    )
    environment: str = Field(default="development", pattern="^(development|test|production)$")
    key_cache_s: float = Field(
        default=5.0,
        ge=0,
        le=300,
        description="Seconds a process remembers an authenticated key (0: look up every "
        "request); a revocation clears every process's memory at once",
    )
    max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=0,
        description="Largest request body in bytes of any route without a limit of its own "
        "(JSON writes, forms); larger ones are refused with 413 before they are read",
    )
    max_locate_body_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=0,
        description="Largest body of a batch POST /v1/locate (a million points as JSON or CSV "
        "is about 30-40 MB, as binary 16 MB)",
    )
    max_plan_edit_body_bytes: int = Field(
        default=24 * 1024 * 1024,
        ge=0,
        description="Largest body of POST /v1/plans/{id}/edits (a replace drawing, as GeoJSON "
        "or an uploaded file of up to 20 MB)",
    )
    log_level: str = Field(
        default="info", pattern="^(debug|info|warning|error)$", description="Log level"
    )
    log_format: str = Field(
        default="json",
        pattern="^(json|console)$",
        description="json: one JSON object per line (for collectors); console: readable text",
    )
    access_log: bool = Field(default=True, description="One log line per request")
    key_outage_s: float = Field(
        default=3600.0,
        ge=0,
        le=86_400,
        description="While the database is unavailable, a key verified within this many "
        "seconds keeps working (keys cannot be revoked while the database is down)",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default=[],
        description="Origins (comma-separated, e.g. https://map.example.gov.cn) whose web pages "
        "may call the API from a browser (CORS, without credentials). Empty: none, CORS off",
    )

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if origin != "*" and not _ORIGIN.fullmatch(origin):
                raise ValueError(
                    f'GEOGRID_CORS_ORIGINS holds "{origin}" but an origin is scheme://host[:port] '
                    "with no path (or * for any)"
                )
        return value


class MapSettings(_Base):
    """Web maps: the optional online base layers."""

    tianditu_key: str | None = Field(
        default=None, description="天地图 browser key; the Tianditu base layer is offered with it"
    )


class TileSettings(_Base):
    """Vector tiles (OGC API – Tiles)."""

    tile_cache_mb: float = Field(
        default=64,
        ge=0,
        le=65536,
        description="Memory for encoded vector tiles, MiB (least recently used out; 0: none)",
    )


class CaseSettings(_Base):
    """Case dispatch: how a case's location is routed to a grid, and what a preview lists."""

    near_boundary_m: float = Field(
        default=20.0,
        ge=0,
        le=500,
        description="A case within this distance of another grid is flagged near_boundary",
    )
    outside_max_m: float = Field(
        default=100.0,
        ge=0,
        le=50_000,
        description="A case outside every grid but this close goes to the nearest grid "
        "(flagged outside_district): a phone's GPS error; farther is refused, to be passed "
        "on to the city platform (转办)",
    )
    case_similar_distance_m: float = Field(
        default=100.0,
        gt=0,
        le=5_000,
        description="A case preview lists open cases of the same category this close (metres)",
    )
    case_similar_days: float = Field(
        default=7.0,
        gt=0,
        le=366,
        description="... and reported within this many days before it",
    )
    late_entry_days: float = Field(
        default=0,
        ge=0,
        le=3660,
        description="How many days back a report or a step entered late (补录: taken on paper "
        "while the system was down, or handed over by another platform) may be dated; 0 turns "
        "late entry off",
    )
    warning_share: float = Field(
        default=0.8,
        gt=0,
        lt=1,
        description="A stage (立案, 派遣, 处置, 核查) warns yellow once this share of its limit is "
        "used, and red once the limit is passed",
    )
    office_hours: str = Field(
        default="08:30-12:00,13:30-17:30",
        description="Office hours of a working day, Asia/Shanghai: working-hour deadlines "
        "count only these spans (HH:MM-HH:MM, comma-separated)",
    )

    @field_validator("office_hours")
    @classmethod
    def _office_hours(cls, value: str) -> str:
        # the spans' order and bounds are checked where they are parsed (OfficeHours.parse)
        if not _OFFICE_HOURS.fullmatch(value.replace(" ", "")):
            raise ValueError(
                f'office hours were "{value}" but must be spans such as '
                '"08:30-12:00,13:30-17:30" (HH:MM-HH:MM, comma-separated)'
            )
        return value.replace(" ", "")


class PhotoSettings(_Base):
    """Photos of cases (README, "Evidence"): how large an upload may be, in bytes and pixels."""

    photo_max_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=1024,
        le=100 * 1024 * 1024,
        description="Largest photo upload in bytes (JPEG, PNG or WebP); larger is refused "
        "with 413 before it is read",
    )
    photo_max_pixels: int = Field(
        default=50_000_000,
        ge=10_000,
        le=89_478_485,  # Pillow's own Image.MAX_IMAGE_PIXELS, past which it warns or refuses
        description="Most pixels (width x height) a photo may have; more is refused with 413 "
        "before it is decoded (a small file can claim a huge image: a decompression bomb)",
    )


class AuthSettings(_Base):
    """Sign-in: sessions, their cookie, lock-out and passwords (README, "Signing in")."""

    session_idle_minutes: float = Field(
        default=30, gt=0, le=24 * 60, description="A session unused this long ends"
    )
    session_absolute_hours: float = Field(
        default=12, gt=0, le=24 * 30, description="A session ends this long after sign-in"
    )
    session_cookie_secure: str = Field(
        default="auto",
        pattern="^(auto|always|never)$",
        description="The cookie's Secure flag: auto sets it when the request came over https "
        "(as the proxy's X-Forwarded-Proto says, with uvicorn's --forwarded-allow-ips)",
    )
    lockout_failures: int = Field(
        default=5,
        ge=1,
        le=100,
        description="Consecutive failed sign-ins to one account from one address that lock "
        "the account for that address",
    )
    lockout_minutes: float = Field(
        default=15, gt=0, le=24 * 60, description="How long a lock-out lasts"
    )
    lockout_failures_everywhere: int = Field(
        default=50,
        ge=1,
        le=10_000,
        description="Failed sign-ins to one account from all addresses together (within "
        "lockout_minutes) that lock it everywhere: a guess spread over many addresses",
    )
    password_min_length: int = Field(default=10, ge=8, le=128)


def _rate(value: str) -> str:
    from limits import parse  # a rate the limits library reads: "120/minute", "10 per second"

    try:
        parse(value)
    except ValueError as error:
        raise ValueError(f'"{value}" is not a rate such as "120/minute"') from error
    return value


Rate = Annotated[str, AfterValidator(_rate)]


class RateLimitSettings(_Base):
    """Rate limits (docs/operations.md): per key and per client address, shared by every
    process through PostgreSQL."""

    rate_limits: bool = Field(default=True, description="Whether to limit at all")
    rate_writes: Rate = Field(
        default="300/minute",
        description="Writes (POST, PUT, DELETE that change something) per key and per address",
    )
    rate_batches: Rate = Field(
        default="60/minute", description="Batch locates per key and per address"
    )
    rate_failed_authentication: Rate = Field(
        default="20/minute", description="Requests with a wrong key per client address"
    )
    rate_failed_sign_in: Rate = Field(
        default="30/15minute",
        description="Failed sign-ins per client address, whatever the user name (stops "
        "password spraying; an account's own lock-out is per address, AuthSettings)",
    )


class NotifySettings(_Base):
    """Delivering the outbox to webhooks (``geogrid notify run``, docs/notifications.md)."""

    notify_poll_s: float = Field(
        default=1.0,
        gt=0,
        le=300,
        description="How often an idle worker looks for due deliveries",
    )
    notify_batch: int = Field(
        default=50,
        ge=1,
        le=1000,
        description="Deliveries one worker claims at a time (held, locked, while it sends them)",
    )
    notify_linger_s: float = Field(
        default=0.2,
        ge=0,
        le=10,
        description="After a round that claimed less than a full batch, wait this long "
        "before the next: under a steady stream of cases deliveries go out in a few larger "
        "rounds a second, each one commit, instead of a commit per event or two beside the "
        "requests' own (at most this much later)",
    )
    notify_concurrency: int = Field(
        default=4,
        ge=1,
        le=64,
        description="Webhooks one worker sends to at once (each webhook's deliveries go in order)",
    )
    notify_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=120,
        description="Seconds a webhook has to answer one delivery before it counts as failed",
    )
    notify_backoff_s: float = Field(
        default=2.0,
        gt=0,
        le=3600,
        description="Wait before the first retry; each later retry waits twice as long",
    )
    notify_backoff_max_s: float = Field(
        default=600.0,
        gt=0,
        le=86400,
        description="The longest wait between two tries of a delivery (a webhook down for a "
        "day is still tried every this many seconds)",
    )
    notify_jitter: float = Field(
        default=0.25,
        ge=0,
        le=1,
        description="Each wait is moved by up to this share either way at random, so deliveries "
        "that failed together do not come back together",
    )
    notify_max_age_h: float = Field(
        default=0,
        ge=0,
        description="A delivery still failing when its event is this many hours old is marked "
        "dead (shown by the status, never sent again); 0: never, it is retried until it answers",
    )
