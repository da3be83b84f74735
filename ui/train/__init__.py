"""The Train page's parts: settings and recipes, run controls, the live panel, results and
saving, the SDLM panel.
"""
