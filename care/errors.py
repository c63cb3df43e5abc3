"""Typed domain errors: the dialogue turns each into a polite answer, never a stack trace.

Every error carries a stable ``code`` that callers switch on, and keeps the
details they need to say something useful (alternatives when a slot is full).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Sequence


class CareError(Exception):
    code = "care_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.details = details


class DatabaseUnavailable(CareError):
    code = "database_unavailable"


class NotFound(CareError):
    code = "not_found"


class UnknownElder(NotFound):
    code = "unknown_elder"


class UnknownPerson(NotFound):
    code = "unknown_person"


class UnknownSlot(NotFound):
    code = "unknown_slot"


class UnknownBooking(NotFound):
    code = "unknown_booking"


class UnknownAlert(NotFound):
    code = "unknown_alert"


class SlotFull(CareError):
    code = "slot_full"

    def __init__(self, message: str, alternatives: Sequence[Any] = ()) -> None:
        super().__init__(message)
        self.alternatives = list(alternatives)


class BookingClosed(CareError):
    """In the past or after the order cut-off."""

    code = "booking_closed"


class AlreadyBooked(CareError):
    code = "already_booked"


class NotPermitted(CareError):
    """Proxy booking without an active family link with the needed permission."""

    code = "not_permitted"


class IdempotencyConflict(CareError):
    """The same idempotency key was sent with different details."""

    code = "idempotency_conflict"


class InvalidRequest(CareError):
    code = "invalid_request"


class InvalidTransition(CareError):
    code = "invalid_transition"


class InvalidCode(CareError):
    """An invitation code that is unknown, expired or already used (``details["reason"]``)."""

    code = "invalid_code"


class TooManyAttempts(CareError):
    """Too many wrong invitation codes from one identity: try again at ``retry_at``."""

    code = "too_many_attempts"

    def __init__(self, message: str, retry_at: datetime) -> None:
        super().__init__(message, retry_at=retry_at)
        self.retry_at = retry_at


class IdentityTaken(CareError):
    """A channel account already belongs to another person with bookings or links."""

    code = "identity_taken"
