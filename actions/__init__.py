"""Custom actions for the Rasa server: thin wrappers that parse slots and call ``care``."""
