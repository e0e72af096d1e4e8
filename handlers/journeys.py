"""Every journey written for every channel, registered once: the composition hands the same
routes to each channel that runs."""

from __future__ import annotations

from handlers import (
    admin,
    broadcasts,
    common,
    exports,
    initiatives,
    manage,
    onboarding,
    profile,
    reminders,
)
from handlers.dispatch import Routes


def build_routes() -> Routes:
    routes = Routes()
    for journey in (
        common,
        onboarding,
        profile,
        admin,
        manage,
        initiatives,
        broadcasts,
        reminders,
        exports,
    ):
        journey.register(routes)
    return routes
