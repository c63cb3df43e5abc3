"""Bookings pages: per service and day, places used and free, the waitlist."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
