//! Events as they arrive, before validation, read in one pass over the request body.
//!
//! Every field is kept as whatever JSON it was, so that [`crate::event::validate`] can say precisely what is wrong
//! with each; a batch element that is not even an object is kept as a [`RawRow::NotAnObject`] so that one bad
//! element fails its row, not the request.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// One event as sent. The first key that is not a field of the API is kept in `unknown`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct RawEvent {
    pub event: Option<Value>,
    pub item: Option<Value>,
    pub customer: Option<Value>,
    pub date: Option<Value>,
    pub quantity: Option<Value>,
    pub price: Option<Value>,
    pub id: Option<Value>,
    pub params: Option<Value>,
    pub order_id: Option<Value>,
    pub unknown: Option<String>,
}

fn read_event<'de, A: MapAccess<'de>>(mut map: A) -> Result<RawEvent, A::Error> {
    let mut r = RawEvent::default();
    while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
        let slot = match key.as_ref() {
            "event" => &mut r.event,
            "item" => &mut r.item,
            "customer" => &mut r.customer,
            "date" => &mut r.date,
            "quantity" => &mut r.quantity,
            "price" => &mut r.price,
            "id" => &mut r.id,
            "params" => &mut r.params,
            "order_id" => &mut r.order_id,
            _ => {
                if r.unknown.is_none() {
                    r.unknown = Some(key.into_owned());
                }
                map.next_value::<IgnoredAny>()?;
                continue;
            }
        };
        *slot = Some(map.next_value()?);
    }
    Ok(r)
}

impl<'de> Deserialize<'de> for RawEvent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawEvent;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an event object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawEvent, A::Error> {
                read_event(map)
            }
        }
        d.deserialize_map(V)
    }
}

/// One element of a batch: an event object, or the name of the JSON type found instead.
// Rows are nearly always events: boxing them would cost an allocation per row for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum RawRow {
    Event(RawEvent),
    NotAnObject(&'static str),
}

/// The `data` of a request: one event object, or an array of rows.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum RawData {
    One(RawEvent),
    Many(Vec<RawRow>),
}

/// A visitor that accepts any JSON value, reading objects as events and naming anything else.
struct RowVisitor;

macro_rules! not_an_object {
    ($($method:ident: $t:ty => $name:literal),* $(,)?) => {
        $(fn $method<E: de::Error>(self, _: $t) -> Result<RawRow, E> { Ok(RawRow::NotAnObject($name)) })*
    };
}

impl<'de> Visitor<'de> for RowVisitor {
    type Value = RawRow;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawRow, A::Error> {
        read_event(map).map(RawRow::Event)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawRow, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(RawRow::NotAnObject("an array"))
    }
    fn visit_unit<E: de::Error>(self) -> Result<RawRow, E> {
        Ok(RawRow::NotAnObject("null"))
    }
    not_an_object! {
        visit_bool: bool => "a boolean",
        visit_i64: i64 => "a number",
        visit_u64: u64 => "a number",
        visit_f64: f64 => "a number",
        visit_str: &str => "a string",
    }
}

impl<'de> Deserialize<'de> for RawRow {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RowVisitor)
    }
}

impl<'de> Deserialize<'de> for RawData {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawData;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an event object or an array of event objects")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawData, A::Error> {
                read_event(map).map(RawData::One)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawData, A::Error> {
                let mut rows = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(10_000));
                while let Some(row) = seq.next_element::<RawRow>()? {
                    rows.push(row);
                }
                Ok(RawData::Many(rows))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn one_or_many_in_one_pass() {
        let one: RawData = serde_json::from_str(r#"{"event":"view","colour":1,"size":2}"#).unwrap();
        let RawData::One(e) = one else { panic!("one event") };
        assert_eq!((e.event, e.unknown.as_deref()), (Some(Value::from("view")), Some("colour")));
        let many: RawData = serde_json::from_str(r#"[{"item":"a"}, "x", 3, null, [1], true]"#).unwrap();
        let RawData::Many(rows) = many else { panic!("many") };
        assert!(matches!(&rows[0], RawRow::Event(e) if e.item == Some(Value::from("a"))));
        let kinds: Vec<_> = rows[1..]
            .iter()
            .map(|r| match r {
                RawRow::NotAnObject(k) => *k,
                RawRow::Event(_) => "event",
            })
            .collect();
        assert_eq!(kinds, ["a string", "a number", "null", "an array", "a boolean"]);
        assert!(serde_json::from_str::<RawData>("\"x\"").is_err());
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,200}") {
            let _ = serde_json::from_str::<RawData>(&s);
        }
    }
}
