"""The ``geogrid`` command: the one composition root that may reach into the api and the maps.

Modules: ``cases``, ``main``, ``plan``, ``serving`` (``geogrid serve``), ``support``.
"""
