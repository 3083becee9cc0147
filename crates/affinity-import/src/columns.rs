//! The header: which column is which field, which are parameters, which are ignored.

use std::collections::BTreeSet;

/// What the header may hold, besides the standard columns.
#[derive(Debug, Clone, Default)]
pub struct ColumnSpec {
    /// Parameter ids of the interaction types the file may hold (one type, or all for a mixed file).
    pub parameters: BTreeSet<String>,
    /// Whether an `item_id` column may be absent (a file of one custom interaction type).
    pub item_optional: bool,
    /// Whether an `event` column is required (no interaction type was given with the upload).
    pub event_required: bool,
}

/// Why a header is refused; the whole file is refused before any row is stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("Missing required column: {column} (columns found: {})", found.join(", "))]
    MissingColumn { column: &'static str, found: Vec<String> },
    #[error("The file is empty: a header row is required")]
    Empty,
    #[error("The header is not valid UTF-8")]
    InvalidUtf8,
    #[error("Could not read the file: {0}")]
    Unreadable(String),
}

/// A standard field of an event and the column names that mean it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Customer,
    Item,
    Date,
    Quantity,
    Price,
    EventId,
    Event,
    /// The order a `cart` or `purchase` line belongs to.
    OrderId,
}

impl Field {
    /// Reads a column name (trimmed, any case).
    pub fn parse(name: &str) -> Option<Field> {
        Some(match name.trim().to_ascii_lowercase().as_str() {
            "user_id" | "customer" => Field::Customer,
            "item_id" | "item" => Field::Item,
            "timestamp" | "date" => Field::Date,
            "quantity" => Field::Quantity,
            "price" => Field::Price,
            "event_id" | "id" => Field::EventId,
            "event" => Field::Event,
            "order_id" | "order" => Field::OrderId,
            _ => return None,
        })
    }

    /// The name of the field in `POST /feedback` (and in validation errors).
    pub fn api_name(self) -> &'static str {
        match self {
            Field::Customer => "customer",
            Field::Item => "item",
            Field::Date => "date",
            Field::Quantity => "quantity",
            Field::Price => "price",
            Field::EventId => "id",
            Field::Event => "event",
            Field::OrderId => "order_id",
        }
    }
}

/// What each column of a file means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Column {
    Field(Field),
    Parameter(String),
    Ignored,
}

/// The meaning of every column of a header.
#[derive(Debug, Clone)]
pub struct Columns {
    /// The header as written.
    pub names: Vec<String>,
    pub kinds: Vec<Column>,
    /// Columns that mean nothing here, in header order.
    pub ignored: Vec<String>,
}

impl Columns {
    /// Maps a header. The first column naming a field wins; later duplicates are ignored.
    ///
    /// Errors: [`HeaderError::MissingColumn`] for a missing `user_id`, `item_id` (unless optional) or `event`
    /// (when required).
    pub fn new(names: Vec<String>, spec: &ColumnSpec) -> Result<Columns, HeaderError> {
        let mut kinds = Vec::with_capacity(names.len());
        let mut ignored = Vec::new();
        for name in &names {
            let field = Field::parse(name).filter(|f| !kinds.contains(&Column::Field(*f)));
            let kind = match field {
                Some(f) => Column::Field(f),
                None if spec.parameters.contains(&name.trim().to_ascii_lowercase()) => {
                    Column::Parameter(name.trim().to_ascii_lowercase())
                }
                None => {
                    ignored.push(name.clone());
                    Column::Ignored
                }
            };
            kinds.push(kind);
        }
        let columns = Columns { names, kinds, ignored };
        let missing = |column| Err(HeaderError::MissingColumn { column, found: columns.names.clone() });
        if !columns.has(Field::Customer) {
            return missing("user_id");
        }
        if !spec.item_optional && !columns.has(Field::Item) {
            return missing("item_id");
        }
        if spec.event_required && !columns.has(Field::Event) {
            return missing("event");
        }
        Ok(columns)
    }

    fn has(&self, f: Field) -> bool {
        self.kinds.contains(&Column::Field(f))
    }

    /// A validation problem as a sentence naming the file's own columns ("Missing required field: item_id").
    pub fn message(&self, p: &affinity_core::Problem) -> String {
        if p.kind != affinity_core::ProblemKind::MissingField {
            return p.message.clone();
        }
        format!("Missing required field: {}", self.column_for(p.field.as_deref().unwrap_or("")))
    }

    /// The file's column for a problem's field path (`item` → `item_id`, `params.amount` → `amount`); the seed's
    /// names when the file has no such column.
    pub fn column_for(&self, api_field: &str) -> String {
        if let Some(name) = self.file_name(api_field) {
            return name.to_string();
        }
        match api_field {
            "customer" => "user_id",
            "item" => "item_id",
            "date" => "timestamp",
            "id" => "event_id",
            other => other.strip_prefix("params.").unwrap_or(other),
        }
        .to_string()
    }

    /// The customer and item of a row that could not be read as an event (wrong field count, invalid UTF-8
    /// elsewhere), from their columns when those hold readable text; for the report.
    pub fn ids_of(&self, record: &csv::ByteRecord) -> (Option<String>, Option<String>) {
        let find = |f: Field| {
            let at = self.kinds.iter().position(|k| *k == Column::Field(f))?;
            let text = std::str::from_utf8(record.get(at)?).ok()?.trim();
            (!text.is_empty()).then(|| text.to_string())
        };
        (find(Field::Customer), find(Field::Item))
    }

    /// The file's own name for an API field (`item` → `item_id`), for error messages.
    pub fn file_name(&self, api_name: &str) -> Option<&str> {
        self.kinds.iter().zip(&self.names).find_map(|(k, n)| match k {
            Column::Field(f) if f.api_name() == api_name => Some(n.trim()),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn maps_aliases_parameters_and_ignored() {
        let spec = ColumnSpec { parameters: ["amount".to_string()].into(), ..Default::default() };
        let c = Columns::new(names(&["Customer", "item", "date", "amount", "colour", "user_id"]), &spec).unwrap();
        assert_eq!(c.kinds[0], Column::Field(Field::Customer));
        assert_eq!(c.kinds[3], Column::Parameter("amount".into()));
        assert_eq!(c.ignored, names(&["colour", "user_id"]));
        assert_eq!(c.file_name("item"), Some("item"));
    }

    #[test]
    fn missing_columns_are_named_with_what_was_found() {
        let err = Columns::new(names(&["user_id", "price"]), &ColumnSpec::default()).unwrap_err();
        assert_eq!(err, HeaderError::MissingColumn { column: "item_id", found: names(&["user_id", "price"]) });
        assert_eq!(err.to_string(), "Missing required column: item_id (columns found: user_id, price)");
        let spec = ColumnSpec { item_optional: true, event_required: true, ..Default::default() };
        assert!(matches!(
            Columns::new(names(&["user_id"]), &spec),
            Err(HeaderError::MissingColumn { column: "event", .. })
        ));
    }
}
