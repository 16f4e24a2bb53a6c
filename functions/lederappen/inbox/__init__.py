"""The in-app inbox (F9): every message sent to a member, newest first; read and delete."""
