"""What every layer of footfall stands on: the exception root, the injected clock, units,
ids, the body-placement vocabulary, pacing of replays, and the quarantine for bad input.
Nothing here imports from another footfall package."""
