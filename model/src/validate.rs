//! Synth-time checks of literal property values against the registry schema's rules
//! (ranges, lengths, patterns, item counts), so CloudFormation never sees a value it rejects.
//! Intrinsics are not checked here: their values exist only at deploy time.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, OnceLock};

use crate::value::{Json, Value};

/// The rules of one property, as the schema states them. Generated code builds these as consts.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rules {
    /// `minimum` (numbers).
    pub minimum: Option<f64>,
    /// `maximum` (numbers).
    pub maximum: Option<f64>,
    /// `minLength` (strings).
    pub min_length: Option<usize>,
    /// `maxLength` (strings).
    pub max_length: Option<usize>,
    /// `pattern` (strings), an ECMA-262 regular expression.
    pub pattern: Option<&'static str>,
    /// `minItems` (arrays) or `minProperties` (maps).
    pub min_items: Option<usize>,
    /// `maxItems` (arrays) or `maxProperties` (maps).
    pub max_items: Option<usize>,
    /// `const` (strings).
    pub constant: Option<&'static str>,
    /// Rules of each item of an array or value of a map.
    pub items: Option<&'static Rules>,
}

impl Rules {
    /// No rules.
    pub const NONE: Rules = Rules {
        minimum: None,
        maximum: None,
        min_length: None,
        max_length: None,
        pattern: None,
        min_items: None,
        max_items: None,
        constant: None,
        items: None,
    };
}

/// A literal value the schema does not allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Property path inside the resource, e.g. `RedrivePolicy.maxReceiveCount`.
    pub path: String,
    /// What is wrong, with the value and what is allowed.
    pub message: String,
}

/// Collects violations while walking a resource's properties.
#[derive(Debug, Default)]
pub struct Validator {
    path: Vec<String>,
    violations: Vec<Violation>,
}

impl Validator {
    /// A validator with no findings.
    pub fn new() -> Self {
        Self::default()
    }

    /// The findings so far.
    pub fn into_violations(self) -> Vec<Violation> {
        self.violations
    }

    /// Checks one property against its rules and walks into it.
    pub fn field<T: Check + ?Sized>(&mut self, name: &str, value: &T, rules: &Rules) {
        self.path.push(name.to_owned());
        value.check(self, rules);
        self.path.pop();
    }

    /// Records that at most/least one of a group of properties must be set.
    pub fn require_one_of(&mut self, names: &[&str], set: usize, exactly: bool) {
        let ok = if exactly { set == 1 } else { set >= 1 };
        if !ok {
            let rule = if exactly {
                "exactly one"
            } else {
                "at least one"
            };
            self.report(format!(
                "{rule} of {} must be set, got {set}",
                names.join(", ")
            ));
        }
    }

    /// Records a violation at the current path.
    pub fn report(&mut self, message: String) {
        self.violations.push(Violation {
            path: self.path.join("."),
            message,
        });
    }

    fn index(&mut self, i: usize) {
        match self.path.last_mut() {
            Some(last) => last.push_str(&format!("[{i}]")),
            None => self.path.push(format!("[{i}]")),
        }
    }

    fn unindex(&mut self) {
        if let Some(last) = self.path.last_mut()
            && let Some(pos) = last.rfind('[')
        {
            last.truncate(pos);
        }
    }
}

/// Something whose literal values can be checked.
pub trait Check {
    /// Checks `self` against `rules`, recording violations in `v`.
    fn check(&self, v: &mut Validator, rules: &Rules);
}

impl<T: Check> Check for Option<T> {
    fn check(&self, v: &mut Validator, rules: &Rules) {
        if let Some(t) = self {
            t.check(v, rules);
        }
    }
}

impl<T: Check> Check for Value<T> {
    fn check(&self, v: &mut Validator, rules: &Rules) {
        if let Value::Literal(t) = self {
            t.check(v, rules);
        }
    }
}

impl<T: Check> Check for Box<T> {
    fn check(&self, v: &mut Validator, rules: &Rules) {
        (**self).check(v, rules);
    }
}

impl Check for bool {
    fn check(&self, _: &mut Validator, _: &Rules) {}
}

impl Check for Json {
    fn check(&self, _: &mut Validator, _: &Rules) {}
}

impl Check for i64 {
    fn check(&self, v: &mut Validator, rules: &Rules) {
        // i64 -> f64 is exact for every value a CloudFormation schema bounds.
        #[allow(clippy::cast_precision_loss)]
        check_number(v, *self as f64, &self.to_string(), rules);
    }
}

impl Check for f64 {
    fn check(&self, v: &mut Validator, rules: &Rules) {
        check_number(v, *self, &self.to_string(), rules);
    }
}

fn check_number(v: &mut Validator, n: f64, shown: &str, rules: &Rules) {
    if let Some(min) = rules.minimum
        && n < min
    {
        v.report(format!("must be >= {min}, got {shown}"));
    }
    if let Some(max) = rules.maximum
        && n > max
    {
        v.report(format!("must be <= {max}, got {shown}"));
    }
}

impl Check for String {
    fn check(&self, v: &mut Validator, rules: &Rules) {
        // A dynamic reference is replaced at deploy time; its own text says nothing about the value.
        if self.contains("{{resolve:") {
            return;
        }
        let len = self.chars().count();
        if let Some(min) = rules.min_length
            && len < min
        {
            v.report(format!(
                "must be at least {min} characters, got {len} ({self:?})"
            ));
        }
        if let Some(max) = rules.max_length
            && len > max
        {
            v.report(format!("must be at most {max} characters, got {len}"));
        }
        if let Some(c) = rules.constant
            && self != c
        {
            v.report(format!("must be {c:?}, got {self:?}"));
        }
        if let Some(p) = rules.pattern
            && let Some(re) = compiled(p)
            && !re.is_match(self)
        {
            v.report(format!("must match the pattern {p}, got {self:?}"));
        }
    }
}

impl<T: Check> Check for Vec<Value<T>> {
    fn check(&self, v: &mut Validator, rules: &Rules) {
        if let Some(min) = rules.min_items
            && self.len() < min
        {
            v.report(format!(
                "must have at least {min} items, got {}",
                self.len()
            ));
        }
        if let Some(max) = rules.max_items
            && self.len() > max
        {
            v.report(format!("must have at most {max} items, got {}", self.len()));
        }
        let item_rules = rules.items.unwrap_or(&Rules::NONE);
        for (i, item) in self.iter().enumerate() {
            v.index(i);
            item.check(v, item_rules);
            v.unindex();
        }
    }
}

impl<T: Check> Check for BTreeMap<String, Value<T>> {
    fn check(&self, v: &mut Validator, rules: &Rules) {
        if let Some(min) = rules.min_items
            && self.len() < min
        {
            v.report(format!(
                "must have at least {min} entries, got {}",
                self.len()
            ));
        }
        if let Some(max) = rules.max_items
            && self.len() > max
        {
            v.report(format!(
                "must have at most {max} entries, got {}",
                self.len()
            ));
        }
        let item_rules = rules.items.unwrap_or(&Rules::NONE);
        for (k, item) in self {
            v.field(k, item, item_rules);
        }
    }
}

/// Schema patterns are ECMA-262 (and some carry Python's `\Z`); the few Rust's regex cannot
/// express are skipped rather than guessed, and counted by a test of the generated code.
pub fn compiled(pattern: &'static str) -> Option<regex::Regex> {
    static CACHE: OnceLock<Mutex<HashMap<&'static str, Option<regex::Regex>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let mut cache = match cache.lock() {
        Ok(c) => c,
        Err(poisoned) => poisoned.into_inner(),
    };
    cache
        .entry(pattern)
        .or_insert_with(|| regex::Regex::new(&pattern.replace("\\Z", "\\z")).ok())
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn violations<T: Check>(value: &T, rules: &Rules) -> Vec<String> {
        let mut v = Validator::new();
        v.field("P", value, rules);
        v.into_violations()
            .into_iter()
            .map(|x| format!("{}: {}", x.path, x.message))
            .collect()
    }

    #[test]
    fn numbers_strings_and_lists_are_checked() {
        let range = Rules {
            minimum: Some(0.0),
            maximum: Some(900.0),
            ..Rules::NONE
        };
        assert_eq!(
            violations(&Value::Literal(901_i64), &range),
            ["P: must be <= 900, got 901"]
        );
        assert!(violations(&Value::Literal(900_i64), &range).is_empty());
        let name = Rules {
            max_length: Some(3),
            pattern: Some("^[a-z]+$"),
            ..Rules::NONE
        };
        assert_eq!(
            violations(&"AbcD".to_owned(), &name),
            [
                "P: must be at most 3 characters, got 4",
                "P: must match the pattern ^[a-z]+$, got \"AbcD\""
            ]
        );
        static ITEM: Rules = Rules {
            min_length: Some(2),
            ..Rules::NONE
        };
        let list = Rules {
            max_items: Some(1),
            items: Some(&ITEM),
            ..Rules::NONE
        };
        let v: Vec<Value<String>> = vec!["a".into(), "bb".into()];
        assert_eq!(
            violations(&v, &list),
            [
                "P: must have at most 1 items, got 2",
                "P[0]: must be at least 2 characters, got 1 (\"a\")"
            ]
        );
    }

    #[test]
    fn intrinsics_and_dynamic_references_are_not_judged_as_literals() {
        let rules = Rules {
            max_length: Some(1),
            ..Rules::NONE
        };
        let e: Value<String> = crate::intrinsic::Intrinsic::reference("X").into();
        assert!(violations(&e, &rules).is_empty());
        assert!(violations(&"{{resolve:ssm:/a/b}}".to_owned(), &rules).is_empty());
    }

    #[test]
    fn python_end_anchor_is_understood() {
        assert!(compiled("^a\\Z").is_some_and(|r| r.is_match("a") && !r.is_match("a\n")));
    }
}
