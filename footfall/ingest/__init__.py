"""BLE ingest: foot pods and IMUs → parsers → clocks → the wire format on MQTT.

``profiles`` holds one pure parser module per BLE profile; ``clock`` maps sensor time to UTC and
finds lost notifications; ``spool`` buffers outgoing messages on disk; ``gateway`` runs one task
per device. See docs/ingest.md.
"""
