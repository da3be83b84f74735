"""The app's shared widgets and session state, imported by the page scripts in pages/."""
