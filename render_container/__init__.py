"""Tradeops render worker: turns product configurations into GLB files with headless Blender."""
