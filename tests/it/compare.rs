//! Comparing sextant's outputs with expected ones: KPI fields and CSV tables, with a
//! numeric tolerance, collecting every difference instead of stopping at the first.

use std::collections::BTreeMap;

/// Numbers agree within this, absolutely or relatively.
pub const TOLERANCE: f64 = 1e-6;

pub fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= TOLERANCE || (a - b).abs() <= TOLERANCE * a.abs().max(b.abs())
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Number(f64),
    Text(String),
}

impl Cell {
    pub fn parse(s: &str) -> Cell {
        let t = s.trim();
        if t.is_empty() {
            Cell::Null
        } else if let Ok(n) = t.parse::<f64>() {
            Cell::Number(n)
        } else {
            Cell::Text(t.to_string())
        }
    }

    fn matches(&self, other: &Cell) -> bool {
        match (self, other) {
            (Cell::Number(a), Cell::Number(b)) => close(*a, *b),
            (a, b) => a == b,
        }
    }

    /// A key that sorts equal rows together despite float noise.
    fn sort_key(&self) -> String {
        match self {
            Cell::Null => String::new(),
            Cell::Number(n) => format!("{:020.4}", n + 1e12),
            Cell::Text(t) => t.clone(),
        }
    }
}

/// Parses CSV text into its header and rows of cells.
pub fn parse_csv(text: &str) -> (Vec<String>, Vec<Vec<Cell>>) {
    let mut rdr = csv::ReaderBuilder::new().has_headers(true).from_reader(text.trim().as_bytes());
    let header = rdr.headers().map(|h| h.iter().map(|s| s.trim().to_string()).collect()).unwrap_or_default();
    let rows = rdr.records().filter_map(Result::ok).map(|r| r.iter().map(Cell::parse).collect()).collect();
    (header, rows)
}

/// Differences between an expected and an actual table, rows compared as a set;
/// columns named in `ignore` are not compared.
pub fn diff_tables(name: &str, expected: &str, actual: &str, ignore: &[&str]) -> Vec<String> {
    let (eh, mut er) = parse_csv(expected);
    let (ah, mut ar) = parse_csv(actual);
    if eh != ah {
        return vec![format!("{name}: header {ah:?}, expected {eh:?}")];
    }
    let keep: Vec<usize> = (0..eh.len()).filter(|i| !ignore.contains(&eh[*i].as_str())).collect();
    let key = |r: &Vec<Cell>| keep.iter().map(|i| r.get(*i).map_or(String::new(), Cell::sort_key)).collect::<Vec<_>>();
    er.sort_by_key(key);
    ar.sort_by_key(key);
    let mut out = Vec::new();
    if er.len() != ar.len() {
        out.push(format!("{name}: {} rows, expected {}", ar.len(), er.len()));
    }
    for (e, a) in er.iter().zip(&ar) {
        let same = keep.iter().all(|i| match (e.get(*i), a.get(*i)) {
            (Some(x), Some(y)) => x.matches(y),
            (None, None) => true,
            _ => false,
        });
        if !same {
            out.push(format!("{name}: row {a:?}, expected {e:?}"));
        }
    }
    out
}

/// Differences in one KPI field; `expected` of `None` means it must be null.
pub fn diff_number(what: &str, expected: Option<f64>, actual: Option<f64>) -> Option<String> {
    match (expected, actual) {
        (None, None) => None,
        (Some(e), Some(a)) if close(e, a) => None,
        _ => Some(format!("{what}: {actual:?}, expected {expected:?}")),
    }
}

/// A KPI's comparable fields from a `kpis.json` value.
pub fn kpi_fields(kpi: &serde_json::Value) -> BTreeMap<&'static str, serde_json::Value> {
    BTreeMap::from([
        ("value", kpi["value"].clone()),
        ("target", kpi["target"].clone()),
        ("attainment", kpi["attainment"].clone()),
        ("status", kpi["status"].clone()),
        ("previous", kpi["previous"]["value"].clone()),
        ("year_ago", kpi["year_ago"]["value"].clone()),
    ])
}

/// Differences between expected and actual KPI fields (only the expected fields count).
pub fn diff_kpi(id: &str, expected: &BTreeMap<String, serde_json::Value>, actual: &serde_json::Value) -> Vec<String> {
    let fields = kpi_fields(actual);
    let mut out = Vec::new();
    for (field, want) in expected {
        let Some(got) = fields.get(field.as_str()) else {
            out.push(format!("{id}.{field}: not a compared field"));
            continue;
        };
        let problem = match (want, got) {
            (serde_json::Value::String(w), g) => {
                (g.as_str() != Some(w.as_str())).then(|| format!("{id}.{field}: {g}, expected {w}"))
            }
            (w, g) => diff_number(&format!("{id}.{field}"), w.as_f64(), g.as_f64()),
        };
        out.extend(problem);
    }
    out
}
