"""Settings: defaults, then a TOML file (`--config`), then `MUSTER_*` environment variables."""

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

# The parts of a Muster process: `muster up` runs them all, `muster serve --components` any.
COMPONENTS = ("intake", "projector", "boards", "notifier")


class Settings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    nats_url: str | None = None
    database_url: str | None = None
    nats_ca_file: str = ""  # a PEM CA that signed the NATS servers' TLS certificates
    # Start even if a client without credentials can publish into the stream (issue #14).
    allow_open_broker: bool = False
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    # /metrics has no token: it is served on this address alone, loopback unless set; port 0
    # picks a free one (runtime.json names it), a scraper wants a fixed one (e.g. 9464).
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 0
    # Life-safety commands (presses, protocol, acks, all clear, cancel, command) on a listener
    # in a process of its own, so routine traffic never queues ahead of them; 0 picks a port.
    emergency_port: int | None = None
    data_dir: str = ".muster"
    stream: str = "MUSTER"
    stream_replicas: int = 1
    rate_per_token: float = 100.0  # requests per second; 0 turns a limit off
    rate_per_address: float = 200.0
    rate_emergency: float = 20.0  # a device's or commander's presses, apart from all else
    cors_origins: str = ""  # comma-separated origins allowed to call the API from a browser
    # Slow clients (issue #14): a request's head must arrive within header_timeout_s of the
    # connection or of its previous answer (an idle keep-alive ends then too), its body within
    # body_timeout_s; 0 turns a cap below off.
    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    connections_per_address: int = 512  # open at once; a school's NAT is one address
    boards_per_token: int = 200  # live WebSocket boards open at once on one token
    # An STA-024 notify a CAD has not acknowledged is sent again this often, this many times,
    # then its subscription is dropped (docs/api.md, "Dispatch subscriptions").
    eido_resend_s: float = 10.0
    eido_resends: int = 3
    site_parse_timeout_s: float = 5.0  # a site file's parse, in its worker process
    send_timeout_s: float = 5.0  # one Apprise send, before it counts as failed
    operator_alert_url: str = ""  # Apprise URL told when a consumer stops a site (faulted)
    apart: str = "notifier"  # what muster up runs in processes of its own (or "projector")
    records_to: str = ""  # a notifier's records go to this intake's desk (set by muster up)
    desk: str = ""  # the emergency listener takes a notifier's records here (set by muster up)

    @property
    def embedded(self) -> bool:
        return not (self.nats_url and self.database_url)

    @property
    def runtime_file(self) -> Path:
        return Path(self.data_dir) / "runtime.json"


class ConfigError(ValueError):
    """Settings that cannot be used, with the file, variable or key to fix."""


def load(config: str | None = None, env: Mapping[str, str] = os.environ,
         **flags: Any) -> Settings:
    """Later sources win: defaults < TOML file < environment < command-line flags."""
    values: dict[str, Any] = {}
    if config:
        try:
            values.update(msgspec.toml.decode(Path(config).read_bytes(), type=dict))
            _check(values)
        except OSError as exc:
            raise ConfigError(f"{config}: {exc.strerror}") from exc
        except msgspec.DecodeError as exc:  # also ValidationError, whose message names the key
            raise ConfigError(f"{config}: {exc}") from exc
    for field in Settings.__struct_fields__:
        key = f"MUSTER_{field.upper()}"
        if key in env and env[key] != "":
            values[field] = env[key]
            try:
                _check({field: env[key]})
            except msgspec.ValidationError as exc:
                raise ConfigError(f"{key}={env[key]!r}: {exc}") from exc
    values.update({k: v for k, v in flags.items() if v is not None})
    return _check(values)


def to_env(settings: Settings, leave_out: frozenset[str] = frozenset()) -> dict[str, str]:
    """The settings that differ from the defaults, as the `MUSTER_*` variables `load` reads: a
    process `muster up` starts runs with what a `--config` file or a flag gave its parent."""
    default = Settings()
    out = {}
    for field in Settings.__struct_fields__:
        value = getattr(settings, field)
        if field in leave_out or value == getattr(default, field) or value is None:
            continue
        out[f"MUSTER_{field.upper()}"] = str(value).lower() if isinstance(value, bool) \
            else str(value)
    return out


def _check(values: dict[str, Any]) -> Settings:
    return msgspec.convert(values, Settings, strict=False)
