//! `dinit-check` differential: see tests/compat/check/README.md.
