"""Each settled epoch's reward tree in OpenZeppelin's StandardMerkleTree dump format, for auditors."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import FileResponse

from app.api.deps import AuditorDep, SessionDep, SettingsDep
from app.api.schemas import INT64_MAX, DocumentedRoute, errors
from app.services import reward_trees

router = APIRouter(prefix="/ledger", tags=["ledger"], route_class=DocumentedRoute)


@router.get(
    "/epochs/{epoch}/tree",
    response_class=FileResponse,
    responses={
        200: {
            "description": "`StandardMerkleTree.load(body).root` is the epoch's root on chain",
            "content": {"application/json": {}},
        },
        **errors(404),
    },
)
def read_epoch_tree(
    *,
    epoch: Annotated[int, Path(ge=1, le=INT64_MAX, description="The epoch's number")],
    session: SessionDep,
    settings: SettingsDep,
    _: AuditorDep,
) -> FileResponse:
    """The epoch's whole tree: every leaf (account, cumulative amount, salt) and node (auditor or operator).

    It holds every account's amount and salt, so it is for auditors only (docs/privacy.md).
    """
    path = reward_trees.dump_path(session, settings, epoch)
    return FileResponse(path, media_type="application/json", filename=f"epoch-{epoch}-tree.json")
