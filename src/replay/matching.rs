//! Which recorded exchange answers a replayed request.
