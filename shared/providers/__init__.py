"""One adapter per outside service; each takes its base URL from settings so tests can use a loopback fake."""
