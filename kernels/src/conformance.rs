//! Conformance suite (written by the lead; in progress).
#[macro_export]
macro_rules! conformance_suite {
    ($backend:expr) => {};
}
