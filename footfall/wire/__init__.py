"""The wire contract: MQTT topics, the binary IMU frame and the JSON events.

Everything that crosses the broker is defined here and nowhere else; devices and simulators
encode with it, the processor decodes with it. See docs/wire.md.
"""
