"""Infrastructure code: migrations, the local stack and its stand-ins, and scripts."""
