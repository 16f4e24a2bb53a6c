"""Health check and the OpenAPI document."""
