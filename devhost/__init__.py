"""A local stand-in for the Azure Functions host: HTTP, queue and timer triggers, Durable Functions.

Production never imports this package; function code cannot tell it from the real host.
"""
