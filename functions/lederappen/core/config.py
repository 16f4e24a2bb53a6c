"""Configuration from environment variables, validated once per instance.

Every setting is declared once in `SETTINGS` (name, section, parser, default, description);
README's configuration table is checked against this list by a test. A function declares in
the manifest which sections it `uses`; `require()` validates the common section plus those,
and raises one ConfigError that names every missing or malformed setting, so a misconfigured
deployment fails at start with a message that says exactly what to fix.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

REQUIRED = object()


class ConfigError(RuntimeError):
    """Raised when settings are missing or malformed; the message lists every problem."""


def _str(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value.strip()


def _url(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http(s) URL")
    return value.strip().rstrip("/")


def _int(lo: int, hi: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise ValueError("must be a whole number") from None
        if not lo <= number <= hi:
            raise ValueError(f"must be between {lo} and {hi}")
        return number

    return parse


def _float(lo: float, hi: float) -> Callable[[str], float]:
    def parse(value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            raise ValueError("must be a number") from None
        if not lo <= number <= hi:
            raise ValueError(f"must be between {lo} and {hi}")
        return number

    return parse


def _csv(value: str) -> tuple[str, ...]:
    items = tuple(v.strip() for v in value.split(",") if v.strip())
    if not items:
        raise ValueError("must list at least one value")
    return items


def _key(value: str) -> bytes:
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("must be base64") from None
    if len(raw) < 32:
        raise ValueError("must decode to at least 32 bytes")
    return raw


def _choice(*options: str) -> Callable[[str], str]:
    """One of `options`, in any case, given back as the option is spelled."""
    spelled = {o.upper(): o for o in options}

    def parse(value: str) -> str:
        v = spelled.get(value.strip().upper())
        if v is None:
            raise ValueError(f"must be one of {', '.join(options)}")
        return v

    return parse


def _instance(value: str) -> str:
    if value.count(":") != 2 or not all(value.split(":")):
        raise ValueError("must be PROJECT:REGION:INSTANCE")
    return value


@dataclass(frozen=True)
class Setting:
    env: str
    section: str
    parse: Callable[[str], Any]
    default: Any
    description: str
    secret: bool = False


SETTINGS: tuple[Setting, ...] = (
    # common: every function
    Setting("GOOGLE_CLOUD_PROJECT", "common", _str, REQUIRED, "Google Cloud project id."),
    Setting(
        "PSEUDONYM_KEY",
        "common",
        _key,
        REQUIRED,
        "Base64 key (>= 32 bytes) for the keyed hash that pseudonymises member keys in logs.",
        secret=True,
    ),
    Setting(
        "LOG_LEVEL",
        "common",
        _choice("DEBUG", "INFO", "WARNING", "ERROR"),
        "INFO",
        "Lowest log severity written.",
    ),
    Setting(
        "TERMS_NOTICE_DAYS",
        "common",
        _int(0, 365),
        30,
        "Days between publishing a material change of consent terms and the day it "
        "applies at the earliest; members whose consent it affects are told at once (R8).",
    ),
    Setting(
        "MAX_REQUEST_BYTES",
        "common",
        _int(1024, 10 * 1024 * 1024),
        65536,
        "Largest request body accepted (413 above it).",
    ),
    # db: Cloud SQL for PostgreSQL
    Setting(
        "CLOUD_SQL_INSTANCE",
        "db",
        _instance,
        None,
        "Instance connection name PROJECT:REGION:INSTANCE. Set: connect through the Cloud SQL "
        "connector with IAM database authentication. Unset: connect directly to DB_HOST.",
    ),
    Setting(
        "DB_IP_TYPE",
        "db",
        _choice("PRIVATE", "PUBLIC", "PSC"),
        "PRIVATE",
        "Which instance address the Cloud SQL connector uses.",
    ),
    Setting("DB_HOST", "db", _str, "127.0.0.1", "Database host for a direct connection."),
    Setting("DB_PORT", "db", _int(1, 65535), 5432, "Database port for a direct connection."),
    Setting("DB_NAME", "db", _str, REQUIRED, "Database name."),
    Setting(
        "DB_USER",
        "db",
        _str,
        REQUIRED,
        "Database user; with the connector, the IAM user (service account e-mail without "
        "'.gserviceaccount.com').",
    ),
    Setting(
        "DB_PASSWORD",
        "db",
        str,
        None,
        "Password for a direct connection (not used with IAM authentication).",
        secret=True,
    ),
    Setting("DB_POOL_SIZE", "db", _int(1, 20), 4, "Connections kept per instance, at most."),
    Setting(
        "DB_CONNECT_TIMEOUT_SECONDS",
        "db",
        _float(0.1, 60),
        5.0,
        "Time allowed to connect or to wait for a free pooled connection.",
    ),
    Setting(
        "DB_STATEMENT_TIMEOUT_MS",
        "db",
        _int(100, 600000),
        5000,
        "Server-side limit for one statement.",
    ),
    # oidc: the app's bearer tokens (Lederne's OpenID Connect ID tokens)
    Setting("OIDC_ISSUER", "oidc", _url, REQUIRED, "Issuer of the app's ID tokens (exact 'iss')."),
    Setting("OIDC_AUDIENCE", "oidc", _str, REQUIRED, "The app's client id (required 'aud')."),
    Setting(
        "OIDC_JWKS_URL",
        "oidc",
        _url,
        None,
        "JWKS URL; unset: read from the issuer's /.well-known/openid-configuration.",
    ),
    Setting("OIDC_ALGORITHMS", "oidc", _csv, ("RS256",), "Accepted signature algorithms."),
    Setting("OIDC_LEEWAY_SECONDS", "oidc", _int(0, 300), 30, "Clock skew allowed on exp/iat/nbf."),
    # job_oidc: Google-signed OIDC tokens that Cloud Scheduler sends to scheduled functions and
    # that a push subscription sends to its Pub/Sub function
    Setting(
        "JOB_OIDC_ISSUER", "job_oidc", _url, "https://accounts.google.com", "Issuer of job tokens."
    ),
    Setting(
        "JOB_OIDC_JWKS_URL",
        "job_oidc",
        _url,
        "https://www.googleapis.com/oauth2/v3/certs",
        "JWKS URL of the job token issuer.",
    ),
    Setting(
        "JOB_OIDC_AUDIENCE",
        "job_oidc",
        _str,
        REQUIRED,
        "Audience the scheduler or push subscription puts in its token (the function's URL).",
    ),
    Setting(
        "JOB_INVOKER_EMAILS",
        "job_oidc",
        _csv,
        REQUIRED,
        "Service accounts allowed to invoke a scheduled function (its scheduler) or a Pub/Sub "
        "function (its push identity), comma-separated.",
    ),
    # register: lederne.no member register, MinSide and feeds
    Setting("LEDERNE_API_URL", "register", _url, REQUIRED, "Base URL of Lederne's member API."),
    Setting(
        "LEDERNE_API_KEY",
        "register",
        _str,
        REQUIRED,
        "Credential for Lederne's member API.",
        secret=True,
    ),
    Setting(
        "LEDERNE_API_TIMEOUT_SECONDS",
        "register",
        _float(0.1, 30),
        3.0,
        "Time allowed for one call to Lederne's API before answering 503.",
    ),
    # pubsub / firestore / fcm: read by the Google client libraries and the senders
    Setting(
        "PUBSUB_EMULATOR_HOST",
        "pubsub",
        _str,
        None,
        "host:port of the Pub/Sub emulator (local only; read by google-cloud-pubsub).",
    ),
    Setting(
        "FIRESTORE_EMULATOR_HOST",
        "firestore",
        _str,
        None,
        "host:port of the Firestore emulator (local only; read by google-cloud-firestore).",
    ),
    Setting("FIRESTORE_DATABASE", "firestore", _str, "(default)", "Firestore database id."),
    Setting(
        "FCM_ENDPOINT",
        "fcm",
        _url,
        "https://fcm.googleapis.com",
        "Base URL of FCM HTTP v1 (the local stand-in when run locally).",
    ),
    Setting(
        "FCM_TRANSPORT",
        "fcm",
        _choice("streams", "aiohttp", "sdk"),
        "streams",
        "How the sender posts the Admin SDK's messages: streams (its own HTTP/1.1 client), "
        "aiohttp, or sdk (the SDK's own send_each_async); README, Benchmarks.",
    ),
    # installation: the app's per-install id is stored only as a keyed hash (F9, F10)
    Setting(
        "INSTALLATION_ID_KEY",
        "installation",
        _key,
        REQUIRED,
        "Base64 key (>= 32 bytes) for the keyed hash (HMAC-SHA256) that replaces an app "
        "installation id before it is stored (the policy's 'kryptert ID').",
        secret=True,
    ),
    # console: the staff console in the browser (sign-in with the staff identity provider)
    Setting(
        "CONSOLE_OIDC_ISSUER",
        "console",
        _url,
        REQUIRED,
        "Issuer of the staff identity provider (exact 'iss'); its discovery document names "
        "the authorization, token and JWKS endpoints.",
    ),
    Setting(
        "CONSOLE_OIDC_CLIENT_ID",
        "console",
        _str,
        REQUIRED,
        "The console's client id at the staff identity provider (a public client with PKCE; "
        "required 'aud' of its ID tokens).",
    ),
    Setting(
        "CONSOLE_BASE_URL",
        "console",
        _url,
        REQUIRED,
        "Public base URL of the console (the redirect URI is this plus /staff/callback).",
    ),
    Setting(
        "CONSOLE_SESSION_KEY",
        "console",
        _key,
        REQUIRED,
        "Base64 key (>= 32 bytes) that signs the console's session and sign-in cookies.",
        secret=True,
    ),
    Setting(
        "CONSOLE_SESSION_IDLE_MINUTES",
        "console",
        _int(5, 240),
        30,
        "A console session ends after this long without a request.",
    ),
    Setting(
        "CONSOLE_SESSION_MAX_HOURS",
        "console",
        _int(1, 24),
        8,
        "A console session ends this long after sign-in, however active.",
    ),
)

SECTIONS = tuple(dict.fromkeys(s.section for s in SETTINGS))


class Settings:
    """Parsed settings of the validated sections; attribute names are the env names lowercased."""

    def __init__(self, values: Mapping[str, Any], sections: tuple[str, ...]):
        self._values = dict(values)
        self.sections = sections

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name.upper()]
        except KeyError:
            raise AttributeError(
                f"setting {name.upper()} is not in the validated sections {self.sections}"
            ) from None

    def __repr__(self) -> str:  # never print secrets
        shown = {
            s.env: ("***" if s.secret and self._values.get(s.env) else self._values.get(s.env))
            for s in SETTINGS
            if s.env in self._values
        }
        return f"Settings({shown})"


def load(
    sections: tuple[str, ...] | list[str],
    environ: Mapping[str, str] | None = None,
    common: bool = True,
) -> Settings:
    """Parses the common section (unless `common` is False) plus `sections`.

    Raises ConfigError naming every missing or malformed setting at once.
    """
    env = os.environ if environ is None else environ
    wanted = ("common", *sections) if common else tuple(sections)
    for section in wanted:
        if section not in SECTIONS:
            raise ConfigError(f"unknown configuration section {section!r}")
    values: dict[str, Any] = {}
    problems: list[str] = []
    for s in SETTINGS:
        if s.section not in wanted:
            continue
        raw = env.get(s.env)
        if raw is None or raw == "":
            if s.default is REQUIRED:
                problems.append(f"{s.env} is missing ({s.description})")
            else:
                values[s.env] = s.default
            continue
        try:
            values[s.env] = s.parse(raw)
        except ValueError as exc:
            problems.append(f"{s.env} {exc}")
    if (
        "db" in wanted
        and not problems
        and not values.get("CLOUD_SQL_INSTANCE")
        and values.get("DB_PASSWORD") is None
    ):
        problems.append("DB_PASSWORD is missing (needed when CLOUD_SQL_INSTANCE is not set)")
    if problems:
        raise ConfigError("Configuration is incomplete or invalid:\n  - " + "\n  - ".join(problems))
    return Settings(values, tuple(wanted))


_cache: dict[tuple[str, ...], Settings] = {}


def get(sections: tuple[str, ...]) -> Settings:
    """The validated settings for these sections, parsed once per instance."""
    key = tuple(sorted(set(sections)))
    found = _cache.get(key)
    if found is None:
        found = _cache[key] = load(key)
    return found


def reset() -> None:
    """Forgets parsed settings (tests change the environment between cases)."""
    _cache.clear()
