"""One error shape: JSON for the API, the downloads and the feeds, a page in Chinese elsewhere.

A blueprint that answers in JSON installs its own handlers with :func:`install_json_errors`, so
errors raised in its views come back as ``{"ok": false, "error": "…", "status": N}``. The app's
handlers (:func:`register_error_pages`) render the HTML pages; for errors raised before a route
was found (an unknown address: 404, a method the route does not take: 405) they ask which
blueprint the address belongs to (its route, or its URL prefix), and answer as that blueprint
would.
"""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException

from indexer.errors import BadParameter, CivicSearchError, MeetingNotFound, QueryError, SourceUnavailable

from .helpers import query_error_message

#: The message of each HTTP error in the JSON shape.
HTTP_MESSAGES = {404: "not found", 405: "method not allowed", 500: "internal error"}
INDEX_UNAVAILABLE = "the search index is not available; try again later or tell the administrator"


def json_error(message: str, status: int):
    """The one JSON error shape, with that HTTP status."""
    response = jsonify({"ok": False, "error": message, "status": status})
    response.status_code = status
    return response


def _allow(response, err):
    if getattr(err, "valid_methods", None):  # a 405 must say what is allowed (RFC 9110)
        response.headers["Allow"] = ", ".join(sorted(err.valid_methods))
    return response


def _index_unavailable(err: CivicSearchError) -> None:
    # The message names the index folder: logged, never shown.
    current_app.logger.error("search engine unavailable: %s", err)


def _json_http_error(err: HTTPException):
    status = err.code or 500
    return _allow(json_error(HTTP_MESSAGES.get(status, err.name.lower()), status), err)


def install_json_errors(bp: Blueprint) -> Blueprint:
    """Answer every error raised in ``bp``'s views in the JSON shape."""
    bp.json_errors = True  # read by the app's handlers for errors before routing (see above)

    @bp.errorhandler(BadParameter)
    def bad_parameter(err):
        return json_error(str(err), 400)

    @bp.errorhandler(QueryError)
    def query_error(err):
        return json_error(f"invalid query: {err}", 400)

    @bp.errorhandler(MeetingNotFound)
    def meeting_not_found(err):
        return json_error(str(err), 404)

    @bp.errorhandler(SourceUnavailable)
    def source_unavailable(err):
        current_app.logger.warning("source file unavailable: %s", err)
        return json_error(str(err), 410)

    @bp.errorhandler(CivicSearchError)
    def service_error(err):
        _index_unavailable(err)
        return json_error(INDEX_UNAVAILABLE, 503)

    # By code too: the app's handlers for these codes come before any handler by class.
    for code in HTTP_MESSAGES:
        bp.register_error_handler(code, _json_http_error)
    bp.register_error_handler(HTTPException, _json_http_error)
    return bp


def _routed_blueprint() -> Blueprint | None:
    """The blueprint the request's address belongs to, also when routing failed."""
    app = current_app
    name = request.blueprint
    if name is None:
        try:
            endpoint, _ = app.url_map.bind_to_environ(request.environ).match(method="GET")
            name = endpoint.rpartition(".")[0]
        except HTTPException:  # no route for the address: is it under a blueprint's prefix?
            name = next((n for n, bp in app.blueprints.items()
                         if bp.url_prefix and (request.path + "/").startswith(bp.url_prefix + "/")), None)
    return app.blueprints.get(name) if name else None


def _wants_json() -> bool:
    return getattr(_routed_blueprint(), "json_errors", False)


def _error_page(status: int, title: str, message: str):
    return render_template("error.html", status=status, title=title, message=message), status


def register_error_pages(app: Flask) -> None:
    """The HTML error pages, and JSON for routing errors at a JSON blueprint's addresses."""

    @app.errorhandler(MeetingNotFound)
    def meeting_not_found(err):
        return _error_page(404, "找不到這場會議", "這個會議編號不存在，可能已被移除或網址有誤。")

    @app.errorhandler(SourceUnavailable)
    def source_unavailable(err):
        current_app.logger.warning("source file unavailable: %s", err)
        return _error_page(410, "原始檔案無法提供", "這場會議的原始檔案已被移除，或在建立索引後被修改過；請重新建立索引。")

    @app.errorhandler(QueryError)
    def query_error(err):
        return _error_page(400, "無法解讀這個查詢", query_error_message(err))

    @app.errorhandler(BadParameter)
    def bad_parameter(err):
        return _error_page(400, "無法解讀這個查詢", str(err))

    @app.errorhandler(CivicSearchError)
    def service_error(err):
        _index_unavailable(err)
        return _error_page(503, "搜尋服務暫時無法使用", "索引尚未建立或無法讀取，請稍後再試或通知管理員。")

    @app.errorhandler(404)
    def not_found(err):
        if _wants_json():
            return _json_http_error(err)
        return _error_page(404, "找不到這個頁面", "網址可能有誤，或頁面已被移除。")

    @app.errorhandler(405)
    def method_not_allowed(err):
        if _wants_json():
            return _json_http_error(err)
        # Name what the address takes: GET for most pages, also POST for the alerts' forms.
        methods = sorted(set(getattr(err, "valid_methods", None) or ["GET"]) - {"HEAD", "OPTIONS"})
        message = f"這個網址只接受 {'、'.join(methods)} 請求。"
        return _allow(make_response(_error_page(405, "不支援這個操作", message)), err)

    @app.errorhandler(500)
    def server_error(err):
        if _wants_json():
            return _json_http_error(err)
        return _error_page(500, "系統發生錯誤", "請稍後再試；若問題持續，請通知管理員。")
