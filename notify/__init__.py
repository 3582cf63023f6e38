"""Officer notifications: an outbox of messages delivered through Apprise, each at most once per intent."""
