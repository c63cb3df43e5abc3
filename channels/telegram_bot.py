"""The embedded python-telegram-bot ``Application``: its handlers, no web server of its own.

Our Sanic route (channels/telegram.py) feeds it ``Update.de_json(...)`` through
``process_update``; the handlers here turn each kind of update into one Rasa turn:

- text → the text (a leading "/" dropped: typed words are never read as an intent);
- ``/start <code>`` (``t.me/<bot>?start=<code>``) → the link_family flow with that code;
  plain ``/start`` or another command → the greeting (welcome + what I can do);
- ``/lang`` → 中文 / English buttons; a tap greets in that language (the ``language`` slot);
- a tapped inline button → ``answerCallbackQuery``, then the button's Rasa payload;
- a voice note, audio file or video note → its words (channels/telegram_voice.py), then a
  turn answered in text and as a voice note; nothing heard, too long or unplayable → a
  gentle re-ask in the person's language, in text and aloud.

Only private chats are served: a care conversation is one person's.

Each update is in the inbox before its handlers run (channels/telegram_inbox.py), and may
run through them a second time when it is replayed after a crash: a handler that fails
says so (``error``), so that its update is tried again rather than taken as done.
"""

from __future__ import annotations

import logging
from typing import Optional

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from channels.config import TelegramSettings
from channels.telegram_render import (
    LANGUAGE_KEYBOARD,
    Reply,
    button_payload,
    greet,
    language_of,
    link_family,
    start_code,
    text,
    typed,
)
from channels.telegram_turns import Turns
from channels.telegram_voice import NO_EARS, VoiceNotes

log = logging.getLogger(__name__)

DEFAULT_API = TelegramSettings.api_base
DEFAULT_FILES = TelegramSettings.file_base


def file_base(settings: TelegramSettings) -> str:
    """Where files are downloaded from. A Bot API served elsewhere (a local
    telegram-bot-api server, or a test's fake) serves them beside its methods, at
    ``/file/bot<token>/``, as Telegram's own does: unless set apart, they follow it."""
    if settings.file_base != DEFAULT_FILES or settings.api_base == DEFAULT_API:
        return settings.file_base
    api = settings.api_base.rstrip("/")
    if api.endswith("/bot"):
        return api[: -len("/bot")] + "/file/bot"
    return settings.file_base


def build_application(settings: TelegramSettings, max_retries: int = 3) -> Application:
    """PTB's application against the configured Bot API, rate limited, without an updater."""
    return (
        Application.builder()
        .token(settings.bot_token)
        .base_url(settings.api_base)
        .base_file_url(file_base(settings))
        .updater(None)
        .rate_limiter(AIORateLimiter(max_retries=max_retries))
        .connect_timeout(10)
        .read_timeout(20)
        .write_timeout(20)
        .build()
    )


class Handlers:
    def __init__(self, turns: Turns, voice: Optional[VoiceNotes] = None) -> None:
        self.turns = turns
        self.notes = voice

    def install(self, application: Application) -> None:
        private = filters.ChatType.PRIVATE
        application.add_handler(CommandHandler("start", self.start, filters=private))
        application.add_handler(CommandHandler("lang", self.lang, filters=private))
        application.add_handler(CallbackQueryHandler(self.button))
        voice = filters.VOICE | filters.AUDIO | filters.VIDEO_NOTE
        application.add_handler(MessageHandler(private & voice, self.voice))
        words = filters.TEXT & ~filters.COMMAND
        application.add_handler(MessageHandler(private & words, self.text))
        application.add_handler(MessageHandler(private & filters.COMMAND, self.start))
        application.add_handler(MessageHandler(private, self.other))
        application.add_error_handler(self.error)

    async def error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        # The error's kind only: its message may quote what the person wrote.
        log.warning("telegram: an update failed: %s", type(context.error).__name__)
        if isinstance(update, Update):
            self.turns.inbox.failed(update.update_id)  # kept, and replayed at the next round

    @staticmethod
    def _app_language(update: Update) -> Optional[str]:
        user = update.effective_user
        return user.language_code if user is not None else None

    async def _language(self, update: Update) -> str:
        chat = update.effective_chat
        if chat is None:
            return language_of(self._app_language(update))
        return await self.turns.language(chat.id, self._app_language(update))

    async def _say(self, update: Update, message: str) -> None:
        chat = update.effective_chat
        if chat is None or update.effective_message is None:
            return
        key = str(update.update_id)
        await self.turns.answer(chat.id, message, key, self._app_language(update))

    async def text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        said = typed(message.text or "") if message else ""
        if said:
            await self._say(update, said)

    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        language = await self._language(update)
        command = (update.effective_message.text or "") if update.effective_message else ""
        code = start_code(context.args) if command.startswith("/start") else None
        await self._say(update, link_family(code, language) if code else greet(language))

    async def lang(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        if chat is None:
            return
        reply = Reply(text("choose_language", await self._language(update)), LANGUAGE_KEYBOARD)
        await self.turns.sender.send(chat.id, [reply])

    async def button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        if not self.turns.inbox.replaying(update.update_id):
            try:
                await query.answer()  # stops the spinner on the person's button
            except TelegramError as exc:  # the spinner stops by itself: the press still counts
                log.warning("telegram: a button press not acknowledged: %s", type(exc).__name__)
        chat = update.effective_chat
        if chat is None or chat.type != "private":
            return
        payload = button_payload(query.data)
        if payload:
            key = str(update.update_id)
            await self.turns.answer(chat.id, payload, key, self._app_language(update))

    async def voice(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat, message = update.effective_chat, update.effective_message
        if chat is None or message is None:
            return
        note = message.voice or message.audio or message.video_note
        if self.notes is None or note is None:
            language = await self._language(update)
            await self.turns.sender.send(chat.id, [Reply(text(NO_EARS, language))])
            return
        # Whisper is told the language only when we know it: an app's language is no
        # proof of what its owner speaks, and a wrong hint garbles the transcript.
        hint = await self.turns.known_language(chat.id)
        heard = await self.notes.hear(note, hint, str(chat.id), str(update.update_id))
        if heard.problem is None:
            language = heard.language or await self._language(update)
            key = str(update.update_id)
            await self.turns.answer(chat.id, heard.text, key, self._app_language(update), language)
            return
        # Nothing for Rasa: a gentle re-ask, read aloud too (they may not read well).
        language = await self._language(update)
        said = text(heard.problem, language)
        await self.turns.sender.send(chat.id, [Reply(said)])
        if heard.problem != NO_EARS:
            await self.turns.say_aloud(chat.id, [{"text": said}], language)

    async def other(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        if chat is not None and update.effective_message is not None:
            reply = Reply(text("not_understood", await self._language(update)))
            await self.turns.sender.send(chat.id, [reply])
