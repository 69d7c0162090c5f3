"""``GET /api/v1/health`` — is the console answering (for start-up waits, load balancers and monitoring).

It reads nothing: the OpenAPI schema, which callers used to poll, costs seconds to build on a busy machine, and a
health check must not be the slowest request of a starting process."""

from __future__ import annotations

from fastapi import APIRouter

from ...ledger.api import API_PREFIX
from .response import ConsoleJSON

router = APIRouter(prefix=API_PREFIX, tags=["总览"], default_response_class=ConsoleJSON)


@router.get("/health", summary="健康检查：控制台进程正在应答（不读取数据）",
            description="进程启动完成、能处理请求时返回 200 与 {\"status\": \"ok\"}；供启动等待、负载均衡与监控使用。")
def get_health() -> ConsoleJSON:
    return ConsoleJSON({"status": "ok"})
