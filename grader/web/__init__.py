"""Student pages."""
