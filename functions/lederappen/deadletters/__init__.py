"""Dead-lettered Pub/Sub messages: drained into the database, inspected, replayed, discarded."""
