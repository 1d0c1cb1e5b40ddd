"""Plumbing bids: plan sets in, fixtures found, counted and placed, reviewed by a person."""
