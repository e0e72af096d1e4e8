"""The throughput baseline: a bare python-telegram-bot echo bot, built like Nhịp Cầu's
Application in bot/app.py (same PTB, same AIORateLimiter at the same rate, same defaults,
updates handled one at a time), replying to each text with the same text.

    python bench/echo_bot.py --api-url http://127.0.0.1:PORT --token TOKEN --rate 1000
"""

from __future__ import annotations

import argparse

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import (
    AIORateLimiter,
    Application,
    ContextTypes,
    Defaults,
    MessageHandler,
    filters,
)


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is not None and message.text:
        await context.bot.send_message(message.chat_id, message.text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--api-url", required=True, help="the emulator, http://127.0.0.1:PORT")
    parser.add_argument("--token", required=True)
    parser.add_argument("--rate", type=float, default=30.0, help="AIORateLimiter overall rate")
    args = parser.parse_args()
    app = (
        Application.builder()
        .token(args.token)
        .base_url(f"{args.api_url}/bot")
        .base_file_url(f"{args.api_url}/file/bot")
        .defaults(
            Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(True))
        )
        .rate_limiter(AIORateLimiter(overall_max_rate=args.rate, max_retries=3))
        .concurrent_updates(False)
        .get_updates_connection_pool_size(2)
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    app.run_polling(poll_interval=0.0, timeout=10, allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
