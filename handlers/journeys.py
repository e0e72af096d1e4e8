"""Every journey, written once for every channel and registered once: the composition hands
the same routes to each channel that runs."""

from __future__ import annotations

from handlers import (
    activities,
    admin,
    attendance,
    broadcasts,
    common,
    exports,
    initiatives,
    linking,
    manage,
    onboarding,
    profile,
    reminders,
)
from handlers.dispatch import Routes

JOURNEYS = (
    common,
    onboarding,
    profile,
    linking,
    admin,
    manage,
    activities,
    attendance,
    initiatives,
    broadcasts,
    reminders,
    exports,
)


def build_routes() -> Routes:
    routes = Routes()
    for journey in JOURNEYS:
        journey.register(routes)
    return routes
