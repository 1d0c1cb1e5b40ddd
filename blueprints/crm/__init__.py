"""CRM: customers, their vehicles and sharing customers between users."""
