"""The store: the SQLite connection, its named migrations and the transactional outbox."""
