"""Doctor-to-practitioner referrals and their lifecycle."""
