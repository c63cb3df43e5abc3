"""Voice turns in the console: a recording's audio for the conversation view's player.

``GET /recordings/{id}/audio`` serves the file of a kept voice turn (care/recordings.py)
to staff and admins; volunteers may not hear what people said (403), as they may not
read it. Only an integer id of the table resolves (anything else is 404); a stored path
that leads outside the recordings directory is refused (403) and logged by id. Every
listen is audited before a byte is sent; the player's further range requests (a seek)
are the same listen and are not audited again.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, Response

from care.recordings import RecordingRefused, RecordingSettings, open_for_review
from care.staff_sessions import Principal
from staff.auth import STAFF, Console, Forbidden, allow, console
from staff.limits import RecordId
from staff.render import language

log = logging.getLogger(__name__)

router = APIRouter()

# The conversation view's words for voice turns (its template reads them as ``vt``).
WORDS = {
    "zh": {"voice": "语音", "seconds": "秒", "no_audio": "未保存录音（本人未同意）",
           "player": "播放录音"},
    "en": {"voice": "Voice", "seconds": "s", "no_audio": "audio not kept (no consent)",
           "player": "Play the recording"},
}  # fmt: skip


def words(request: Request) -> dict[str, str]:
    return WORDS[language(request)]


def subject(recording_id: int) -> str:
    return f"recording:{recording_id}"


def first_listen(request: Request) -> bool:
    """A player's first request: none or a range from the start (later ones seek)."""
    wanted = request.headers.get("range", "").replace(" ", "").lower()
    return not wanted or wanted.startswith("bytes=0-")


@router.get("/recordings/{recording_id:int}/audio")
def recording_audio(
    recording_id: RecordId,
    request: Request,
    who: Principal = Depends(allow(*STAFF)),
    c: Console = Depends(console),
) -> Response:
    try:
        # Unknown ids and recordings without audio are NotFound: the app's 404.
        path, content_type = open_for_review(c.care.db, recording_id, RecordingSettings.from_env())
    except RecordingRefused:
        log.warning("staff console: recording %d has a path that was refused", recording_id)
        c.audit(who, "recording.refused", subject(recording_id))
        raise Forbidden() from None
    if first_listen(request):
        c.audit(who, "recording.listen", subject(recording_id))
    return FileResponse(
        path,
        media_type=content_type,
        headers={
            # A person's voice: never cached, never sniffed into something else.
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": "inline",
        },
    )
