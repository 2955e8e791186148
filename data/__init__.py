"""The dataset: shipped OpenStreetMap-derived files plus the code that builds and loads the rest.

Sits above ``geo`` (networks, passport rules, validation) and below ``routing``:
``data.dataset`` builds and loads the generated tables (passport registry,
households, fleet, trip requests); ``data.osm_import`` turns raw OSM extracts into
the shipped files in ``network/`` and ``osm/``.
"""
