//! The repository contract suite.
