"""F2 Courses, F4 Professional content, F5 Member benefits: the personalised feed."""
