"""API keys (admins only)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Path, Request, status
from sqlalchemy.orm import Session

from api.deps import Caller, get_session, require
from api.schemas import MAX_INT, KeyCreate, KeyCreated, KeyOut
from api.storage import create_key, list_keys, revoke_key

router = APIRouter(prefix="/v1/keys", tags=["keys"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=KeyCreated)
def create(body: KeyCreate, request: Request, _: Caller = Depends(require("admin")),
           session: Session = Depends(get_session)) -> KeyCreated:
    """Create a key; the secret is in the answer only."""
    try:
        row, raw = create_key(session, body.role, body.operator, body.label, set(request.app.state.operators),
                              body.vehicle_id, request.app.state.desk.operator_of)
    except ValueError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None
    return KeyCreated(**KeyOut.model_validate(row).model_dump(), key=raw)


@router.get("", response_model=list[KeyOut])
def index(_: Caller = Depends(require("admin")), session: Session = Depends(get_session)) -> list:
    """All keys (without secrets)."""
    return list_keys(session)


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke(request: Request, key_id: int = Path(ge=1, le=MAX_INT), _: Caller = Depends(require("admin")),
           session: Session = Depends(get_session)) -> None:
    """Revoke a key; it stops working at once."""
    if not revoke_key(session, key_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no key {key_id}")
    request.app.state.keys.forget()
