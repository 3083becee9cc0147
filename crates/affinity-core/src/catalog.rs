//! The interaction catalog (seed `000`): the four built-in interaction types and merchants' custom types with typed
//! parameters.

use serde::{Deserialize, Serialize};

use crate::ids::is_catalog_id;
use crate::problem::{Problem, ProblemKind};

/// Most parameters a custom interaction type may declare.
pub const MAX_PARAMETERS: usize = 64;
/// Longest interaction type name, in characters.
pub const MAX_NAME_CHARS: usize = 128;

/// The type of a custom interaction parameter: exactly the seed's five ("yes or no" is `boolean`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ParamType {
    Text,
    Number,
    Date,
    Boolean,
    Item,
}

impl ParamType {
    /// Reads a type name; `None` for anything but the five names.
    pub fn parse(name: &str) -> Option<ParamType> {
        Some(match name {
            "text" => ParamType::Text,
            "number" => ParamType::Number,
            "date" => ParamType::Date,
            "boolean" => ParamType::Boolean,
            "item" => ParamType::Item,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ParamType::Text => "text",
            ParamType::Number => "number",
            ParamType::Date => "date",
            ParamType::Boolean => "boolean",
            ParamType::Item => "item",
        }
    }
}

/// One declared parameter of an interaction type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Parameter {
    /// `[a-z0-9_]{1,64}`, unique within its type.
    pub id: String,
    #[serde(rename = "type")]
    pub kind: ParamType,
    #[serde(default)]
    pub required: bool,
}

/// An interaction type: built-in (`view`, `cart`, `like`, `purchase`) or custom.
///
/// For `cart` and `purchase` the parameters `quantity` and `price` describe the events' top-level `quantity` and
/// `price` fields; custom types' parameters travel in an event's `params` object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct InteractionType {
    pub id: String,
    pub name: String,
    pub parameters: Vec<Parameter>,
    pub builtin: bool,
    pub archived: bool,
}

/// Ids and names of the built-in interaction types, in catalog order.
pub const BUILTINS: [(&str, &str); 4] =
    [(VIEW, "View item"), (CART, "Add to cart"), (LIKE, "Add to favorite"), (PURCHASE, "Purchase")];

/// The built-in interaction types' ids (the seed's `event` values): match these, never the literals.
pub const VIEW: &str = "view";
/// Add to cart; takes `quantity` and `price`.
pub const CART: &str = "cart";
/// Add to favorites.
pub const LIKE: &str = "like";
/// Purchase; takes `quantity` and `price`.
pub const PURCHASE: &str = "purchase";

/// Most interaction types a project may have, built-ins included (views number them in 16 bits).
pub const MAX_TYPES: usize = 1024;

/// Whether a built-in type takes `quantity` and `price`.
pub fn takes_quantity_and_price(id: &str) -> bool {
    id == CART || id == PURCHASE
}

/// Whether `id` is one of the four built-in interaction types.
pub fn is_builtin(id: &str) -> bool {
    BUILTINS.iter().any(|(b, _)| *b == id)
}

/// The four built-in interaction types, as every project has them.
pub fn builtins() -> Vec<InteractionType> {
    BUILTINS
        .iter()
        .map(|(id, name)| InteractionType {
            id: id.to_string(),
            name: name.to_string(),
            parameters: if takes_quantity_and_price(id) {
                ["quantity", "price"]
                    .iter()
                    .map(|p| Parameter { id: p.to_string(), kind: ParamType::Number, required: false })
                    .collect()
            } else {
                Vec::new()
            },
            builtin: true,
            archived: false,
        })
        .collect()
}

impl InteractionType {
    /// The declared parameter `id`, if any.
    pub fn parameter(&self, id: &str) -> Option<&Parameter> {
        self.parameters.iter().find(|p| p.id == id)
    }
}

/// Checks a custom interaction type definition as submitted (`POST …/interactions`).
///
/// Errors (`field` is the path in the request body): a built-in id, an id or parameter id not matching
/// `[a-z0-9_]{1,64}`, an empty or over-long name, a duplicate parameter id, too many parameters.
/// Unknown parameter types are refused earlier, when the body is read (see [`parse_param_type`]).
pub fn check_definition(def: &InteractionType) -> Result<(), Problem> {
    if is_builtin(&def.id) {
        return Err(Problem::new(
            ProblemKind::InvalidId,
            "id",
            format!("\"{}\" is a built-in interaction type; choose another id", def.id),
        ));
    }
    if !is_catalog_id(&def.id) {
        return Err(Problem::new(ProblemKind::InvalidId, "id", "Invalid id: must match [a-z0-9_]{1,64}"));
    }
    check_name(&def.name)?;
    if def.parameters.len() > MAX_PARAMETERS {
        return Err(Problem::new(
            ProblemKind::InvalidField,
            "parameters",
            format!("At most {MAX_PARAMETERS} parameters are allowed"),
        ));
    }
    for (i, p) in def.parameters.iter().enumerate() {
        if !is_catalog_id(&p.id) {
            return Err(Problem::new(
                ProblemKind::InvalidId,
                format!("parameters[{i}].id"),
                format!("Invalid parameter id \"{}\": must match [a-z0-9_]{{1,64}}", p.id),
            ));
        }
        if def.parameters[..i].iter().any(|q| q.id == p.id) {
            return Err(Problem::new(
                ProblemKind::InvalidField,
                format!("parameters[{i}].id"),
                format!("Duplicate parameter id: {}", p.id),
            ));
        }
    }
    Ok(())
}

/// Checks an interaction type name: 1–128 characters, not blank, no control characters.
pub fn check_name(name: &str) -> Result<(), Problem> {
    if name.trim().is_empty() || name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(Problem::new(
            ProblemKind::InvalidField,
            "name",
            format!("Invalid name: must be 1 to {MAX_NAME_CHARS} characters without control characters"),
        ));
    }
    Ok(())
}

/// Reads a parameter type name at `field`; the error lists the five valid names.
pub fn parse_param_type(name: &str, field: &str) -> Result<ParamType, Problem> {
    ParamType::parse(name).ok_or_else(|| {
        Problem::new(
            ProblemKind::InvalidField,
            field,
            format!("Unknown parameter type \"{name}\": use text, number, date, boolean or item"),
        )
    })
}

/// Why an update of an interaction type is refused while events of the type exist (HTTP 409).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpdateConflict {
    #[error("Parameter \"{0}\" cannot be removed while events of this type exist")]
    Removed(String),
    #[error("Parameter \"{0}\" cannot change type while events of this type exist")]
    Retyped(String),
    #[error("Parameter \"{0}\" cannot become required while events of this type exist")]
    MadeRequired(String),
}

/// Checks a change of a custom type from `old` to `new`. With stored events, parameters may only be added (as
/// optional) and the name changed; without events anything goes.
pub fn check_update(old: &InteractionType, new: &InteractionType, has_events: bool) -> Result<(), UpdateConflict> {
    if !has_events {
        return Ok(());
    }
    for p in &old.parameters {
        match new.parameter(&p.id) {
            None => return Err(UpdateConflict::Removed(p.id.clone())),
            Some(q) if q.kind != p.kind => return Err(UpdateConflict::Retyped(p.id.clone())),
            Some(q) if q.required && !p.required => {
                return Err(UpdateConflict::MadeRequired(p.id.clone()));
            }
            Some(_) => {}
        }
    }
    for q in &new.parameters {
        if q.required && old.parameter(&q.id).is_none() {
            return Err(UpdateConflict::MadeRequired(q.id.clone()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loan() -> InteractionType {
        InteractionType {
            id: "loan_application".into(),
            name: "Loan application".into(),
            parameters: vec![
                Parameter { id: "amount".into(), kind: ParamType::Number, required: true },
                Parameter { id: "channel".into(), kind: ParamType::Text, required: false },
            ],
            builtin: false,
            archived: false,
        }
    }

    #[test]
    fn builtins_match_the_seed() {
        let b = builtins();
        let names: Vec<_> = b.iter().map(|t| (t.id.as_str(), t.name.as_str())).collect();
        assert_eq!(
            names,
            [("view", "View item"), ("cart", "Add to cart"), ("like", "Add to favorite"), ("purchase", "Purchase")]
        );
        assert!(b[1].parameter("quantity").is_some() && b[3].parameter("price").is_some());
        assert!(b[0].parameters.is_empty());
    }

    #[test]
    fn definitions() {
        assert!(check_definition(&loan()).is_ok());
        let mut d = loan();
        d.id = "purchase".into();
        assert!(check_definition(&d).unwrap_err().message.contains("built-in"));
        let mut d = loan();
        d.parameters.push(d.parameters[0].clone());
        assert_eq!(check_definition(&d).unwrap_err().field.as_deref(), Some("parameters[2].id"));
        let mut d = loan();
        d.name = " ".into();
        assert!(check_definition(&d).is_err());
        assert!(parse_param_type("money", "parameters[0].type").is_err());
        assert_eq!(parse_param_type("boolean", "x"), Ok(ParamType::Boolean));
    }

    #[test]
    fn updates_with_events() {
        let old = loan();
        let mut renamed = loan();
        renamed.name = "Loan".into();
        renamed.parameters.push(Parameter { id: "due".into(), kind: ParamType::Date, required: false });
        assert!(check_update(&old, &renamed, true).is_ok());
        let mut removed = loan();
        removed.parameters.pop();
        assert_eq!(check_update(&old, &removed, true), Err(UpdateConflict::Removed("channel".into())));
        assert!(check_update(&old, &removed, false).is_ok());
        let mut retyped = loan();
        retyped.parameters[1].kind = ParamType::Number;
        assert_eq!(check_update(&old, &retyped, true), Err(UpdateConflict::Retyped("channel".into())));
        let mut required = loan();
        required.parameters.push(Parameter { id: "x".into(), kind: ParamType::Text, required: true });
        assert!(check_update(&old, &required, true).is_err());
    }
}
