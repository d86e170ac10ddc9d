// Intentionally empty: CHDF5 is header-only; SwiftPM needs one source file.
