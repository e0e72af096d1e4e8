"""Every journey written for every channel, registered once: the composition hands the same
routes to each channel that runs."""

from __future__ import annotations

from handlers import admin, common, linking, manage, onboarding, profile
from handlers.dispatch import Routes


def build_routes() -> Routes:
    routes = Routes()
    for journey in (common, onboarding, profile, linking, admin, manage):
        journey.register(routes)
    return routes
