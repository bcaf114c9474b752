"""Signed links: confirming a sign-up and unsubscribing, without accounts or logins.

A token is the watch id and its e-mail address (or webhook), signed with the secret key by
itsdangerous (``URLSafeTimedSerializer``, one salt per purpose, so a confirmation token cannot
unsubscribe and the other way round). Confirmation tokens expire; unsubscribe tokens do not, so
that the link in an old message still works.

The secret key comes from the configuration; without one, a key is generated once and kept in
:data:`SECRET_NAME` beside the alerts database (mode 0600), so that links survive restarts and
every web worker process and ``alerts send`` sign with the same key.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from ..errors import CivicSearchError

SECRET_NAME = "alerts-secret.key"
CONFIRM = "civic-search.alerts.confirm"
UNSUBSCRIBE = "civic-search.alerts.unsubscribe"


class TokenInvalid(CivicSearchError):
    """A link whose signature does not match (forged, truncated or for another purpose)."""


class TokenExpired(TokenInvalid):
    """A correctly signed confirmation link that is too old."""


def load_secret(index_dir: str | os.PathLike, configured: str = "") -> str:
    """The configured key, else the one kept beside the database (created on first use)."""
    if configured:
        return configured
    path = Path(index_dir) / SECRET_NAME
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    key = secrets.token_urlsafe(48)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: when two workers start at once, one creates the key and both use it.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_when_written(path)
    except OSError as err:
        raise CivicSearchError(f"cannot create the secret key {path} ({err.strerror or err})") from None
    with os.fdopen(fd, "w", encoding="ascii") as stream:
        stream.write(key + "\n")
        stream.flush()
        os.fsync(stream.fileno())
    return key


def _read_when_written(path: Path) -> str:
    # Another process created the file a moment ago and may still be writing the key.
    for _ in range(50):
        try:
            return _read(path)
        except CivicSearchError:
            time.sleep(0.02)
    return _read(path)


def _read(path: Path) -> str:
    try:
        key = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        raise  # the caller creates it
    except (OSError, UnicodeError) as err:
        raise CivicSearchError(f"cannot read the secret key {path} ({err})") from None
    if len(key) < 32:
        # Possibly a key being written by another process right now; never replace it.
        raise CivicSearchError(f"the secret key {path} is empty or too short; remove it to make a new one")
    return key


def make_token(secret: str, purpose: str, watch_id: int, address: str) -> str:
    return URLSafeTimedSerializer(secret, salt=purpose).dumps([watch_id, address])


def read_token(secret: str, purpose: str, token: str, max_age: int | None = None) -> tuple[int, str]:
    """(watch id, address) from a token; TokenExpired / TokenInvalid otherwise."""
    serializer = URLSafeTimedSerializer(secret, salt=purpose)
    try:
        data = serializer.loads(token, max_age=max_age)
    except SignatureExpired:
        raise TokenExpired("this link has expired") from None
    except (BadSignature, UnicodeError, ValueError):
        raise TokenInvalid("this link is not valid") from None
    if (not isinstance(data, list) or len(data) != 2 or not isinstance(data[0], int)
            or not isinstance(data[1], str)):
        raise TokenInvalid("this link is not valid")
    return data[0], data[1]
