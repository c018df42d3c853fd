"""Liveness and readiness."""

from fastapi import APIRouter
from sqlalchemy import text

from referrals.api.deps import ClientDep, SessionDep
from referrals.api.errors import documented, error_response

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz():
    return {"status": "ok"}


@router.get("/readyz", responses=documented(503))
async def readyz(session: SessionDep, client: ClientDep):
    checks = {}
    try:
        await session.exec(text("SELECT 1"))  # type: ignore[call-overload]  # sqlmodel's exec runs text() too
        checks["database"] = "ok"
    except Exception as exc:  # any failure means not ready; the kind is enough to say why
        checks["database"] = f"unavailable: {type(exc).__name__}"
    try:
        await client.service_client.check_health()
        checks["temporal"] = "ok"
    except Exception as exc:
        checks["temporal"] = f"unavailable: {type(exc).__name__}"
    if any(v != "ok" for v in checks.values()):
        return error_response(503, "not ready", checks)
    return {"status": "ready", "checks": checks}
