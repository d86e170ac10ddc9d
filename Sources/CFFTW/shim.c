// Intentionally empty: CFFTW is header-only; SwiftPM needs one source file.
