"""Patient reviews of visits, their revisions, moderation and practitioner responses."""
