"""Configurator: products with JSON Schema options, saved configurations with share codes, GLB render jobs."""
