"""Metering: usage recorded off the request path (``usage``), what tokens cost
(``pricing``), monthly spend limits (``spend``) and the Admin API's usage and cost
reports (``reports``)."""
