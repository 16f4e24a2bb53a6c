"""The outbox relay (scheduled): publishes what a transaction queued and its publish after the commit did not (core/outbox.py)."""
