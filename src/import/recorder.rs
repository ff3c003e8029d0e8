//! The JSON a Chrome DevTools Recorder exports ("Export as JSON"): a title and steps. Only
//! the step types a connector can replay are modelled; the others (`setViewport`,
//! `keyUp`, `scroll`, `waitForElement`...) parse as [`Step::Other`] and are ignored.

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{file}: {line}:{column}: {message}")]
    Json {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{file}: the recording has no `navigate` step, so there is no base_url to start from")]
    NoNavigate { file: String },
    #[error("{file}: navigate to {url:?}: {message}")]
    BadUrl {
        file: String,
        url: String,
        message: String,
    },
}

#[derive(Debug, Deserialize)]
pub struct Recording {
    #[serde(default)]
    pub title: String,
    pub steps: Vec<Step>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Step {
    Navigate {
        url: String,
    },
    Click {
        #[serde(default)]
        selectors: Vec<Chain>,
    },
    DoubleClick {
        #[serde(default)]
        selectors: Vec<Chain>,
    },
    Change {
        value: String,
        #[serde(default)]
        selectors: Vec<Chain>,
    },
    KeyDown {
        key: String,
    },
    #[serde(other)]
    Other,
}

/// One selector alternative: parts across frames and shadow roots, outermost first. Older
/// exports write a single part as a bare string.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Chain {
    Parts(Vec<String>),
    One(String),
}

impl Chain {
    pub fn parts(&self) -> &[String] {
        match self {
            Chain::Parts(p) => p,
            Chain::One(s) => std::slice::from_ref(s),
        }
    }
}

pub fn parse(src: &str, file: &str) -> Result<Recording, ImportError> {
    serde_json::from_str(src).map_err(|e| ImportError::Json {
        file: file.to_string(),
        line: e.line(),
        column: e.column(),
        // serde_json appends " at line L column C", which the prefix already says.
        message: e
            .to_string()
            .split(" at line ")
            .next()
            .unwrap_or_default()
            .to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_step_types_are_kept_as_other() {
        let r = parse(
            r##"{"title":"t","steps":[{"type":"setViewport","width":1},{"type":"keyUp","key":"a"},
            {"type":"click","selectors":[["#a"],"#b"],"offsetX":1}]}"##,
            "r.json",
        )
        .unwrap();
        assert!(matches!(r.steps[0], Step::Other));
        assert!(matches!(r.steps[1], Step::Other));
        let Step::Click { selectors } = &r.steps[2] else {
            panic!("{:?}", r.steps[2])
        };
        assert_eq!(selectors[1].parts(), ["#b"]);
    }

    #[test]
    fn bad_json_names_file_line_and_column() {
        let e = parse("{\"title\": \"t\",\n \"steps\": [}", "r.json").unwrap_err();
        assert!(e.to_string().starts_with("r.json: 2:"), "{e}");
    }
}
