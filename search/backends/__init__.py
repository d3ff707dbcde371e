"""Search backends: embedded (SQLite) and cluster (Elasticsearch or OpenSearch)."""
