//! Everything Demo Telecom shows or serves, fixed in code so tests (and gleaner's) can
//! assert exact records and documents.

use crate::format_eur;

/// The one customer, whatever login the options choose.
pub const CUSTOMER_ID: &str = "CL-0042-7781";
pub const CUSTOMER_NAME: &str = "Alice Martin";
pub const OFFER: &str = "Pack Mobile + Fibre";

/// A monthly bill, listed on `/bills` and downloaded by `POST /bills/download`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bill {
    pub id: &'static str,
    /// `dd/mm/yyyy`, as displayed.
    pub date: &'static str,
    pub label: &'static str,
    pub amount_cents: i64,
    /// The `Content-Disposition` file name.
    pub file_name: &'static str,
}

impl Bill {
    /// As displayed, e.g. `54,98\u{a0}€`.
    pub fn amount(&self) -> String {
        format_eur(self.amount_cents, false)
    }
}

/// Most recent first, in display order: 2 on the first page of `/bills`, 1 on the second.
pub const BILLS: &[Bill] = &[
    Bill {
        id: "FAC-2026-03",
        date: "05/03/2026",
        label: "Facture mars 2026",
        amount_cents: 5498,
        file_name: "facture-2026-03.pdf",
    },
    Bill {
        id: "FAC-2026-02",
        date: "05/02/2026",
        label: "Facture février 2026",
        amount_cents: 6147,
        file_name: "facture-2026-02.pdf",
    },
    Bill {
        id: "FAC-2026-01",
        date: "05/01/2026",
        label: "Facture janvier 2026",
        amount_cents: 5498,
        file_name: "facture-2026-01.pdf",
    },
];

/// Bills per page of `/bills`.
pub const BILLS_PER_PAGE: usize = 2;

/// The file name `POST /bills/download?evil=1` announces instead of the bill's own.
pub const EVIL_FILE_NAME: &str = "../../evil.pdf";

/// The contract's file name (`/contract.pdf`, shown inline).
pub const CONTRACT_FILE_NAME: &str = "contrat-CL-0042-7781.pdf";

pub fn bill(id: &str) -> Option<&'static Bill> {
    BILLS.iter().find(|b| b.id == id)
}

/// A phone line, only ever served as JSON by `POST /api/lines`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    pub id: &'static str,
    pub number: &'static str,
    pub plan: &'static str,
    /// French decimal, no currency sign: `"19,99"`.
    pub monthly_price: &'static str,
    /// `active` or `suspended`.
    pub status: &'static str,
}

pub const LINES: &[Line] = &[
    Line {
        id: "L-001",
        number: "06 12 34 56 78",
        plan: "Forfait Mobile 100 Go",
        monthly_price: "19,99",
        status: "active",
    },
    Line {
        id: "L-002",
        number: "09 87 65 43 21",
        plan: "Box Fibre 1 Gb/s",
        monthly_price: "34,99",
        status: "active",
    },
    Line {
        id: "L-003",
        number: "07 11 22 33 44",
        plan: "Forfait 2 h",
        monthly_price: "2,99",
        status: "suspended",
    },
];

/// One month of use of the mobile line, only ever served as JSON by `GET /api/usage`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    /// `yyyy-mm`
    pub month: &'static str,
    pub data_gb: f64,
    pub calls_min: u32,
    pub sms: u32,
}

pub const USAGE_LINE: &str = "L-001";

pub const USAGE: &[Usage] = &[
    Usage {
        month: "2026-01",
        data_gb: 12.4,
        calls_min: 134,
        sms: 52,
    },
    Usage {
        month: "2026-02",
        data_gb: 9.8,
        calls_min: 98,
        sms: 47,
    },
    Usage {
        month: "2026-03",
        data_gb: 15.1,
        calls_min: 161,
        sms: 63,
    },
];
