"""Identity: tenants, users, roles, password and SMS-code sign-in, sessions and the audit log API."""
