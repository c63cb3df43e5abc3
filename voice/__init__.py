"""Speech for Anxin: audio codecs, speech-to-text, text-to-speech, the phone-style session.

Small stages, each behind one small interface (``voice/base.py``); audio is
normalised once, at the boundary, to 16 kHz mono 16-bit PCM.
"""
