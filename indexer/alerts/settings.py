"""Alert settings: SMTP, public links, the signing key and the sign-up rules, read once at the edge.

The CLI and the web app build one :class:`AlertSettings` with :meth:`AlertSettings.from_environ`
and pass it down; nothing below them reads the environment. A configuration file (JSON, or a
Python file of UPPERCASE names: the web app's ``$CIVIC_SEARCH_CONFIG``) may add to the
environment, which wins where both give a value: a password can live in a file only root reads
rather than in a cron line.
"""

from __future__ import annotations

import json
import runpy
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from ..errors import CivicSearchError

ENV_CONFIG = "CIVIC_SEARCH_CONFIG"
SECURITY_MODES = ("auto", "none", "starttls", "tls")

#: Environment variable -> configuration-file key.
ENVIRONMENT = {
    "CIVIC_SEARCH_SMTP_HOST": "SMTP_HOST",
    "CIVIC_SEARCH_SMTP_PORT": "SMTP_PORT",
    "CIVIC_SEARCH_SMTP_FROM": "SMTP_FROM",
    "CIVIC_SEARCH_SMTP_USER": "SMTP_USER",
    "CIVIC_SEARCH_SMTP_PASSWORD": "SMTP_PASSWORD",
    "CIVIC_SEARCH_SMTP_SECURITY": "SMTP_SECURITY",
    "CIVIC_SEARCH_BASE_URL": "BASE_URL",
    "CIVIC_SEARCH_SECRET_KEY": "SECRET_KEY",
    "CIVIC_SEARCH_ALERT_DOMAINS": "ALERT_DOMAINS",
}


class SettingsError(CivicSearchError):
    """A configuration value that cannot be used (named in the message)."""


@dataclass(frozen=True)
class AlertSettings:
    """Everything sending and signing up needs; defaults suit a test machine, not an office."""

    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = ""
    smtp_user: str = ""
    smtp_password: str = field(default="", repr=False)
    #: ``auto`` (STARTTLS when the server offers it), ``none``, ``starttls`` (required) or ``tls``.
    smtp_security: str = "auto"
    smtp_timeout: float = 30.0
    #: The public address of the web app, URL prefix included (links in messages).
    base_url: str = ""
    #: Signs confirmation and unsubscribe links; empty: a key generated once beside the database.
    secret_key: str = field(default="", repr=False)
    #: E-mail domains the web sign-up accepts (empty: any); subdomains are not included.
    allowed_domains: tuple[str, ...] = ()
    #: Passages listed in one message (the count covers them all).
    max_passages: int = 10
    webhook_timeout: float = 10.0
    webhook_attempts: int = 3
    #: Web sign-ups per address and per client address within ``rate_window`` seconds.
    address_limit: int = 3
    client_limit: int = 10
    rate_window: int = 3600
    #: How long a confirmation link stays valid, in seconds.
    confirm_max_age: int = 3 * 24 * 3600

    @classmethod
    def from_environ(cls, environ: Mapping[str, str], config_file: str | Path | None = None) -> "AlertSettings":
        """Settings from ``environ``, added to the configuration file ``config_file`` (default:
        the one ``$CIVIC_SEARCH_CONFIG`` names, if any). Raises SettingsError for bad values."""
        config_file = config_file or environ.get(ENV_CONFIG) or None
        values: dict[str, Any] = dict(read_config_file(config_file)) if config_file else {}
        for env_name, key in ENVIRONMENT.items():
            if environ.get(env_name, "").strip():
                values[key] = environ[env_name]
        return cls.from_mapping(values)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> "AlertSettings":
        """Settings from configuration keys (``SMTP_HOST``, ``BASE_URL``, ``ALERT_DOMAINS``…)."""
        settings = cls()
        changes: dict[str, Any] = {}
        for key, name in _KEYS.items():
            if key in values and values[key] not in (None, ""):
                changes[name] = values[key]
        return _checked(replace(settings, **changes)) if changes else settings

    def require_smtp(self) -> None:
        """Raise SettingsError unless e-mail can be sent."""
        if not self.smtp_host:
            raise SettingsError("no SMTP server configured: set CIVIC_SEARCH_SMTP_HOST (see the README, Alerts)")
        if not self.smtp_from:
            raise SettingsError("no sender address configured: set CIVIC_SEARCH_SMTP_FROM")

    def require_base_url(self) -> None:
        if not self.base_url:
            raise SettingsError(
                "no public address for the links in messages: set CIVIC_SEARCH_BASE_URL "
                "(e.g. https://search.example.gov.tw)"
            )


_KEYS = {
    "SMTP_HOST": "smtp_host",
    "SMTP_PORT": "smtp_port",
    "SMTP_FROM": "smtp_from",
    "SMTP_USER": "smtp_user",
    "SMTP_PASSWORD": "smtp_password",
    "SMTP_SECURITY": "smtp_security",
    "SMTP_TIMEOUT": "smtp_timeout",
    "BASE_URL": "base_url",
    "SECRET_KEY": "secret_key",
    "ALERT_DOMAINS": "allowed_domains",
    "ALERT_MAX_PASSAGES": "max_passages",
    "ALERT_WEBHOOK_TIMEOUT": "webhook_timeout",
    "ALERT_WEBHOOK_ATTEMPTS": "webhook_attempts",
    "ALERT_ADDRESS_LIMIT": "address_limit",
    "ALERT_CLIENT_LIMIT": "client_limit",
    "ALERT_RATE_WINDOW": "rate_window",
    "ALERT_CONFIRM_MAX_AGE": "confirm_max_age",
}
_NUMBERS = {
    "smtp_port": (int, 1, 65535),
    "smtp_timeout": (float, 0.1, 600),
    "max_passages": (int, 1, 100),
    "webhook_timeout": (float, 0.1, 600),
    "webhook_attempts": (int, 1, 10),
    "address_limit": (int, 1, 10_000),
    "client_limit": (int, 1, 100_000),
    "rate_window": (int, 1, 30 * 24 * 3600),
    "confirm_max_age": (int, 60, 365 * 24 * 3600),
}
_KEY_OF = {name: key for key, name in _KEYS.items()}


def _checked(settings: AlertSettings) -> AlertSettings:
    changes: dict[str, Any] = {}
    for name, (kind, low, high) in _NUMBERS.items():
        value = getattr(settings, name)
        try:
            number = kind(value)
        except (TypeError, ValueError):
            raise SettingsError(f"{_KEY_OF[name]} must be a number, not {value!r}") from None
        if not low <= number <= high:
            raise SettingsError(f"{_KEY_OF[name]} must be from {low} to {high}, not {value!r}")
        changes[name] = number
    security = str(settings.smtp_security).strip().lower()
    if security not in SECURITY_MODES:
        raise SettingsError(f"SMTP_SECURITY must be one of none, starttls, tls (or auto), not {settings.smtp_security!r}")
    changes["smtp_security"] = security
    changes["base_url"] = str(settings.base_url).strip().rstrip("/")
    if changes["base_url"] and not changes["base_url"].startswith(("http://", "https://")):
        raise SettingsError(f"BASE_URL must start with http:// or https://, not {settings.base_url!r}")
    changes["allowed_domains"] = parse_domains(settings.allowed_domains)
    for name in ("smtp_host", "smtp_from", "smtp_user", "smtp_password", "secret_key"):
        text = str(getattr(settings, name))
        if any(c in text for c in "\r\n\x00"):
            raise SettingsError(f"{_KEY_OF[name]} must be one line")
        changes[name] = text.strip() if name != "smtp_password" else text
    return replace(settings, **changes)


def parse_domains(value: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """``"example.gov.tw, city.gov.tw"`` (or a list) → lower-case domains without a leading @."""
    items = value.replace(",", " ").split() if isinstance(value, str) else list(value)
    return tuple(dict.fromkeys(str(d).strip().lstrip("@").lower() for d in items if str(d).strip()))


def read_config_file(path: str | Path) -> dict[str, Any]:
    """UPPERCASE keys of a JSON object or of a Python file; SettingsError naming the file."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise SettingsError(f"{path}: the configuration must be a JSON object")
        else:
            data = runpy.run_path(str(path))
    except OSError as err:
        raise SettingsError(f"cannot read the configuration file {path} ({err.strerror or err})") from None
    except (ValueError, SyntaxError) as err:
        raise SettingsError(f"the configuration file {path} is not valid ({err})") from None
    return {k: v for k, v in data.items() if isinstance(k, str) and k.isupper()}
