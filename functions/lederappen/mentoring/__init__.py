"""Mentor engagement (F7): members sign up as mentor or mentee and are matched in pairs."""
