//! Secrets out of a recording before it is written.
