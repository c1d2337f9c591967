"""Other clients' protocols in front of the same services.

Each subpackage translates one foreign protocol to the Claude API's wire types and
back, so its requests go through the Messages service like any other: the same keys,
limits, metering and backends. A subpackage imports ``wire/`` and ``errors`` only.
"""
