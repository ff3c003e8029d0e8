//! An error with its causes, one line: `cannot connect: tcp connect error: refused`. Some
//! crates' own messages (reqwest's, the har crate's) hide the cause.

pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
