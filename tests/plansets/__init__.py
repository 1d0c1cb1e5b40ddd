"""Plan sets we draw ourselves: vector sheets with a fixture schedule, outlined and raster variants, ground truth."""
