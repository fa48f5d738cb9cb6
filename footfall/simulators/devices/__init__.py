"""Byte-exact BLE device emulators: the notification bytes each device sends, and its answers
to control commands. Encoders here are the inverse of :mod:`footfall.devices.registry`; the
golden vectors in ble-protocols.md round-trip through both.

- :mod:`.rsc` foot pod (per-leg or steps/min cadence), :mod:`.polar_pmd` (raw and delta frames,
  control point), :mod:`.witmotion`, :mod:`.movesense` (GSP), :mod:`.footfall_open`.
- :mod:`.ble` a fake bleak client that plays an emulator into the gateway's notification
  callbacks (the seam the gateway tests and ``footfall ingest --emulate`` use).
- :mod:`.play` a synthetic run (:mod:`footfall.simulators.runner`) as any device's exact
  notifications, with the real devices' rate/range rules: in one call (``notifications``), or
  paced at any speed into fake links (``play``), for ``footfall simulate --device`` and
  ``footfall ingest --emulate`` (:mod:`footfall.harness.emulated_gateway`).
"""
