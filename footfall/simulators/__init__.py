"""Simulators feed the wire like a device would: synthetic runners, BLE device emulators, imports.

- :mod:`footfall.simulators.runner`: a synthetic runner (tibia, foot or sacrum IMU) with ground
  truth, see docs/simulators.md.
- :mod:`footfall.simulators.framing`: chunking a run into IMU frames with BLE loss and jitter.
- :mod:`footfall.simulators.importers`: FIT, CSV and dataset recordings → session files.
"""
