"""The GitHub source: a REST client (:mod:`.client`), the payload shapes it reads (:mod:`.payloads`), the
records it keeps (:mod:`.records`) and the resource readers (:mod:`.readers`: repository, deployments,
releases, tags, workflow runs; :mod:`.pulls`: pull requests, incident issues, comparisons). The pull layer
(:mod:`hivepulse.pull`) turns the records into events; rules in ``docs/pull.md``."""
