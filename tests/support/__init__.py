"""Helpers shared by the test suites (never a test module imported by another)."""
