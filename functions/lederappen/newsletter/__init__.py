"""F3: newsletter consent changes propagated to Lederne's newsletter system over Pub/Sub."""
