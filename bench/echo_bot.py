"""The throughput baseline: a bare python-telegram-bot echo bot, replying to each text with
the same text. It has the same PTB, the same AIORateLimiter at the same rate and the same
defaults as Nhịp Cầu's Application in bot/app.py, and otherwise PTB's own choices: the httpx
transport and updates handled one at a time (Nhịp Cầu replaces both: handlers/aiohttp_request.py
and handlers/lanes.py). ``--concurrent N`` lets it handle N updates at once, to show how much of
the gap is concurrency.

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
    parser.add_argument("--concurrent", type=int, default=0, help="updates at once (0: PTB's 1)")
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
        .concurrent_updates(args.concurrent or False)
        .get_updates_connection_pool_size(2)
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    app.run_polling(poll_interval=0.0, timeout=10, allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
