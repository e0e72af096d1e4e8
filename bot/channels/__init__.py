"""Channels: the only code that knows a messaging platform (Telegram, Zalo)."""
