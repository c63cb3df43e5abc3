"""The staff console: server-rendered pages and the Staff JSON API (see staff.app)."""
