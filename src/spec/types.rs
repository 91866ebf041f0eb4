//! Column type names as analysts write them in `columns:`.

use datafusion::arrow::datatypes::{DataType, TimeUnit};

/// The type names accepted in `columns:`, for hints.
pub const TYPE_NAMES: &[&str] =
    &["string", "int", "bigint", "int32", "double", "float", "decimal(18,2)", "date", "timestamp", "boolean"];

/// Parses a column type: `string`, `int`/`bigint`, `int32`, `double`/`float`,
/// `decimal(p,s)`, `date`, `timestamp`, `boolean`. Case-insensitive.
pub fn parse_data_type(text: &str) -> Option<DataType> {
    let t = text.trim().to_ascii_lowercase();
    Some(match t.as_str() {
        "string" | "text" | "utf8" | "varchar" => DataType::Utf8,
        "int" | "integer" | "bigint" | "int64" | "long" => DataType::Int64,
        "int32" => DataType::Int32,
        "double" | "float" | "float64" | "real" => DataType::Float64,
        "date" => DataType::Date32,
        "timestamp" => DataType::Timestamp(TimeUnit::Microsecond, None),
        "boolean" | "bool" => DataType::Boolean,
        "decimal" => DataType::Decimal128(18, 2),
        _ => {
            let inner = t.strip_prefix("decimal(")?.strip_suffix(')')?;
            let (p, s) = inner.split_once(',')?;
            let (p, s): (u8, i8) = (p.trim().parse().ok()?, s.trim().parse().ok()?);
            if !(1..=38).contains(&p) || s < 0 || s as u8 > p {
                return None;
            }
            DataType::Decimal128(p, s)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_names() {
        assert_eq!(parse_data_type("Decimal(18, 2)"), Some(DataType::Decimal128(18, 2)));
        assert_eq!(parse_data_type("date"), Some(DataType::Date32));
        assert_eq!(parse_data_type("bigint"), Some(DataType::Int64));
        assert_eq!(parse_data_type("decimal(2,3)"), None);
        assert_eq!(parse_data_type("money"), None);
    }
}
