"""Preferences and interests (F8): voluntary, clearable, used only with consent."""
