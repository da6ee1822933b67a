"""Settings from the environment (prefix ``NFSYNC_``), validated once at start-up.

A missing or malformed setting becomes a :class:`ConfigError` whose message names the variable and the
reason in one line; the CLI prints it without a traceback.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from nfsync.connectors.base.errors import ConfigError
from nfsync.connectors.base.outbound import OutboundPolicy
from nfsync.connectors.base.secret import Secret
from nfsync.workers.crypto import Keyring

ENV_PREFIX = "NFSYNC_"
SCHEMA_SQL = Path(__file__).resolve().parent / "sql" / "schema.sql"  # package data: inside the wheel too


class Settings(BaseSettings):
    """Every setting nfsync reads. Each field is the environment variable ``NFSYNC_<FIELD NAME>``."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    database_url: str = Field(
        "postgresql://postgres@127.0.0.1:5432/nfsync",
        description="PostgreSQL URL (the database is created by db init)",
    )
    amqp_url: str = Field("amqp://guest:guest@127.0.0.1:5672/", description="RabbitMQ URL")
    secret_keys: Secret | None = Field(
        None,
        description="Keyring 'kid:base64key[,kid:base64key...]', first key is primary (nfsync keys generate)",
    )
    schema_path: Path = Field(SCHEMA_SQL, description="Path of schema.sql (default: the one installed with nfsync)")
    event_loop: Literal["uvloop", "asyncio"] = Field(
        "uvloop", description="The event loop of nfsync's processes: uvloop (faster), or Python's own asyncio"
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field("info", description="Log level")
    log_format: Literal["auto", "json", "console"] = Field(
        "auto", description="auto = console on a terminal, JSON otherwise"
    )
    db_connect_timeout: float = Field(10.0, gt=0, description="Seconds to wait for one PostgreSQL connection")
    db_startup_timeout: float = Field(
        30.0, ge=0, description="Seconds to keep retrying the first connection while PostgreSQL is down"
    )
    db_command_timeout: float = Field(30.0, gt=0, description="Client-side deadline of one statement (seconds)")
    db_statement_timeout_ms: int = Field(30_000, gt=0, description="Server-side statement_timeout (ms)")
    db_idle_in_transaction_timeout_ms: int = Field(
        60_000, gt=0, description="Server-side idle_in_transaction_session_timeout (ms)"
    )
    db_pool_min_size: int = Field(1, ge=0, description="Minimum pooled connections per process")
    db_pool_max_size: int = Field(20, ge=1, description="Maximum pooled connections per process (and pool)")
    keys_rotate_batch_size: int = Field(500, ge=1, le=10_000, description="Rows re-encrypted per transaction")
    amqp_connect_timeout: float = Field(10.0, gt=0, description="Seconds to wait for one RabbitMQ connection")
    marketplace_read_timeout: float = Field(
        30.0, gt=0, description="Seconds a marketplace call may take before it counts as lost (and is retried)"
    )
    amqp_startup_timeout: float = Field(
        30.0, ge=0, description="Seconds to keep retrying the first connection while RabbitMQ is down"
    )
    publish_timeout: float = Field(5.0, gt=0, description="Seconds to wait for a publisher confirm")
    queue_delivery_limit: int = Field(
        5, ge=1, description="Deliveries of one wake-up message before it is dead-lettered (x-delivery-limit)"
    )
    lease_seconds: float = Field(30.0, gt=0, description="Lease of a claimed task; renewed every third of it")
    claim_batch: int = Field(50, ge=1, le=1000, description="Most tasks one claim statement takes")
    worker_concurrency: int = Field(50, ge=1, description="Default tasks running at once per platform per worker")
    idle_poll_seconds: float = Field(
        5.0, gt=0, description="An idle worker looks for due work this often even without a wake-up"
    )
    progress_interval: float = Field(1.0, gt=0, description="Seconds between progress and cancellation checks")
    shutdown_grace: float = Field(20.0, ge=0, description="Seconds in-flight tasks get after SIGTERM")
    retry_base_seconds: float = Field(2.0, gt=0, description="First retry backoff (doubles each retry, full jitter)")
    retry_max_seconds: float = Field(300.0, gt=0, description="Cap of the retry backoff")
    scheduler_tick: float = Field(1.0, gt=0, description="Seconds between scheduler ticks")
    tick_report_seconds: float = Field(
        60.0, gt=0, description="Seconds between the scheduler's scheduler.ticks log lines (tick count and durations)"
    )
    redispatch_after: float = Field(
        5.0, gt=0, description="A due task nobody claimed for this long gets its wake-up re-sent"
    )
    periodic_task_types: str = Field(
        "order_sync", description="Comma-separated task types the scheduler enqueues every sync_interval"
    )
    lost_push_interval: float = Field(
        600.0,
        ge=0,
        description="Seconds between recoveries of undelivered pushes (Shopee's lost-push API; 0 = never)",
    )
    lost_push_platforms: str = Field("shopee", description="Comma-separated platforms whose lost pushes are recovered")
    upkeep_interval: float = Field(
        300.0,
        ge=0,
        description="Seconds between the scheduler's upkeep: tokens refreshed ahead of expiry, authorizations about "
        "to lapse and stale shops announced (0 = never)",
    )
    customer_retention_days: int = Field(
        0,
        ge=0,
        le=36500,
        description="Customers without an order in this many days are erased by the scheduler's upkeep (0 = never)",
    )
    subscriber_timeout: float = Field(10.0, gt=0, description="Seconds an event subscriber has to answer a delivery")
    subscriber_retry_window: float = Field(
        86400.0, gt=0, description="Seconds a delivery is retried before it fails (its subscription may be disabled)"
    )
    subscriber_backoff_base: float = Field(5.0, gt=0, description="First retry delay of a failed delivery (doubles)")
    subscriber_backoff_max: float = Field(3600.0, gt=0, description="Cap of a failed delivery's retry delay")
    subscriber_concurrency: int = Field(64, ge=1, description="Deliveries in flight at once per process")
    token_refresh_lead: float = Field(
        3600.0, gt=0, description="The upkeep refreshes an access token this many seconds before it expires"
    )
    retention_days_tasks: int = Field(30, ge=1, description="Finished tasks older than this are deleted")
    retention_days_webhooks: int = Field(30, ge=1, description="Stored webhooks older than this are deleted")
    rabbitmq_management_url: str = Field(
        "http://127.0.0.1:15672", description="RabbitMQ management API (unacked counts on /ops; optional)"
    )
    webhook_max_bytes: int = Field(1024 * 1024, ge=1024, description="Largest webhook body accepted (413 above)")
    api_rate_per_token: float = Field(
        50.0, ge=0, description="Requests per second per API token and API process (burst twice that; 0 = off)"
    )
    api_rate_per_ip: float = Field(
        20.0, ge=0, description="Requests per second per client address without a valid token (0 = off; not webhooks)"
    )
    oauth_redirect_origins: str = Field(
        "", description="Comma list of origins an OAuth redirect_uri may use, besides NFSYNC_PUBLIC_BASE_URL's"
    )
    outbound_allowed_hosts: str = Field(
        "", description="Comma list of hosts outbound calls may reach though not public or a platform's (sandboxes)"
    )
    webhook_read_timeout: float = Field(
        10.0, gt=0, le=300, description="Seconds a request body (webhook or API) may take to arrive (408 after)"
    )
    api_header_timeout: float = Field(
        15.0, gt=0, le=600, description="Seconds a connection may stay without a complete request head (then closed)"
    )
    public_base_url: str = Field(
        "http://127.0.0.1:8080", description="The API's externally visible URL (webhook URLs, Shopee push signatures)"
    )
    retention_days_logs: int = Field(90, ge=1, description="sync_logs partitions older than this are dropped")

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("postgresql", "postgres"):
            raise ValueError("must start with postgresql://")
        if not parts.hostname:
            raise ValueError("has no host")
        if not parts.path.strip("/"):
            raise ValueError("names no database (postgresql://user@host:port/DATABASE)")
        _check_port(parts.port if _port_parses(value) else -1)
        return value

    @field_validator("amqp_url")
    @classmethod
    def _check_amqp_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("amqp", "amqps"):
            raise ValueError("must start with amqp:// or amqps://")
        if not parts.hostname:
            raise ValueError("has no host")
        _check_port(parts.port if _port_parses(value) else -1)
        return value

    @field_validator("secret_keys")
    @classmethod
    def _check_secret_keys(cls, value: Secret | None) -> Secret | None:
        if value is None or not value.reveal().strip():
            return None
        Keyring.parse(value.reveal())
        return value

    @field_validator("periodic_task_types")
    @classmethod
    def _check_task_types(cls, value: str) -> str:
        known = {"product_sync", "order_sync", "inventory_sync", "price_sync", "shop_sync", "customer_sync"}
        unknown = [t for t in (part.strip() for part in value.split(",")) if t and t not in known]
        if unknown:
            raise ValueError(f"unknown task type(s) {', '.join(unknown)}")
        return value

    @property
    def database_name(self) -> str:
        return urlsplit(self.database_url).path.strip("/")

    @property
    def outbound_policy(self) -> OutboundPolicy:
        return OutboundPolicy.parse(self.outbound_allowed_hosts)

    def with_local_sandboxes(self) -> Settings:
        """These settings with the loopback hosts allowed for outbound calls: the demo, benchmarks and chaos run the
        platform sandboxes on this machine."""
        hosts = ",".join(filter(None, [self.outbound_allowed_hosts, "127.0.0.1", "localhost", "::1"]))
        return self.model_copy(update={"outbound_allowed_hosts": hosts})

    def database_url_for(self, database: str) -> str:
        """The same server and credentials, another database."""
        parts = urlsplit(self.database_url)
        return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))

    def masked(self) -> dict[str, str]:
        """Effective settings as ``NFSYNC_*`` names and printable values, secrets masked."""
        shown: dict[str, str] = {}
        for name in type(self).model_fields:
            shown[ENV_PREFIX + name.upper()] = _show(name, getattr(self, name))
        return shown


def _port_parses(url: str) -> bool:
    try:
        urlsplit(url).port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return False
    return True


def _check_port(port: int | None) -> None:
    if port is not None and not 0 < port < 65536:
        raise ValueError("has an invalid port")


def mask_url(url: str) -> str:
    """The URL with its password replaced by ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _show(name: str, value: object) -> str:
    if value is None:
        return "(not set)"
    if isinstance(value, Secret):
        ids = [entry.split(":", 1)[0] for entry in value.reveal().split(",") if entry.strip()]
        return ",".join(f"{kid}:***" for kid in ids)
    if name.endswith("_url"):
        return mask_url(str(value))
    return str(value)


def format_validation_error(exc: ValidationError) -> str:
    """One line naming each bad variable and why."""
    problems = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"]) or "settings"
        problems.append(f"{ENV_PREFIX}{field.upper()}: {error['msg'].removeprefix('Value error, ')}")
    return "invalid configuration: " + "; ".join(problems)


def load_settings() -> Settings:
    """Read the environment; a bad value raises ConfigError with one line of explanation."""
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc)) from None
    except ConfigError as exc:
        raise ConfigError(f"invalid configuration: {ENV_PREFIX}SECRET_KEYS: {exc.message}") from None


@functools.cache
def settings_field_names() -> frozenset[str]:
    """All NFSYNC_* variable names (deploy files are checked against these)."""
    return frozenset(ENV_PREFIX + name.upper() for name in Settings.model_fields)
