//! Black-box test crate.
