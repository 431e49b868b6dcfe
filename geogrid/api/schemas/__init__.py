"""The typed contracts at the edge: request bodies and the JSON answers, as pydantic models.

``lookup`` (grids, collections, locate, stations, releases, health), ``cases``, ``plans``,
``open311`` and ``bodies`` (request bodies). Routes that build their answer without pydantic
(the hot and the case routes) still declare these models, so the OpenAPI document is true;
``tests/api/test_contracts.py`` validates real answers against them.
"""
