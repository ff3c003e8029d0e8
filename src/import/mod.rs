//! `gleaner import`: a connector skeleton from a Chrome DevTools Recorder export.
//! [`recorder`] is the export's serde model; [`skeleton`] turns it into connector YAML
//! that passes `check` (steps with their selector alternatives, typed values as fields).

pub mod recorder;
pub mod skeleton;

pub use recorder::{ImportError, Recording};
pub use skeleton::skeleton;

/// Reads a Recorder export and returns the skeleton's YAML.
pub fn import(src: &str, file: &str) -> Result<String, ImportError> {
    let recording = recorder::parse(src, file)?;
    skeleton(&recording, file)
}
