//! Secrets out of a recording before it is written. (Temporary, until the matching branch
//! lands: raw values only.)

#[derive(Debug, Default)]
pub struct Scrubber {
    pairs: Vec<(String, String)>,
}

impl Scrubber {
    pub fn new() -> Scrubber {
        Scrubber::default()
    }

    pub fn secret_field(&mut self, name: &str, value: &str) -> String {
        let p = format!("gleaner-secret-{name}");
        self.pairs.push((value.to_string(), p.clone()));
        p
    }

    pub fn code(&mut self, index: usize, value: &str) -> String {
        let p: String = value
            .chars()
            .enumerate()
            .map(|(i, _)| char::from(b'0' + ((i + index + 1) % 10) as u8))
            .collect();
        self.pairs.push((value.to_string(), p.clone()));
        p
    }

    pub fn text(&self, s: &str) -> String {
        let mut out = s.to_string();
        for (secret, p) in &self.pairs {
            out = out.replace(secret, p);
        }
        out
    }

    pub fn log(&mut self, log: &mut har::v1_2::Log) {
        if let Ok(json) = serde_json::to_string(log)
            && let Ok(clean) = serde_json::from_str(&self.text(&json))
        {
            *log = clean;
        }
    }
}
