"""Typed callback context: services, the acting person and their language, once per update."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import CallbackContext, ExtBot

from bot.domain.members import Actor
from bot.services import Services


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """PTB builds one context per update and reuses it across handler groups, so the actor
    looked up here costs one query per update however many handlers look at it."""

    _actor: Actor | None = None
    _language: str | None = None
    query_answered = False  # a button press is answered once; later answers are skipped

    @property
    def services(self) -> Services:
        services: Services = self.bot_data["services"]
        return services

    async def actor(self, update: Update) -> Actor:
        if self._actor is None:
            user = update.effective_user
            if user is None:
                raise LookupError("update without a user")
            self._actor = await self.services.member_service.actor(user.id)
        return self._actor

    def forget_actor(self) -> None:
        """After the update changed who the person is (onboarded, forgotten, language)."""
        self._actor = None
        self._language = None

    async def language(self, update: Update) -> str:
        if self._language is None:
            catalogue = self.services.catalogue
            actor = await self.actor(update)
            user = update.effective_user
            if actor.language:
                self._language = actor.language
            elif user and user.language_code and user.language_code.startswith("en"):
                self._language = "en"
            else:
                self._language = catalogue.default
        return self._language

    @property
    def user_state(self) -> dict[Any, Any]:
        """Per-user scratch space in memory (PTB's user_data), never None in private chats."""
        data = self.user_data
        if data is None:
            raise LookupError("update without a user")
        return data

    def use_language(self, language: str) -> None:
        self._language = language

    async def text(self, update: Update, key: str, /, **params: Any) -> str:
        return self.services.catalogue.text(await self.language(update), key, **params)

    async def label(self, update: Update, key: str, /, **params: Any) -> str:
        """Plain text (no HTML escaping) for button labels."""
        return self.services.catalogue.plain(await self.language(update), key, **params)
