//! Per-project recommendation settings (issue 4): how much each interaction type counts, how fast interactions
//! fade, what a customer's recommendations leave out, and when models retrain.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::catalog::{CART, InteractionType, LIKE, PURCHASE, VIEW};
use crate::problem::{Problem, ProblemKind};

/// Weights of the built-in interaction types when the settings do not name them; custom types weigh 0.
pub const DEFAULT_WEIGHTS: [(&str, f64); 4] = [(PURCHASE, 4.0), (CART, 3.0), (LIKE, 2.0), (VIEW, 1.0)];

/// Longest retraining period: a year, in minutes.
pub const MAX_RETRAIN_MINUTES: u64 = 525_600;

/// When models retrain on their own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RetrainPolicy {
    /// Retrain once this many events arrived since the last training (`null`: never on count).
    #[serde(default = "default_after_events")]
    pub after_events: Option<u64>,
    /// Retrain this many minutes after the last training if any event arrived since (`null`: never on time).
    #[serde(default = "default_every_minutes")]
    pub every_minutes: Option<u64>,
}

fn default_after_events() -> Option<u64> {
    Some(10_000)
}

fn default_every_minutes() -> Option<u64> {
    Some(60)
}

impl Default for RetrainPolicy {
    fn default() -> Self {
        RetrainPolicy { after_events: default_after_events(), every_minutes: default_every_minutes() }
    }
}

/// A project's settings. Every field has a default, so `{}` is valid and `PUT` replaces the whole document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Weight of each interaction type, >= 0. Built-ins default to purchase 4, cart 3, like 2, view 1; custom types
    /// weigh 0 (are ignored by models) until set.
    #[serde(default)]
    pub weights: BTreeMap<String, f64>,
    /// Half-life of an interaction's weight, in days, counted back from the customer's newest event (popularity:
    /// from the project's newest event, so an old dataset does not fade to nothing): `"auto"` (the default: tuned at every training on the project's own last
    /// baskets), a number of days > 0, or `null` (no decay).
    #[serde(default)]
    #[cfg_attr(feature = "utoipa", schema(value_type = Object))]
    pub half_life_days: Tunable<Option<f64>>,
    /// Interaction types whose items are left out of a customer's recommendations unless the request says
    /// otherwise (`exclude=`): a list, or `"auto"` (the default): purchased items are left out of the discovery
    /// models' candidates and come back through repeat purchases with the weight training tuned (none when
    /// repeats do not help the project).
    #[serde(default)]
    #[cfg_attr(feature = "utoipa", schema(value_type = Object))]
    pub exclude: Exclude,
    /// The weight of repeat purchases in the personalized answer, 0 to 1; `null` (the default): tuned on the
    /// project's own last baskets at every training.
    #[serde(default)]
    pub repeat_weight: Option<f64>,
    /// Two purchases by one customer at most this many hours apart are "bought together".
    #[serde(default = "default_bought_together_hours")]
    pub bought_together_window_hours: f64,
    #[serde(default)]
    pub retrain: RetrainPolicy,
    /// The personalized model: `auto` (EASE up to its 12,000-item limit, then iALS), `ease`, or `large` (iALS,
    /// whatever the catalog).
    #[serde(default = "default_personalized_model")]
    pub personalized_model: String,
    /// EASE's L2 penalty λ (Steck, WWW 2019): `"auto"` (the default: tuned at every training, 500 without
    /// validation baskets) or a number > 0.
    #[serde(default)]
    #[cfg_attr(feature = "utoipa", schema(value_type = Object))]
    pub ease_lambda: Tunable<f64>,
    /// EASE's dropout emphasis p in [0, 1): adds `p / (1 - p)` times each item's own Gram entry to its penalty,
    /// the full-rank EDLAE of Steck, "Autoencoders that don't overfit towards the Identity" (NeurIPS 2020),
    /// section 3. 0 is plain EASE. `"auto"` (the default): tuned at every training, 0.33 without validation
    /// baskets.
    #[serde(default)]
    #[cfg_attr(feature = "utoipa", schema(value_type = Object))]
    pub ease_dropout: Tunable<f64>,
    /// The project's time zone (IANA name, e.g. `Europe/Paris`): targeting's time conditions (issue 8) read the
    /// local date, day of the week and time of day in it.
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
    /// A session ends after this many minutes without events (targeting's session conditions), 1 to 1440.
    #[serde(default = "default_session_minutes")]
    pub session_minutes: u32,
    /// Origins whose web pages may call the public routes (events, recommendations, decide, identify, exposures,
    /// impressions and clicks) with a public key, exactly as a browser sends them: `https://shop.example`,
    /// `http://localhost:8080` (scheme, host, optional port; no path). Requests from other origins get 403
    /// `origin_not_allowed`. Empty (the default): no web page may.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Requests per second one public key may send from one client address (a token bucket's refill rate), > 0.
    #[serde(default = "default_rate_limit")]
    pub rate_limit_per_second: f64,
    /// Requests one public key may send from one client address at once (the bucket's size), >= 1.
    #[serde(default = "default_rate_limit_burst")]
    pub rate_limit_burst: u32,
    /// A purchase of an item clicked in a recommendation, by the customer who clicked, within this many days of
    /// the click is attributed to that recommendation (`GET …/recommendations/report`), 1 to 90.
    #[serde(default = "default_attribution_window_days")]
    pub attribution_window_days: u32,
}

/// Longest `attribution_window_days`.
pub const MAX_ATTRIBUTION_WINDOW_DAYS: u32 = 90;

fn default_attribution_window_days() -> u32 {
    7
}

fn default_rate_limit() -> f64 {
    20.0
}

fn default_rate_limit_burst() -> u32 {
    100
}

/// Whether `origin` is what a browser sends as `Origin`: `http://` or `https://`, then a lowercase host with an
/// optional port other than the scheme's default, nothing after.
pub fn is_origin(origin: &str) -> bool {
    let rest = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"));
    // Browsers send hosts in lowercase and leave default ports out: anything else would never match.
    let default_port = (origin.starts_with("https://") && origin.ends_with(":443"))
        || (origin.starts_with("http://") && origin.ends_with(":80"));
    rest.is_some_and(|host| {
        !host.is_empty()
            && !default_port
            && host
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | ':' | '[' | ']' | '_'))
    })
}

fn default_personalized_model() -> String {
    "auto".into()
}

fn default_time_zone() -> String {
    "UTC".into()
}

fn default_session_minutes() -> u32 {
    30
}

/// EASE's λ when it is not pinned and training has no validation baskets to tune it on.
pub const DEFAULT_EASE_LAMBDA: f64 = 500.0;

/// EASE's dropout emphasis when it is not pinned and training has no validation baskets. Chosen on validation
/// splits carved out of the MovieLens-100K and -1M training files (never the test files): 0.25 to 0.5 beat 0 on
/// both, by about 1 % of Recall@20 (see BENCHMARKS.md).
pub const DEFAULT_EASE_DROPOUT: f64 = 0.33;

/// A model parameter training tunes (`"auto"`, the default) or one the settings pin (its value).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Tunable<T> {
    #[default]
    Auto,
    Pinned(T),
}

impl<T: Copy> Tunable<T> {
    /// The pinned value, else `auto`'s.
    pub fn or(self, auto: T) -> T {
        match self {
            Tunable::Auto => auto,
            Tunable::Pinned(v) => v,
        }
    }

    /// The pinned value, if any.
    pub fn pinned(self) -> Option<T> {
        match self {
            Tunable::Auto => None,
            Tunable::Pinned(v) => Some(v),
        }
    }
}

impl<T: Serialize> Serialize for Tunable<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Tunable::Auto => s.serialize_str("auto"),
            Tunable::Pinned(v) => v.serialize(s),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Tunable<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form<T> {
            Word(String),
            Value(T),
        }
        match Form::<T>::deserialize(d)? {
            Form::Word(w) if w == "auto" => Ok(Tunable::Auto),
            Form::Word(w) => Err(serde::de::Error::custom(format!("expected \"auto\" or a value, not {w:?}"))),
            Form::Value(v) => Ok(Tunable::Pinned(v)),
        }
    }
}

/// The `exclude` setting: `"auto"` or a list of interaction types.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Exclude {
    /// Purchased items out of the discovery candidates, back through the tuned repeat weight.
    #[default]
    Auto,
    /// These types' items out of the answer, whatever the model.
    Types(Vec<String>),
}

impl Exclude {
    /// The types whose items the discovery models leave out: `auto` leaves out purchases.
    pub fn types(&self) -> Vec<String> {
        match self {
            Exclude::Auto => vec![PURCHASE.into()],
            Exclude::Types(t) => t.clone(),
        }
    }
}

impl Serialize for Exclude {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Exclude::Auto => s.serialize_str("auto"),
            Exclude::Types(t) => t.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Exclude {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Word(String),
            List(Vec<String>),
        }
        match Form::deserialize(d)? {
            Form::Word(w) if w == "auto" => Ok(Exclude::Auto),
            Form::Word(w) => {
                Err(serde::de::Error::custom(format!("exclude must be \"auto\" or a list of types, not {w:?}")))
            }
            Form::List(l) => Ok(Exclude::Types(l)),
        }
    }
}

fn default_bought_together_hours() -> f64 {
    24.0
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            weights: BTreeMap::new(),
            half_life_days: Tunable::Auto,
            exclude: Exclude::Auto,
            repeat_weight: None,
            personalized_model: default_personalized_model(),
            bought_together_window_hours: default_bought_together_hours(),
            retrain: RetrainPolicy::default(),
            ease_lambda: Tunable::Auto,
            ease_dropout: Tunable::Auto,
            time_zone: default_time_zone(),
            session_minutes: default_session_minutes(),
            allowed_origins: Vec::new(),
            rate_limit_per_second: default_rate_limit(),
            rate_limit_burst: default_rate_limit_burst(),
            attribution_window_days: default_attribution_window_days(),
        }
    }
}

impl Settings {
    /// The weight of interaction type `kind`: the one set, else the built-in default, else 0.
    pub fn weight(&self, kind: &str) -> f64 {
        if let Some(w) = self.weights.get(kind) {
            return *w;
        }
        DEFAULT_WEIGHTS.iter().find(|(k, _)| *k == kind).map_or(0.0, |(_, w)| *w)
    }

    /// Checks the values and that every interaction type named exists in `types`. Errors name the field
    /// (`weights.loan`, `exclude[1]`, `half_life_days`).
    pub fn check(&self, types: &[InteractionType]) -> Result<(), Problem> {
        let known = |k: &str| types.iter().any(|t| t.id == k);
        let invalid = |field: String, message: String| Err(Problem::new(ProblemKind::InvalidField, field, message));
        for (kind, w) in &self.weights {
            if !known(kind) {
                return Err(Problem::new(
                    ProblemKind::UnknownEvent,
                    format!("weights.{kind}"),
                    format!("Unknown interaction type: {kind}"),
                ));
            }
            if !w.is_finite() || *w < 0.0 {
                return invalid(format!("weights.{kind}"), format!("Invalid weight for {kind}: {w} (a number >= 0)"));
            }
        }
        let listed = match &self.exclude {
            Exclude::Auto => &[][..],
            Exclude::Types(t) => &t[..],
        };
        for (i, kind) in listed.iter().enumerate() {
            if !known(kind) {
                return Err(Problem::new(
                    ProblemKind::UnknownEvent,
                    format!("exclude[{i}]"),
                    format!("Unknown interaction type: {kind}"),
                ));
            }
        }
        if !["auto", "ease", "large"].contains(&self.personalized_model.as_str()) {
            let message = format!("Invalid personalized_model: {} (auto, ease or large)", self.personalized_model);
            return invalid("personalized_model".into(), message);
        }
        if let Some(w) = self.repeat_weight
            && !(0.0..=1.0).contains(&w)
        {
            return invalid("repeat_weight".into(), format!("Invalid repeat_weight: {w} (0 to 1)"));
        }
        if let Tunable::Pinned(Some(h)) = self.half_life_days
            && !(h.is_finite() && h > 0.0)
        {
            return invalid("half_life_days".into(), format!("Invalid half_life_days: {h} (a number of days > 0)"));
        }
        let w = self.bought_together_window_hours;
        if !(w.is_finite() && w > 0.0) {
            return invalid(
                "bought_together_window_hours".into(),
                format!("Invalid bought_together_window_hours: {w} (a number of hours > 0)"),
            );
        }
        if let Tunable::Pinned(l) = self.ease_lambda
            && !(l.is_finite() && l > 0.0)
        {
            return invalid("ease_lambda".into(), format!("Invalid ease_lambda: {l} (\"auto\" or a number > 0)"));
        }
        if let Tunable::Pinned(p) = self.ease_dropout
            && !(p.is_finite() && (0.0..1.0).contains(&p))
        {
            return invalid("ease_dropout".into(), format!("Invalid ease_dropout: {p} (\"auto\" or 0 <= p < 1)"));
        }
        if jiff::tz::TimeZone::get(&self.time_zone).is_err() {
            return invalid(
                "time_zone".into(),
                format!("Unknown time_zone: {} (an IANA time zone name such as Europe/Paris)", self.time_zone),
            );
        }
        if !(1..=1440).contains(&self.session_minutes) {
            return invalid(
                "session_minutes".into(),
                format!("Invalid session_minutes: {} (1 to 1440)", self.session_minutes),
            );
        }
        for (i, origin) in self.allowed_origins.iter().enumerate() {
            if !is_origin(origin) {
                let message = format!(
                    "Invalid origin: {origin:?} (scheme, host and optional port, as a browser sends it: https://shop.example)"
                );
                return invalid(format!("allowed_origins[{i}]"), message);
            }
        }
        let r = self.rate_limit_per_second;
        if !(r.is_finite() && r > 0.0) {
            return invalid(
                "rate_limit_per_second".into(),
                format!("Invalid rate_limit_per_second: {r} (a number > 0)"),
            );
        }
        if self.rate_limit_burst == 0 {
            return invalid("rate_limit_burst".into(), "Invalid rate_limit_burst: 0 (a whole number >= 1)".into());
        }
        let w = self.attribution_window_days;
        if !(1..=MAX_ATTRIBUTION_WINDOW_DAYS).contains(&w) {
            let message = format!("Invalid attribution_window_days: {w} (a whole number from 1 to 90)");
            return invalid("attribution_window_days".into(), message);
        }
        if self.retrain.after_events == Some(0) {
            return invalid("retrain.after_events".into(), "Invalid retrain.after_events: 0 (at least 1)".into());
        }
        if let Some(m) = self.retrain.every_minutes
            && !(1..=MAX_RETRAIN_MINUTES).contains(&m)
        {
            return invalid(
                "retrain.every_minutes".into(),
                format!("Invalid retrain.every_minutes: {m} (1 to {MAX_RETRAIN_MINUTES})"),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::builtins;

    #[test]
    fn defaults_follow_the_issue() {
        let s: Settings = serde_json::from_str("{}").unwrap();
        assert_eq!(s, Settings::default());
        assert_eq!([s.weight("purchase"), s.weight("cart"), s.weight("like"), s.weight("view")], [4.0, 3.0, 2.0, 1.0]);
        assert_eq!(s.weight("loan"), 0.0, "custom types weigh 0 until set");
        assert_eq!((s.exclude.clone(), s.exclude.types()), (Exclude::Auto, vec!["purchase".to_string()]));
        assert_eq!(s.repeat_weight, None, "tuned at every training");
        assert!(s.check(&builtins()).is_ok());
    }

    #[test]
    fn exclude_is_auto_or_a_list() {
        let s: Settings = serde_json::from_str(r#"{"exclude":["view"],"repeat_weight":0.5}"#).unwrap();
        assert_eq!((s.exclude, s.repeat_weight), (Exclude::Types(vec!["view".into()]), Some(0.5)));
        let auto: Settings = serde_json::from_str(r#"{"exclude":"auto"}"#).unwrap();
        assert_eq!(serde_json::to_value(&auto).unwrap()["exclude"], "auto");
        assert!(serde_json::from_str::<Settings>(r#"{"exclude":"sometimes"}"#).is_err());
        let heavy: Settings = serde_json::from_str(r#"{"repeat_weight":1.5}"#).unwrap();
        assert_eq!(heavy.check(&builtins()).unwrap_err().field.as_deref(), Some("repeat_weight"));
    }

    #[test]
    fn bad_values_name_their_field() {
        let field = |json: &str| {
            let s: Settings = serde_json::from_str(json).unwrap();
            s.check(&builtins()).unwrap_err().field
        };
        assert_eq!(field(r#"{"weights":{"view":-1}}"#), Some("weights.view".into()));
        assert_eq!(field(r#"{"weights":{"loan":1}}"#), Some("weights.loan".into()));
        assert_eq!(field(r#"{"exclude":["purchase","nope"]}"#), Some("exclude[1]".into()));
        assert_eq!(field(r#"{"half_life_days":0}"#), Some("half_life_days".into()));
        assert_eq!(field(r#"{"retrain":{"after_events":0}}"#), Some("retrain.after_events".into()));
        assert_eq!(
            field(r#"{"retrain":{"every_minutes":18446744073709551615}}"#),
            Some("retrain.every_minutes".into())
        );
        assert!(serde_json::from_str::<Settings>(r#"{"weight":{}}"#).is_err(), "unknown fields are refused");
    }
}
