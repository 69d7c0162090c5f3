"""Errors of the console: JSON ``{"detail": "…"}`` under ``/api/``, a Chinese error page elsewhere; never a
stack trace.

* :class:`.data.common.DataNotFound` → 404, :class:`.data.common.BadParameter` → 422;
* the ledger's errors keep their statuses (:func:`qingshan.ledger.api.install_error_handlers`);
* FastAPI's request validation (a non-integer ``year`` …) → 422 with a Chinese message naming the parameter;
* anything unexpected → 500 "服务器内部错误" (the traceback goes to the server log only).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from .api.response import ConsoleJSON
from .data.common import BadParameter, DataNotFound
from .pages.render import render_plain

log = logging.getLogger(__name__)

TITLES = {400: "请求有误", 401: "需要登录", 403: "无权访问", 404: "页面不存在", 405: "不支持的请求方法",
          409: "操作冲突", 413: "请求过大", 415: "文件类型不支持", 422: "参数有误", 429: "请求过于频繁",
          500: "服务器内部错误"}
#: Starlette's and FastAPI's English details, said in Chinese
ENGLISH = {"Not Found": "您访问的页面或接口不存在", "Method Not Allowed": "不支持该请求方法",
           "There was an error parsing the body": "请求体无法解析（格式有误或嵌套过深）",
           "Content Too Large": "请求体过大", "Unsupported Media Type": "不支持的请求体类型（Content-Type）"}
PARAM_NAMES = {"year": "年份", "offset": "偏移量", "limit": "条数", "page": "页码"}
LOCATIONS = {"query": "查询参数", "path": "路径参数", "body": "请求体", "header": "请求头", "cookie": "Cookie"}


ERROR_SCHEMA = {"title": "Error", "type": "object", "required": ["detail"],
                "properties": {"detail": {"type": "string", "description": "原因（中文）"}}}


#: the operations that check a password and count wrong ones towards the sign-in throttle
SIGN_IN_CHECKS = frozenset({"/api/v1/auth/token", "/api/v1/auth/password"})


def document_errors(app: FastAPI) -> None:
    """Declare in the OpenAPI schema the error answers every operation can give — all ``{"detail": "…"}``, Chinese
    text (FastAPI's own 422 declares a list of validation errors, which the console never sends):

    400 malformed request, 404, 422 bad parameter everywhere; 401/403 where a caller is identified (the operation
    has a security requirement); 413 where there is a request body; 409 for the ledger's writes; 415 for uploads;
    429 where a password is checked (sign-in and change of password, both throttled)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        ref = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        for path, item in schema.get("paths", {}).items():
            for method, op in item.items():
                codes = {400, 404, 422}
                if op.get("security"):
                    codes |= {401, 403}
                body = op.get("requestBody", {}).get("content", {})
                if body:
                    codes.add(413)
                if "multipart/form-data" in body:
                    codes.add(415)
                if path.startswith("/api/v1/ledger/") and method != "get":
                    codes.add(409)
                if path in SIGN_IN_CHECKS:
                    codes |= {401, 429}
                responses = op.setdefault("responses", {})
                for code in sorted(codes):
                    responses[str(code)] = {"description": TITLES.get(code, "出错了"), **ref}
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def error_page(request: Request, status: int, detail: str, headers: dict[str, str] | None = None) -> Response:
    if wants_json(request):
        return ConsoleJSON({"detail": detail}, status_code=status, headers=headers)
    page_headers = {k: v for k, v in (headers or {}).items() if k.lower() != "www-authenticate"}
    resp = render_plain("error.html", status, status=status, title=TITLES.get(status, "出错了"), detail=detail,
                        login_hint=status in (401, 403), next=request.url.path)
    resp.headers.update(page_headers)
    return resp


def _validation_text(exc: RequestValidationError) -> str:
    parts = []
    for e in exc.errors():
        loc = [str(x) for x in e.get("loc", ())]
        where = LOCATIONS.get(loc[0], loc[0]) if loc else "参数"
        name = ".".join(loc[1:]) or "?"
        if name in PARAM_NAMES:
            name = f"{name}（{PARAM_NAMES[name]}）"
        kind = e.get("type", "")
        reason = {"int_parsing": "应为整数", "missing": "缺失", "bool_parsing": "应为 true/false",
                  "date_from_datetime_parsing": "应为日期 YYYY-MM-DD", "date_parsing": "应为日期 YYYY-MM-DD",
                  "float_parsing": "应为数值", "greater_than_equal": "取值过小", "less_than_equal": "取值过大",
                  "json_invalid": "不是有效的 JSON"}.get(kind, "格式不正确")
        value: Any = e.get("input")
        shown = f"（收到 {value!r}）" if isinstance(value, str | int | float) else ""
        if kind in ("greater_than_equal", "less_than_equal") and e.get("ctx"):
            bound = next(iter(e["ctx"].values()))
            reason += f"，应{'不小于' if kind == 'greater_than_equal' else '不大于'} {bound}"
        parts.append(f"{where} {name} {reason}{shown}")
    return "；".join(parts) or "请求参数有误"


def install_console_errors(app: FastAPI) -> None:
    """Register the console's handlers (after the ledger's, whose JSON handlers are wrapped for pages)."""
    for exc_class, handler in list(app.exception_handlers.items()):
        if not isinstance(exc_class, type):
            continue

        def wrap(original):
            async def h(request: Request, exc: Exception) -> Response:
                resp = await original(request, exc)
                if wants_json(request):
                    return resp
                return error_page(request, resp.status_code, str(exc))
            return h

        if exc_class not in (StarletteHTTPException, RequestValidationError):
            app.add_exception_handler(exc_class, wrap(handler))

    async def not_found(request: Request, exc: Exception) -> Response:
        return error_page(request, 404, str(exc))

    async def bad_parameter(request: Request, exc: Exception) -> Response:
        return error_page(request, 422, str(exc))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "出错了")
        detail = ENGLISH.get(detail, detail)
        return error_page(request, exc.status_code, detail, getattr(exc, "headers", None))

    async def validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return error_page(request, 422, _validation_text(exc))

    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("console: unhandled error on %s", request.url.path, exc_info=exc)
        return error_page(request, 500, "服务器内部错误，已记录到服务器日志；请稍后重试或联系管理员")

    app.add_exception_handler(DataNotFound, not_found)
    app.add_exception_handler(BadParameter, bad_parameter)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(Exception, server_error)
