"""Messaging: customer SMS and email that respect consent, quiet hours and limits; Twilio webhooks."""
