"""Engine version: bump when results change for the same input."""

ENGINE_VERSION = "0.4.0"
