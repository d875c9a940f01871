"""Safety: emergencies and their record, and the one mask for personal data."""
