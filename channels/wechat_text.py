"""What the WeChat channel says itself (no Rasa turn), in Chinese and English.

Short sentences, never blaming the person (the domain's rules for wording).
"""

from __future__ import annotations

from typing import Optional

TEXTS: dict[str, dict[str, str]] = {
    "welcome": {
        "zh": (
            "您好，欢迎关注安心！我是安心小助手。\n"
            "我能帮您：订餐（食堂吃或送到家）、约日托、约看病、安排志愿者陪您打电话聊聊，"
            "还能查您的预约。\n"
            "直接打字或者用语音跟我说就行，也可以点下面的菜单。\n"
            "Prefer English? Just write to me in English."
        ),
        "en": (
            "Welcome to Anxin! I'm your care assistant.\n"
            "I can book meals (canteen or delivery), day care, clinic visits and a friendly "
            "volunteer call, and tell you what you have booked.\n"
            "Just write to me, or use the menu below.\n"
            "想用中文？直接说中文就行。"
        ),
    },
    "voice": {
        "zh": "抱歉，我现在还听不了语音。麻烦您打字告诉我，好吗？",
        "en": "Sorry, I can't listen to voice messages yet. Could you type it for me?",
    },
    # A voice message with nothing in it (silence, noise): never the person's fault.
    "not_heard": {
        "zh": "不好意思，我没听清。请您再说一遍，或者打字告诉我。",
        "en": "Sorry, I didn't hear you. Please say it again, or type it for me.",
    },
    # A voice message we cannot play (Speex, an expired or broken file).
    "unplayable": {
        "zh": "不好意思，这条语音我没能打开。请您再说一遍，或者打字告诉我。",
        "en": "Sorry, I couldn't play that voice message. Please say it again, or type it.",
    },
    "other": {
        "zh": "收到啦。不过我只看得懂文字，麻烦您打字告诉我想办点啥。",
        "en": "Thank you! I can only read text for now. Could you type what you need?",
    },
    "later": {
        "zh": "收到您的消息了。系统正忙，稍后一定回复您，请别着急。",
        "en": "I have your message. The system is busy right now; I will answer you shortly.",
    },
    # A message set aside after it crashed the assistant (care/channel_store.py).
    "set_aside": {
        "zh": "对不起，您刚才发的消息我这边没能处理好，已经转告工作人员了。"
        "麻烦您再发一次（打字或语音都行），或者打中心电话 {hotline}。",
        "en": "I'm sorry, I couldn't handle the message you just sent, and I've told the "
        "staff. Could you send it again (typed or spoken), or call the centre on {hotline}?",
    },
    "location_saved": {
        "zh": "记下了，您的位置是：{label}。送餐、接送时会用到。",
        "en": "Noted, your location is: {label}. We use it for deliveries and pick-ups.",
    },
}


def say(name: str, language: Optional[str], **values: str) -> str:
    text = TEXTS[name].get(language or "zh") or TEXTS[name]["zh"]
    return text.format(**values) if values else text
