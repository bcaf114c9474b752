"""Settings: the package's configuration, read once at the edge and passed in.

The front ends build one :class:`Settings` when they start (the command line per command, the
web app in its factory) from the environment, an optional configuration file and their own
options, and pass it to building (``build_index(settings=…)``), searching
(``SearchEngine(settings=…)``) and serving (``create_app(settings=…)``). Library code never reads
the environment: an application embedding the engine passes what it wants.

Sources, later ones winning: defaults; the configuration file named by ``$CIVIC_SEARCH_CONFIG``
(a JSON object or a Python file of UPPERCASE names: ``INDEX_DIR``, ``EMBED_ORIGINS``, …); the
environment (``CIVIC_SEARCH_*``); the front end's own options (``overrides``, in the same
UPPERCASE names as the file). A configuration key ``KEY`` stands for the variable
``CIVIC_SEARCH_KEY`` (``INDEX_DIR`` for ``CIVIC_SEARCH_INDEX``), so each setting is parsed once,
from its variable's text.

Sections are small frozen dataclasses with a ``from_environ(environ)`` constructor. Another
part of the package adds its own section by adding one field to :class:`Settings` whose type
has ``from_environ``: :meth:`Settings.from_environ` builds every such field from the same merged
mapping (configuration file, environment, overrides).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import re
import shutil
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .errors import SettingsError

__all__ = [
    "AlertSettings",
    "AnalysisSettings",
    "IndexingSettings",
    "OfficeSettings",
    "PeopleSettings",
    "QuerySettings",
    "Settings",
    "WebSettings",
    "parse_origins",
    "settings_for",
    "normalise_prefix",
    "read_config_file",
]

ENV_PREFIX = "CIVIC_SEARCH_"
ENV_INDEX = "CIVIC_SEARCH_INDEX"
ENV_CONFIG = "CIVIC_SEARCH_CONFIG"
ENV_DEBUG = "CIVIC_SEARCH_DEBUG"
ENV_MAX_FILE_MB = "CIVIC_SEARCH_MAX_FILE_MB"
ENV_USER_DICT = "CIVIC_SEARCH_USER_DICT"
ENV_ALIASES = "CIVIC_SEARCH_ALIASES"
ENV_EMBED_ORIGINS = "CIVIC_SEARCH_EMBED_ORIGINS"
ENV_URL_PREFIX = "CIVIC_SEARCH_URL_PREFIX"
ENV_PEOPLE = "CIVIC_SEARCH_PEOPLE"

#: Configuration keys whose variable is not ``CIVIC_SEARCH_<KEY>``.
_KEY_VARIABLES = {"INDEX_DIR": ENV_INDEX}
#: Variables holding a list of paths (``os.pathsep`` between them); a list in a file joins so.
_PATH_LISTS = (ENV_USER_DICT, ENV_ALIASES, ENV_PEOPLE)

#: The Debian package that provides ``soffice`` without a desktop (named in skip reasons).
LIBREOFFICE_PACKAGE = "libreoffice-writer-nogui"

#: Files larger than this are refused (the largest real transcript is about 0.2 MB; parsing
#: takes about 7 bytes of memory per byte of file, indexing about 12).
MAX_FILE_MB = 20.0


def _paths(value: str | None) -> tuple[str, ...]:
    return tuple(p for p in (value or "").split(os.pathsep) if p.strip())


@dataclass(frozen=True)
class OfficeSettings:
    """Limits and tools for office documents (read once at the edge, passed down).

    ``soffice`` is the LibreOffice command (a name looked up on ``search_path``, or a path);
    None or "" means .doc files are skipped. ``search_path`` is the PATH to look it up on (None:
    the process's own, as a subprocess would).
    """

    soffice: str | None = "soffice"
    search_path: str | None = None
    convert_timeout: float = 120.0
    max_unpacked_mb: float = 256.0
    max_members: int = 10_000
    max_pages: int = 2_000

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> "OfficeSettings":
        """Settings from ``CIVIC_SEARCH_SOFFICE`` (command or path; ``none`` to disable),
        ``CIVIC_SEARCH_SOFFICE_TIMEOUT`` (seconds), ``CIVIC_SEARCH_MAX_UNPACKED_MB`` and
        ``CIVIC_SEARCH_MAX_PAGES``; invalid numbers keep the defaults."""
        defaults = cls()
        command = environ.get("CIVIC_SEARCH_SOFFICE", "").strip()
        return cls(
            soffice=None if command.lower() == "none" else (command or defaults.soffice),
            # None (the process's PATH) unless the mapping has one: Settings passes only the
            # CIVIC_SEARCH_ variables.
            search_path=environ.get("PATH"),
            convert_timeout=_number(environ, "CIVIC_SEARCH_SOFFICE_TIMEOUT", defaults.convert_timeout),
            max_unpacked_mb=_number(environ, "CIVIC_SEARCH_MAX_UNPACKED_MB", defaults.max_unpacked_mb),
            max_pages=int(_number(environ, "CIVIC_SEARCH_MAX_PAGES", defaults.max_pages)),
        )

    @property
    def max_unpacked_bytes(self) -> int:
        """The unpacked-size limit of an ODT or DOCX package in bytes."""
        return int(self.max_unpacked_mb * 2**20)

    def soffice_path(self) -> str | None:
        """The LibreOffice executable, or None when it is not installed."""
        if not self.soffice:
            return None
        return shutil.which(self.soffice, path=self.search_path)


def _number(environ: Mapping[str, str], name: str, default: float) -> float:
    try:
        value = float(environ.get(name) or default)
    except ValueError:
        return default
    return value if value > 0 else default


@dataclass(frozen=True)
class IndexingSettings:
    """How files are read for indexing."""

    #: Files larger than this many MB are skipped with that reason (``$CIVIC_SEARCH_MAX_FILE_MB``).
    max_file_mb: float = MAX_FILE_MB
    #: Limits for office documents, and where LibreOffice is (``.doc``).
    office: OfficeSettings = field(default_factory=OfficeSettings)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> "IndexingSettings":
        """A value that is not a positive number is ignored: the default applies."""
        try:
            megabytes = float(environ.get(ENV_MAX_FILE_MB) or MAX_FILE_MB)
        except ValueError:
            megabytes = MAX_FILE_MB
        return cls(max_file_mb=megabytes if megabytes > 0 else MAX_FILE_MB,
                   office=OfficeSettings.from_environ(environ))

    @property
    def max_file_bytes(self) -> int:
        """The size limit in bytes."""
        return int(self.max_file_mb * 2**20)


@dataclass(frozen=True)
class AnalysisSettings:
    """What shapes the index's words field."""

    #: jieba dictionary files added to the civic dictionary (``$CIVIC_SEARCH_USER_DICT``).
    user_dictionaries: tuple[str, ...] = ()

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> "AnalysisSettings":
        """From ``$CIVIC_SEARCH_USER_DICT`` (paths separated by ``os.pathsep``)."""
        return cls(user_dictionaries=_paths(environ.get(ENV_USER_DICT)))


@dataclass(frozen=True)
class QuerySettings:
    """How queries are read."""

    #: Alias files added to the bundled list (``$CIVIC_SEARCH_ALIASES``); read again when they
    #: change, so edits need no restart.
    alias_files: tuple[str, ...] = ()

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> "QuerySettings":
        """From ``$CIVIC_SEARCH_ALIASES`` (paths separated by ``os.pathsep``)."""
        return cls(alias_files=_paths(environ.get(ENV_ALIASES)))


@dataclass(frozen=True)
class PeopleSettings:
    """Who speaks: the person lists that correct the grouping of speaker labels into persons."""

    #: Person list files read after the bundled one (``$CIVIC_SEARCH_PEOPLE``); read again when
    #: they change, so edits need no restart and no re-index.
    person_files: tuple[str, ...] = ()

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> "PeopleSettings":
        """From ``$CIVIC_SEARCH_PEOPLE`` (paths separated by ``os.pathsep``)."""
        return cls(person_files=_paths(environ.get(ENV_PEOPLE)))


_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")


def parse_origins(value: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """Origins from a list or a string separated by spaces or commas; an invalid one raises
    SettingsError."""
    if not value:
        return ()
    items = re.split(r"[\s,]+", value) if isinstance(value, str) else list(value)
    origins: list[str] = []
    for item in items:
        item = str(item).strip().rstrip("/").lower()
        if not item:
            continue
        if not _ORIGIN.match(item):
            raise SettingsError(f"not an origin (scheme://host[:port]): {item!r}")
        if item not in origins:
            origins.append(item)
    return tuple(origins)


def normalise_prefix(prefix: str | None) -> str:
    """``search/`` or ``/search/`` → ``/search``; empty or ``/`` → no prefix."""
    prefix = (prefix or "").strip().strip("/")
    if not prefix:
        return ""
    if not re.fullmatch(r"[A-Za-z0-9._~\-/]+", prefix):
        raise SettingsError(f"URL_PREFIX may only hold letters, digits, '-', '_', '.', '~' and '/': {prefix!r}")
    return "/" + prefix


@dataclass(frozen=True)
class WebSettings:
    """How the web app is published."""

    #: Origins whose pages may frame ``/embed`` and call ``/api/*`` (``$CIVIC_SEARCH_EMBED_ORIGINS``).
    embed_origins: tuple[str, ...] = ()
    #: The path a reverse proxy publishes the app under (``$CIVIC_SEARCH_URL_PREFIX``).
    url_prefix: str = ""

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> "WebSettings":
        """Raises SettingsError for an origin or prefix that cannot be used."""
        return cls(
            embed_origins=parse_origins(environ.get(ENV_EMBED_ORIGINS)),
            url_prefix=normalise_prefix(environ.get(ENV_URL_PREFIX)),
        )


# --- alerts ------------------------------------------------------------------------------------

SMTP_SECURITY_MODES = ("auto", "none", "starttls", "tls")


@dataclass(frozen=True)
class AlertSettings:
    """What sending alerts and the web sign-up need (:mod:`indexer.alerts`): the SMTP server,
    the public address for links, the signing key, the sign-up rules. The defaults send nothing
    (no SMTP server, no base URL): an office sets them."""

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
    def from_environ(cls, environ: Mapping[str, str]) -> "AlertSettings":
        """From ``$CIVIC_SEARCH_<KEY>`` for each key of :data:`ALERT_KEYS`
        (``$CIVIC_SEARCH_SMTP_HOST``, ``$CIVIC_SEARCH_ALERT_DOMAINS``…); an empty or missing
        variable leaves the default. Raises SettingsError for a value that cannot be used."""
        changes = {name: environ[ENV_PREFIX + key] for key, name in ALERT_KEYS.items()
                   if str(environ.get(ENV_PREFIX + key, "")).strip()}
        return _checked_alerts(dataclasses.replace(cls(), **changes)) if changes else cls()

    def require_smtp(self) -> None:
        """Raise SettingsError unless e-mail can be sent."""
        if not self.smtp_host:
            raise SettingsError("no SMTP server configured: set CIVIC_SEARCH_SMTP_HOST (see the README, Alerts)")
        if not self.smtp_from:
            raise SettingsError("no sender address configured: set CIVIC_SEARCH_SMTP_FROM")

    def require_base_url(self) -> None:
        """Raise SettingsError unless the links in messages have a public address."""
        if not self.base_url:
            raise SettingsError(
                "no public address for the links in messages: set CIVIC_SEARCH_BASE_URL "
                "(e.g. https://search.example.gov.tw)"
            )


#: The alert settings: configuration key (``$CIVIC_SEARCH_<KEY>`` in the environment) → field.
ALERT_KEYS = {
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
_ALERT_NUMBERS = {
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
_ALERT_KEY_OF = {name: key for key, name in ALERT_KEYS.items()}


def _checked_alerts(settings: AlertSettings) -> AlertSettings:
    """``settings`` with numbers as numbers and text trimmed; SettingsError naming the key of a
    value out of range, not one line (a header could be injected), or not a URL."""
    changes: dict[str, Any] = {}
    for name, (kind, low, high) in _ALERT_NUMBERS.items():
        value = getattr(settings, name)
        try:
            number = kind(value)
        except (TypeError, ValueError):
            raise SettingsError(f"{_ALERT_KEY_OF[name]} must be a number, not {value!r}") from None
        if not low <= number <= high:
            raise SettingsError(f"{_ALERT_KEY_OF[name]} must be from {low} to {high}, not {value!r}")
        changes[name] = number
    security = str(settings.smtp_security).strip().lower()
    if security not in SMTP_SECURITY_MODES:
        raise SettingsError(f"SMTP_SECURITY must be one of none, starttls, tls (or auto), not {settings.smtp_security!r}")
    changes["smtp_security"] = security
    changes["base_url"] = str(settings.base_url).strip().rstrip("/")
    if changes["base_url"] and not changes["base_url"].startswith(("http://", "https://")):
        raise SettingsError(f"BASE_URL must start with http:// or https://, not {settings.base_url!r}")
    changes["allowed_domains"] = parse_domains(settings.allowed_domains)
    for name in ("smtp_host", "smtp_from", "smtp_user", "smtp_password", "secret_key"):
        text = str(getattr(settings, name))
        if any(c in text for c in "\r\n\x00"):
            raise SettingsError(f"{_ALERT_KEY_OF[name]} must be one line")
        changes[name] = text.strip() if name != "smtp_password" else text
    return dataclasses.replace(settings, **changes)


def parse_domains(value: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """``"example.gov.tw, city.gov.tw"`` (or a list) → lower-case domains without a leading @."""
    items = value.replace(",", " ").split() if isinstance(value, str) else list(value)
    return tuple(dict.fromkeys(str(d).strip().lstrip("@").lower() for d in items if str(d).strip()))


def default_index_dir() -> Path:
    """The per-user data directory's ``index`` folder."""
    from platformdirs import user_data_dir  # imported only when no index folder is given

    return Path(user_data_dir("civic-search", appauthor=False)) / "index"


@dataclass(frozen=True)
class Settings:
    """Everything configurable, in one object: the index folder and one section per concern."""

    index_dir: Path = field(default_factory=default_index_dir)
    #: Show the traceback of an unexpected error (``$CIVIC_SEARCH_DEBUG``).
    debug: bool = False
    indexing: IndexingSettings = field(default_factory=IndexingSettings)
    analysis: AnalysisSettings = field(default_factory=AnalysisSettings)
    query: QuerySettings = field(default_factory=QuerySettings)
    people: PeopleSettings = field(default_factory=PeopleSettings)
    web: WebSettings = field(default_factory=WebSettings)
    #: Alerts: SMTP, the public address for links, the signing key, the sign-up rules
    #: (``$CIVIC_SEARCH_SMTP_*``, ``$CIVIC_SEARCH_BASE_URL``, …; see :class:`AlertSettings`).
    alerts: AlertSettings = field(default_factory=AlertSettings)
    #: The configuration file read, if any, and all its UPPERCASE values (the web app also
    #: takes its own keys from it, such as MEETINGS_PER_PAGE).
    config_file: str | None = None
    file_config: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_environ(
        cls,
        environ: Mapping[str, str],
        *,
        config_file: str | os.PathLike | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> "Settings":
        """Settings from the environment (``os.environ`` at the edge), the configuration file
        (``config_file``, else ``$CIVIC_SEARCH_CONFIG``) under it and ``overrides`` (UPPERCASE
        configuration keys, e.g. ``{"INDEX_DIR": path}`` from ``--index``) over it.

        Raises SettingsError for a configuration file or value that cannot be used.
        """
        given = {k: v for k, v in environ.items() if k.startswith(ENV_PREFIX) and v != ""}
        path = config_file or given.get(ENV_CONFIG)
        file_config = read_config_file(path) if path else {}
        merged = {**config_as_environ(file_config), **given, **config_as_environ(overrides or {})}
        sections = {name: kind.from_environ(merged) for name, kind in _sections(cls).items()}
        index_dir = Path(merged[ENV_INDEX]) if merged.get(ENV_INDEX) else default_index_dir()
        return cls(
            index_dir=index_dir,
            debug=bool(merged.get(ENV_DEBUG, "").strip()),
            config_file=os.fspath(path) if path else None,
            file_config=file_config,
            **sections,
        )

    def replace(self, **changes: Any) -> "Settings":
        """A copy with ``changes`` (field values) applied."""
        return dataclasses.replace(self, **changes)


def settings_for(index_dir: str | os.PathLike | None, settings: Settings | None) -> Settings:
    """``settings`` (default: the defaults, not the environment) for ``index_dir`` when one is
    given: how the library's entry points take an index folder and settings together."""
    if settings is None:
        return Settings(index_dir=Path(index_dir)) if index_dir is not None else Settings()
    return settings.replace(index_dir=Path(index_dir)) if index_dir is not None else settings


@functools.lru_cache(maxsize=None)
def _sections(cls: type) -> dict[str, type]:
    """The fields of ``cls`` whose type has a ``from_environ`` constructor: its sections."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if hasattr(hints[f.name], "from_environ")}


def config_as_environ(values: Mapping[str, Any]) -> dict[str, str]:
    """UPPERCASE configuration keys as the variables they stand for, values as text.

    Lists are joined the way the variable separates them (``os.pathsep`` for path lists, a
    space otherwise); values that are not text, numbers, paths or lists (an opened engine)
    stand for no variable and are left out.
    """
    out: dict[str, str] = {}
    for key, value in values.items():
        if not isinstance(key, str) or not key.isupper() or value is None:
            continue
        variable = _KEY_VARIABLES.get(key, ENV_PREFIX + key)
        if isinstance(value, bool):
            text = "1" if value else ""
        elif isinstance(value, (str, int, float, os.PathLike)):
            text = os.fspath(value) if isinstance(value, os.PathLike) else str(value)
        elif isinstance(value, (list, tuple)):
            separator = os.pathsep if variable in _PATH_LISTS else " "
            text = separator.join(os.fspath(v) if isinstance(v, os.PathLike) else str(v) for v in value)
        else:
            continue
        out[variable] = text
    return out


def read_config_file(path: str | os.PathLike) -> dict[str, Any]:
    """The UPPERCASE values of a JSON file (an object) or a Python file; SettingsError when it
    cannot be read."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".json":
            with open(path, encoding="utf-8") as stream:
                data = json.load(stream)
            if not isinstance(data, dict):
                raise SettingsError(f"{path}: the configuration must be a JSON object")
        else:
            data = {}
            code = compile(path.read_bytes(), str(path), "exec")
            exec(code, {"__file__": str(path.resolve())}, data)  # as Flask's from_pyfile does
    except SettingsError:
        raise
    except OSError as err:
        raise SettingsError(f"cannot read the configuration file {path}: {err.strerror or err}") from None
    except Exception as err:  # a Python file runs: whatever it raises is a bad configuration
        raise SettingsError(f"{path}: not a valid configuration file ({type(err).__name__}: {err})") from None
    return {k: v for k, v in data.items() if isinstance(k, str) and k.isupper()}
