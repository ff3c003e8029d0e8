//! What kind of collect to start: shared by the service that starts it and the live
//! collect that carries it.

/// What kind of collect to start when none is in progress.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CollectMode {
    /// Nobody is there: 2FA and interactive steps end the collect in state -2.
    pub background: bool,
    /// Log in only, then stop (the person just added or corrected the account).
    pub verify: bool,
}
