"""GET /v2/catalog's answer, made once: the catalog never changes while the broker runs.

openbrokerapi turns the catalog's objects back into dicts and re-encodes them on every request
(most of a catalog request's CPU). The bytes are made here with openbrokerapi's own encoder, so
they are exactly what its view answers, and each request only wraps them in a new response.
"""

from __future__ import annotations

from flask import Flask, Response
from openbrokerapi.helper import to_json_response
from openbrokerapi.response import CatalogResponse

from broker.model.catalog import Catalog

CATALOG_ENDPOINT = "open_broker.catalog"


class CatalogAnswer:
    def __init__(self, app: Flask, catalog: Catalog) -> None:
        with app.app_context():
            made = to_json_response(CatalogResponse(list(catalog.services)))
        self.body = made.get_data()
        self.mimetype = made.mimetype

    def response(self) -> Response:
        """A new response each time: after-request hooks add headers to it."""
        return Response(self.body, mimetype=self.mimetype)
