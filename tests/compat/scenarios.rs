//! The differential scenarios of tests/compat/scenarios/.
