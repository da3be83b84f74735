"""The Draw page's input: the canvas and an uploaded picture."""
