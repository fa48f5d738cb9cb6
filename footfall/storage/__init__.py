"""Storage: derived events to InfluxDB (line protocol on ``/write``, InfluxQL on ``/query``)."""
