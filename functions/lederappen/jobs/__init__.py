"""Scheduled jobs (Cloud Scheduler with an OIDC token)."""
