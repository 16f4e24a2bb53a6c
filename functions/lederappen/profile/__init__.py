"""F1 Profile: the member's profile, read live from the member register."""
