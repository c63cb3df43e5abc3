"""Rasa input channels: WeChat, Telegram and voice, one module each (bot/credentials.yml)."""
