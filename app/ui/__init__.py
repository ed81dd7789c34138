"""Helpers shared by the pages: settings from the environment, cached resources, session state, widgets.

Nothing here scores, queries or computes statistics: that is the ``scoring`` library's job.
"""
