"""The small shared core every feature builds on.

Nothing here opens a connection or imports a heavy client library at import time: each
module imports its driver inside the function that needs it, so a function's cold start
pays only for what it uses.
"""
