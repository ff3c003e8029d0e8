//! The text helpers the filters share.

/// Maximum number of input characters quoted in an error message.
pub(super) const MAX_INPUT_IN_ERROR: usize = 80;

/// At most [`MAX_INPUT_IN_ERROR`] characters of `input`, with "…" when cut.
pub(super) fn excerpt(input: &str) -> String {
    match input.char_indices().nth(MAX_INPUT_IN_ERROR) {
        Some((cut, _)) => format!("{}…", &input[..cut]),
        None => input.to_owned(),
    }
}

pub(super) fn is_zero_width(c: char) -> bool {
    matches!(c, '\u{200B}' | '\u{2060}' | '\u{FEFF}')
}

/// Collapse whitespace runs to one space, drop zero-width characters, trim.
pub(super) fn clean_text(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut pending_space = false;
    for c in input.chars() {
        if is_zero_width(c) {
            continue;
        }
        if c.is_whitespace() {
            pending_space = !out.is_empty();
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
    out
}
