// Intentionally empty: CMPI is header-only; SwiftPM needs one source file.
