//! The raw layer: a faithful mirror of a pipeline YAML file, with the source location of
//! every value that a later check may need to point at. Nothing here is validated beyond
//! its YAML shape; [`super::compile`] turns it into a checked [`super::Pipeline`].

use std::fmt;
use std::marker::PhantomData;

use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_saphyr::Spanned;

/// A string value with its location in the YAML file.
pub type Text = Spanned<String>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPipeline {
    pub version: Spanned<u32>,
    pub name: Text,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub grain: Option<Text>,
    #[serde(default)]
    pub fiscal_year_start: Option<Spanned<u32>>,
    /// Fragments (`sources`, `steps`, `checks`, `kpis`, `exports` lists) whose items come
    /// before this file's own, relative to this file.
    #[serde(default)]
    pub include: Vec<Text>,
    #[serde(default)]
    pub sources: Vec<RawSource>,
    #[serde(default)]
    pub steps: Vec<RawStep>,
    #[serde(default)]
    pub checks: Vec<Spanned<RawCheck>>,
    #[serde(default)]
    pub kpis: Vec<RawKpi>,
    #[serde(default)]
    pub exports: Vec<RawExport>,
    #[serde(default)]
    pub reports: Vec<super::report::RawReport>,
    /// Email addresses that get the failure notice when a run fails.
    #[serde(default)]
    pub owners: Vec<Text>,
    #[serde(default)]
    pub schedule: Option<super::schedule::RawSchedule>,
    #[serde(default)]
    pub deliver: Option<super::schedule::RawDeliver>,
}

/// A file included by pipelines: lists only, merged before the including file's own.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawFragment {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub sources: Vec<RawSource>,
    #[serde(default)]
    pub steps: Vec<RawStep>,
    #[serde(default)]
    pub checks: Vec<Spanned<RawCheck>>,
    #[serde(default)]
    pub kpis: Vec<RawKpi>,
    #[serde(default)]
    pub exports: Vec<RawExport>,
}

/// A KPI: a query for its value per period, and optionally a target.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKpi {
    pub id: Text,
    pub label: RawLabel,
    pub unit: Text,
    #[serde(default)]
    pub direction: Option<Text>,
    #[serde(default)]
    pub tolerance: Option<Spanned<f64>>,
    #[serde(default)]
    pub description: Option<String>,
    /// Returns columns `period` (the label, from `period_of(...)`) and `value`.
    pub sql: Text,
    #[serde(default)]
    pub target: Option<Spanned<RawTarget>>,
}

/// A label in every report language.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLabel {
    pub en: String,
    #[serde(rename = "zh-CN")]
    pub zh_cn: String,
}

/// Exactly one of: a fixed `value`, a row of the `targets` table (`metric`, with
/// `dimension`/`dimension_value` defaulting to `all`/`*`), or a `sql` query returning
/// `period` and `target`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTarget {
    #[serde(default)]
    pub value: Option<f64>,
    #[serde(default)]
    pub metric: Option<String>,
    #[serde(default)]
    pub dimension: Option<String>,
    #[serde(default)]
    pub dimension_value: Option<String>,
    #[serde(default)]
    pub sql: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSource {
    pub name: Text,
    pub location: Text,
    #[serde(default)]
    pub format: Option<Text>,
    #[serde(default)]
    pub description: Option<String>,
    /// Column name → type, in file order.
    #[serde(default)]
    pub columns: OrderedMap<Text, Text>,
    #[serde(default)]
    pub csv: Option<RawCsvOptions>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCsvOptions {
    #[serde(default)]
    pub delimiter: Option<Text>,
    #[serde(default)]
    pub header: Option<bool>,
    #[serde(default)]
    pub null_values: Option<Vec<String>>,
    #[serde(default)]
    pub date_format: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    pub name: Text,
    pub sql: Text,
    #[serde(default)]
    pub description: Option<String>,
}

/// One data-quality check; the YAML key names the kind, e.g. `- unique: {table: orders, columns: [order_id]}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RawCheck {
    NotNull(RawColumnsCheck),
    Unique(RawColumnsCheck),
    AcceptedValues(RawAcceptedValues),
    RowCountMin(RawRowCountMin),
    Relationship(RawRelationship),
    Sql(RawSqlCheck),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawColumnsCheck {
    pub table: Text,
    pub columns: Columns,
    #[serde(default)]
    pub severity: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAcceptedValues {
    pub table: Text,
    pub column: Text,
    pub values: Vec<String>,
    #[serde(default)]
    pub severity: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRowCountMin {
    pub table: Text,
    pub min: u64,
    #[serde(default)]
    pub severity: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRelationship {
    pub table: Text,
    pub column: Text,
    /// `table.column` that every non-null key must exist in.
    pub to: Text,
    #[serde(default)]
    pub severity: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSqlCheck {
    pub name: Text,
    /// A query that returns the violating rows.
    pub query: Text,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub severity: Option<Text>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExport {
    pub table: Text,
    /// The file's name without extension; the table's name by default.
    #[serde(default, rename = "as")]
    pub file_name: Option<Text>,
    #[serde(default)]
    pub format: Option<Text>,
}

/// A YAML mapping kept in file order (serde maps lose it).
#[derive(Debug)]
pub struct OrderedMap<K, V>(pub Vec<(K, V)>);

impl<K, V> Default for OrderedMap<K, V> {
    fn default() -> Self {
        OrderedMap(Vec::new())
    }
}

impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Deserialize<'de> for OrderedMap<K, V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MapVisitor<K, V>(PhantomData<(K, V)>);
        impl<'de, K: Deserialize<'de>, V: Deserialize<'de>> Visitor<'de> for MapVisitor<K, V> {
            type Value = OrderedMap<K, V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping of column names to types")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(OrderedMap(entries))
            }
        }
        deserializer.deserialize_map(MapVisitor(PhantomData))
    }
}

/// Column names written either alone or as a list: `columns: id` or `columns: [a, b]`.
/// A lone name has no location of its own; diagnostics point at the check instead.
#[derive(Debug)]
pub struct Columns(pub Vec<Text>);

impl<'de> Deserialize<'de> for Columns {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Columns;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a column name or a list of column names")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Columns(items))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                let unknown = serde_saphyr::Location::UNKNOWN;
                Ok(Columns(vec![Spanned { value: v.to_string(), referenced: unknown, defined: unknown }]))
            }
        }
        deserializer.deserialize_any(V)
    }
}
