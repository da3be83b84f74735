"""The Inside page's parts: its digit, the Every-layer view, the other views, the top digits."""
