//! The demo bank's data file (`data.json`): users, accounts and their
//! operations, invoices and messages. Tests can read the same file to know
//! which values the pages display.

use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// How a user completes the second authentication step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TwoFactor {
    /// Correct password → 303 to `/otp`, a separate page.
    Redirect,
    /// Correct password → the login page again (same URL) with an OTP modal.
    Modal,
    /// No second step.
    None,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    pub login: String,
    pub password: String,
    pub name: String,
    pub two_factor: TwoFactor,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Operation {
    /// `dd/mm/yyyy`
    pub date: String,
    pub label: String,
    pub amount_cents: i64,
    /// Exactly as displayed, e.g. `+1\u{202f}200,00\u{a0}€`.
    pub amount: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Account {
    pub id: String,
    pub label: String,
    pub balance_cents: i64,
    /// Exactly as displayed, e.g. `1\u{202f}234,56\u{a0}€` (no `+` sign).
    pub balance: String,
    /// Most recent first, in display order.
    pub operations: Vec<Operation>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Invoice {
    pub id: String,
    /// `dd/mm/yyyy`
    pub date: String,
    pub label: String,
    pub amount_cents: i64,
    /// Exactly as displayed (no `+` sign).
    pub amount: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Message {
    pub id: String,
    pub date: String,
    pub subject: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SiteData {
    pub users: Vec<User>,
    pub operations_page_size: usize,
    pub messages_page_size: usize,
    pub accounts: Vec<Account>,
    pub invoices: Vec<Invoice>,
    pub messages: Vec<Message>,
}

impl SiteData {
    /// Reads and validates `<root>/data.json`.
    pub fn load(root: &Path) -> io::Result<SiteData> {
        let path = root.join("data.json");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        let data: SiteData = serde_json::from_str(&text).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        })?;
        data.validate().map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        })?;
        Ok(data)
    }

    fn validate(&self) -> Result<(), String> {
        if self.operations_page_size == 0 || self.messages_page_size == 0 {
            return Err("page sizes must be positive".into());
        }
        for a in &self.accounts {
            check_amount(&a.id, a.balance_cents, false, &a.balance)?;
            for op in &a.operations {
                check_amount(&a.id, op.amount_cents, true, &op.amount)?;
            }
        }
        for inv in &self.invoices {
            // Invoice ids become file names: keep them strictly safe.
            if inv.id.is_empty()
                || !inv
                    .id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-')
            {
                return Err(format!("invalid invoice id {:?}", inv.id));
            }
            check_amount(&inv.id, inv.amount_cents, false, &inv.amount)?;
        }
        Ok(())
    }

    pub fn user(&self, login: &str) -> Option<&User> {
        self.users.iter().find(|u| u.login == login)
    }

    pub fn account(&self, id: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.id == id)
    }

    pub fn invoice(&self, id: &str) -> Option<&Invoice> {
        self.invoices.iter().find(|i| i.id == id)
    }
}

fn check_amount(owner: &str, cents: i64, plus: bool, shown: &str) -> Result<(), String> {
    let expected = format_eur(cents, plus);
    if expected == shown {
        Ok(())
    } else {
        Err(format!(
            "{owner}: amount {shown:?} does not match {cents} cents ({expected:?})"
        ))
    }
}

/// French money formatting: `-1 234,56 €` with U+202F between thousands
/// groups and U+00A0 before `€`. `plus` prefixes positive amounts with `+`.
pub fn format_eur(cents: i64, plus: bool) -> String {
    let sign = if cents < 0 {
        "-"
    } else if plus && cents > 0 {
        "+"
    } else {
        ""
    };
    let abs = cents.unsigned_abs();
    let units = (abs / 100).to_string();
    let mut grouped = String::new();
    for (i, ch) in units.chars().enumerate() {
        if i > 0 && (units.len() - i).is_multiple_of(3) {
            grouped.push('\u{202f}');
        }
        grouped.push(ch);
    }
    format!("{sign}{grouped},{:02}\u{a0}€", abs % 100)
}
