"""The local stack: Mosquitto and InfluxDB as child processes under a state directory.

The embedded default a newcomer runs (``footfall stack up``, ``footfall demo``) and the same
code the test fixtures use, with the same config files as the docker-compose deployment.
"""
