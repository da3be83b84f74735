"""The widgets Train and Compare share: settings, Pause / Resume / Stop, the live panel, the
replay panel, and the runs' CSV table.
"""
