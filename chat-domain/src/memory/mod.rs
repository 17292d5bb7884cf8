//! In-memory implementations of every repository port and of the unit of work.
