//! What a secret becomes in any text gleaner shows or logs.

pub const MASK: &str = "•••";
