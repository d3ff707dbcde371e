"""The versioned JSON API (v1): thin views over the same services as the pages."""
