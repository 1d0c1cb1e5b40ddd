"""Painting estimates: rate books, rooms priced per surface, options, sharing, proposals and signatures."""
