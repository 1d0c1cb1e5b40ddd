"""Leads: website-form and inbound-text leads, matched to crm customers and answered within a minute."""
