//! One error type for the web layer.
