"""The care domain: people, the service catalogue, capacity-safe bookings, alerts, audit."""
