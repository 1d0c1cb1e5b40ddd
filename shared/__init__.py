"""Platform code shared by every business module; it imports no module of blueprints/."""
