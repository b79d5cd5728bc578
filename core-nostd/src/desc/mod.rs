//! The service-description format of dinit-service(5) (work in progress).
