"""E-mail alerts on the web: sign up for a search, confirm by e-mail, unsubscribe.

Routes (under the app's URL prefix, if any):

``GET /alerts/subscribe?q=…&speaker=&since=&until=&aliases=``
    The ways to follow a search: the Atom feed, and a form for e-mail alerts.
``POST /alerts/subscribe``
    The form (CSRF-protected by Flask-WTF): saves a pending watch and e-mails a confirmation
    link (double opt-in). Refused with a page saying why: an invalid query or address, a domain
    outside the allow-list (400), too many sign-ups from the address or the client (429).
``GET /alerts/confirm/<token>``
    Confirms the sign-up the signed, expiring link names. A forged or expired link: 400.
``GET /alerts/unsubscribe/<token>``, ``POST /alerts/unsubscribe/<token>``
    A page with a button; the POST (also RFC 8058's one-click POST from a mail program, which
    carries no CSRF token: the signed link is the credential) removes the watch.

The blueprint is registered by the app factory like every other; on registration it installs
CSRF protection and the session cookie that carries the form's token. Its settings are the
``alerts`` section of the app's one :class:`~indexer.settings.Settings`. The alerts database and
the secret key live beside the index, so every ``serve --workers`` process shares them, and the
rate limits are kept in that database for the same reason. Every answer is a page (the
one-click unsubscribe POST of a mail program reads only the status), so the blueprint keeps the
app's HTML error pages and adds its own for its errors.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect

from indexer.alerts import (
    AddressInvalid,
    AlertSettings,
    AlertStoreError,
    DomainNotAllowed,
    RateLimited,
    TokenExpired,
    TokenInvalid,
    confirm,
    open_store,
    secret_for,
    sign_up,
    unsubscribe,
    unsubscription,
)
from indexer.alerts.compose import Links, valid_days
from indexer.alerts.service import check_query
from indexer.errors import QueryError, SettingsError

from .helpers import EXTENSION, get_engine, get_settings, query_error_message
from .params import SearchParams

bp = Blueprint("alerts", __name__, url_prefix="/alerts")
csrf = CSRFProtect()
MAX_EMAIL_FIELD = 320


@bp.record_once
def _set_up(state) -> None:
    """Install CSRF protection (checked in this blueprint only) and the session cookie that
    carries the form's token, when the app factory registers the blueprint."""
    app = state.app
    settings = app.extensions[EXTENSION].settings.alerts
    # Only this blueprint's forms take POST: other routes keep answering 405 for it.
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    # Flask's defaults are there already: only tighten what the configuration left as default.
    app.config["SESSION_COOKIE_SAMESITE"] = app.config.get("SESSION_COOKIE_SAMESITE") or "Lax"
    if app.config.get("SESSION_COOKIE_NAME") == "session":
        app.config["SESSION_COOKIE_NAME"] = "civic_search_session"
    # The CSRF cookie only travels over HTTPS when the site's public address is HTTPS.
    app.config["SESSION_COOKIE_SECURE"] = bool(app.config.get("SESSION_COOKIE_SECURE")
                                               or settings.base_url.startswith("https://"))
    # One key signs the links and the form's session: the configured one (the settings put the
    # environment over the file), else the one generated beside the database on first use.
    if settings.secret_key:
        app.secret_key = settings.secret_key
    app.session_interface = AlertsSessionInterface()
    csrf.init_app(app)


def _settings() -> AlertSettings:
    return get_settings().alerts


def _secret() -> str:
    return secret_for(get_settings().index_dir, _settings())


class AlertsSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, with the secret key read (or made) beside the database
    on the first request to an alerts page: the session only carries the sign-up form's CSRF
    token, and a site where nobody signs up never writes a key."""

    def open_session(self, app, request):
        if not app.secret_key and self._needs_key(app, request):
            with app.app_context():
                app.secret_key = _secret()
        return super().open_session(app, request)

    def _needs_key(self, app, request) -> bool:
        # Showing the form issues a CSRF token; a request with a session cookie may check one.
        # Anything else (a POST without the cookie fails its CSRF check anyway) writes nothing.
        showing_form = request.method == "GET" and request.path == bp.url_prefix + "/subscribe"
        return showing_form or self.get_cookie_name(app) in request.cookies


def _links() -> Links:
    """Links in messages: the configured public address, else this request's own root."""
    return Links(_settings().base_url or url_for("views.index", _external=True).rstrip("/"))


def _store():
    return open_store(get_settings().index_dir)


def _page(template: str, code: int = 200, **context):
    return render_template(template, **context), code


def _message(status: int, title: str, message: str, **context):
    return _page("alerts_message.html", status, status=status, title=title, message=message, **context)


def _form(params: SearchParams, status: int = 200, error: str = "", email: str = ""):
    settings = _settings()
    return _page("alerts_subscribe.html", status, params=params, error=error, email=email, days=_days(settings),
                 domains=settings.allowed_domains, email_ready=bool(settings.smtp_host and settings.smtp_from))


def _days(settings: AlertSettings) -> int:
    return valid_days(settings.confirm_max_age)


@bp.errorhandler(CSRFError)
def csrf_error(err):
    return _message(400, "表單已失效", "這個表單已過期或不是從本站送出，請回到訂閱頁面重新填寫。")


@bp.errorhandler(AlertStoreError)
def store_error(err):
    current_app.logger.error("alerts database unavailable: %s", err)
    return _message(503, "訂閱服務暫時無法使用", "請稍後再試；若問題持續，請通知管理員。")


@bp.errorhandler(TokenExpired)
def token_expired(err):
    return _message(400, "連結已過期", "這個確認連結已經過期，請回到搜尋結果重新訂閱。")


@bp.errorhandler(TokenInvalid)
def token_invalid(err):
    return _message(400, "連結無效", "這個連結無效或已經用過（可能複製不完整，或訂閱已經取消）。")


@bp.get("/subscribe")
def subscribe_form():
    """Offer the ways to follow a search: e-mail alerts and the Atom feed."""
    params = SearchParams.from_args(request.args)
    if not params.q:
        return _message(200, "訂閱搜尋", "請先搜尋，再從結果頁的「訂閱」連結訂閱那個搜尋。")
    try:
        check_query(params.q, params.speaker, params.since, params.until)
    except QueryError as err:
        return _form(params, 400, error=f"無法解讀這個查詢：{query_error_message(err)}")
    return _form(params)


@bp.post("/subscribe")
def subscribe():
    """Save a pending e-mail alert and send its confirmation link."""
    if not current_app.secret_key:  # no form was ever shown by this site: there is no session
        raise CSRFError("The CSRF session token is missing.")
    csrf.protect()
    params = SearchParams.from_args(request.form)
    email = request.form.get("email", "")[:MAX_EMAIL_FIELD]
    settings = _settings()
    if not params.q:
        return _message(400, "沒有查詢", "請先搜尋，再從結果頁的「訂閱」連結訂閱那個搜尋。")
    with _store() as store:
        try:
            result = sign_up(
                get_engine(), store, settings, _secret(), _links(), query=params.q, speaker=params.speaker,
                since=params.since, until=params.until, aliases=params.aliases, email=email,
                client=request.remote_addr or "unknown",
            )
        except QueryError as err:
            return _form(params, 400, error=f"無法解讀這個查詢：{query_error_message(err)}", email=email)
        except DomainNotAllowed as err:
            allowed = "、".join(f"@{d}" for d in err.domains)
            return _form(params, 400, error=f"這個網站只接受以下網域的電子郵件地址：{allowed}。", email=email)
        except AddressInvalid:
            return _form(params, 400, error="請輸入一個有效的電子郵件地址（例如 name@example.gov.tw）。", email=email)
        except RateLimited as err:
            who = "這個電子郵件地址" if err.bucket == "address" else "您的網路位址"
            body, status = _message(429, "申請次數太多", f"{who}短時間內申請了太多次訂閱，請稍後再試。")
            return body, status, {"Retry-After": str(settings.rate_window)}
        except SettingsError:
            current_app.logger.error("e-mail alerts are not configured (CIVIC_SEARCH_SMTP_HOST, _FROM)")
            return _message(503, "電子郵件通知尚未開放", "這個網站尚未設定寄信伺服器，請改用 Atom 動態消息，或通知管理員。")
    if result.error:
        current_app.logger.warning("confirmation e-mail queued: %s", result.error)
    return _page("alerts_sent.html", params=params, email=result.watch.email, days=_days(settings),
                 delivered=result.delivered or result.already)


@bp.get("/confirm/<token>")
def confirm_link(token: str):
    """Confirm an e-mail alert (the link in the confirmation e-mail)."""
    settings = _settings()
    with _store() as store:
        watch = confirm(get_engine(), store, _secret(), token, settings.confirm_max_age)
    params = SearchParams(q=watch.query, speaker=watch.speaker, since=watch.since, until=watch.until,
                          aliases=watch.aliases)
    return _message(200, "已確認訂閱", f"之後新收錄的會議提到這個搜尋時，我們會寄信到 {watch.email}。"
                    "每封通知信都附有取消訂閱的連結。", params=params)


@bp.get("/unsubscribe/<token>")
def unsubscribe_page(token: str):
    """Ask before unsubscribing (mail scanners open links; only the button's POST removes)."""
    with _store() as store:
        _, owner, watch = unsubscription(store, _secret(), token)
    if watch is None:
        return _message(200, "已取消訂閱", "這個訂閱已經取消，不會再收到通知。")
    return _page("alerts_unsubscribe.html", watch=watch, token=token)


# No CSRF token here: a mail program's one-click POST cannot have one; the signed link is
# the credential (and the app checks CSRF only where this blueprint calls csrf.protect()).
@bp.post("/unsubscribe/<token>")
def unsubscribe_now(token: str):
    """Remove the watch (the page's button, or a mail program's one-click POST)."""
    with _store() as store:
        unsubscribe(store, _secret(), token)
    return _message(200, "已取消訂閱", "這個訂閱已經取消，不會再收到通知。")
