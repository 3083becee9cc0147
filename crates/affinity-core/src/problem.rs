//! Why an input was refused: a machine-readable kind, the field it concerns and a sentence for people.

/// The kinds of bad input the domain recognises; each is one stable error code ([`ProblemKind::code`]) answered
/// with HTTP 400.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemKind {
    /// The body is not JSON, or not the expected JSON shape.
    InvalidJson,
    /// A required field is absent or null.
    MissingField,
    /// A field that the API does not know.
    UnknownField,
    /// `event` names no interaction type of the project.
    UnknownEvent,
    /// `event` names an archived custom interaction type.
    ArchivedEvent,
    /// A key of `params` that the interaction type does not declare.
    UnknownParameter,
    /// A parameter value of the wrong type or out of range.
    InvalidParameter,
    /// A date that cannot be read, or more than 24 h in the future.
    InvalidDate,
    /// A quantity that is not a number > 0, or given for a type without quantities.
    InvalidQuantity,
    /// A price that is not a number >= 0, or given for a type without prices.
    InvalidPrice,
    /// An id (event, customer, item, project, key, interaction type, parameter) that breaks the id rules.
    InvalidId,
    /// A field value that breaks a rule not covered above (a name too long, an unknown parameter type...).
    InvalidField,
}

impl ProblemKind {
    /// Every kind, in the order above.
    pub const ALL: [ProblemKind; 12] = [
        ProblemKind::InvalidJson,
        ProblemKind::MissingField,
        ProblemKind::UnknownField,
        ProblemKind::UnknownEvent,
        ProblemKind::ArchivedEvent,
        ProblemKind::UnknownParameter,
        ProblemKind::InvalidParameter,
        ProblemKind::InvalidDate,
        ProblemKind::InvalidQuantity,
        ProblemKind::InvalidPrice,
        ProblemKind::InvalidId,
        ProblemKind::InvalidField,
    ];

    /// The stable error code of this kind, as the API reports it (`missing_field`…). All answer HTTP 400.
    pub fn code(self) -> &'static str {
        match self {
            ProblemKind::InvalidJson => "invalid_json",
            ProblemKind::MissingField => "missing_field",
            ProblemKind::UnknownField => "unknown_field",
            ProblemKind::UnknownEvent => "unknown_event",
            ProblemKind::ArchivedEvent => "archived_event",
            ProblemKind::UnknownParameter => "unknown_parameter",
            ProblemKind::InvalidParameter => "invalid_parameter",
            ProblemKind::InvalidDate => "invalid_date",
            ProblemKind::InvalidQuantity => "invalid_quantity",
            ProblemKind::InvalidPrice => "invalid_price",
            ProblemKind::InvalidId => "invalid_id",
            ProblemKind::InvalidField => "invalid_field",
        }
    }
}

/// One refused input: kind, the field's path in the request (`data.item`, `data[3].date`, `parameters[1].type`)
/// and a message in the seed's style ("Missing required field: item").
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct Problem {
    pub kind: ProblemKind,
    pub field: Option<String>,
    pub message: String,
}

impl Problem {
    pub fn new(kind: ProblemKind, field: impl Into<String>, message: impl Into<String>) -> Self {
        Problem { kind, field: Some(field.into()), message: message.into() }
    }

    /// "Missing required field: {name}", with `field` as the full path.
    pub fn missing(field: impl Into<String>, name: &str) -> Self {
        Problem::new(ProblemKind::MissingField, field, format!("Missing required field: {name}"))
    }

    /// Prefixes the field path, e.g. `item` becomes `data.item` or `data[3].item`.
    pub fn under(mut self, prefix: &str) -> Self {
        self.field = Some(match self.field {
            Some(f) if f.starts_with('[') => format!("{prefix}{f}"),
            Some(f) => format!("{prefix}.{f}"),
            None => prefix.to_string(),
        });
        self
    }
}
