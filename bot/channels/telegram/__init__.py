"""The Telegram channel: PTB updates in, journey replies rendered as Telegram messages."""
