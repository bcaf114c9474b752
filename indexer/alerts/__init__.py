"""Saved searches and alerts: "tell me when a new meeting says my phrase".

Vocabulary
----------
watch
    A saved search (query and filters, as ``civic-search search`` takes them) with where its
    alerts go: an e-mail address, a webhook, or both. Watches added on the command line are
    active at once; a web sign-up is *pending* until its e-mail address confirms it.
new meeting
    For a watch, a meeting version (meeting id and content hash) the index did not hold when
    the watch was last notified: a new file, or a changed one.
alert
    One message per watch and channel about its new meetings: the count and the first passages
    with speaker, date, meeting title and a link to the turn.
outbox
    Alerts and confirmation messages waiting to be delivered; a failed delivery stays there for
    the next run.

Modules: :mod:`.store` (the SQLite database), :mod:`.detect` (new meetings and their hits),
:mod:`.compose` (messages), :mod:`.deliver` (SMTP, webhooks), :mod:`.tokens` (signed links),
:mod:`.service` (the API the CLI and the web call). Their settings are
:class:`indexer.settings.AlertSettings`, the ``alerts`` section of the one ``Settings``.
"""

from ..settings import AlertSettings
from .service import (
    AddressInvalid,
    AlertError,
    DomainNotAllowed,
    RateLimited,
    SendReport,
    SignUp,
    add_watch,
    confirm,
    open_store,
    secret_for,
    send_alerts,
    sign_up,
    unsubscribe,
    unsubscription,
)
from .store import AlertStore, AlertStoreError, Watch
from .tokens import TokenExpired, TokenInvalid

__all__ = [
    "AddressInvalid",
    "AlertError",
    "AlertSettings",
    "AlertStore",
    "AlertStoreError",
    "DomainNotAllowed",
    "RateLimited",
    "SendReport",
    "SignUp",
    "TokenExpired",
    "TokenInvalid",
    "Watch",
    "add_watch",
    "confirm",
    "open_store",
    "secret_for",
    "send_alerts",
    "sign_up",
    "unsubscribe",
    "unsubscription",
]
