//! Intrinsic functions, pseudo parameters and dynamic references, with CloudFormation's exact
//! JSON shapes. References they make (Ref, GetAtt, Sub variables, Conditions, mappings) are
//! checked against the template at synth, so a dangling one never reaches CloudFormation.

use indexmap::IndexMap;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

/// An argument of an intrinsic function: a literal or another function.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A string literal.
    Str(String),
    /// An integer literal.
    Int(i64),
    /// A boolean literal.
    Bool(bool),
    /// A list of arguments.
    List(Vec<Expr>),
    /// A nested function.
    Fn(Box<Intrinsic>),
}

impl Serialize for Expr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Expr::Str(v) => s.serialize_str(v),
            Expr::Int(v) => s.serialize_i64(*v),
            Expr::Bool(v) => s.serialize_bool(*v),
            Expr::List(v) => v.serialize(s),
            Expr::Fn(f) => f.serialize(s),
        }
    }
}

impl From<&str> for Expr {
    fn from(v: &str) -> Self {
        Expr::Str(v.to_owned())
    }
}
impl From<String> for Expr {
    fn from(v: String) -> Self {
        Expr::Str(v)
    }
}
impl From<&String> for Expr {
    fn from(v: &String) -> Self {
        Expr::Str(v.clone())
    }
}
impl From<i64> for Expr {
    fn from(v: i64) -> Self {
        Expr::Int(v)
    }
}
impl From<i32> for Expr {
    fn from(v: i32) -> Self {
        Expr::Int(i64::from(v))
    }
}
impl From<u32> for Expr {
    fn from(v: u32) -> Self {
        Expr::Int(i64::from(v))
    }
}
impl From<bool> for Expr {
    fn from(v: bool) -> Self {
        Expr::Bool(v)
    }
}
impl From<Intrinsic> for Expr {
    fn from(v: Intrinsic) -> Self {
        Expr::Fn(Box::new(v))
    }
}
impl From<Pseudo> for Expr {
    fn from(v: Pseudo) -> Self {
        Expr::Fn(Box::new(Intrinsic::from(v)))
    }
}
impl<T: Into<Expr>> From<Vec<T>> for Expr {
    fn from(v: Vec<T>) -> Self {
        Expr::List(v.into_iter().map(Into::into).collect())
    }
}

/// A CloudFormation intrinsic function.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Intrinsic {
    /// `{"Ref": name}`: a resource, parameter or pseudo parameter.
    Ref(String),
    /// `{"Fn::GetAtt": [resource, attribute]}`.
    GetAtt {
        /// Logical id of the resource.
        logical_id: String,
        /// Attribute name, e.g. `Arn` or `Endpoint.Address`.
        attribute: String,
    },
    /// `{"Fn::Sub": template}` or `{"Fn::Sub": [template, variables]}`.
    Sub {
        /// The string with `${Name}` placeholders.
        template: String,
        /// Variables local to this substitution.
        variables: IndexMap<String, Expr>,
    },
    /// `{"Fn::Join": [delimiter, values]}`.
    Join {
        /// Delimiter.
        delimiter: String,
        /// The values: a list, or a function returning a list.
        values: Expr,
    },
    /// `{"Fn::Select": [index, list]}`.
    Select {
        /// Zero-based index.
        index: Expr,
        /// The list.
        list: Expr,
    },
    /// `{"Fn::Split": [delimiter, source]}`.
    Split {
        /// Delimiter.
        delimiter: String,
        /// The string to split.
        source: Expr,
    },
    /// `{"Fn::If": [condition, then, else]}`.
    If {
        /// Condition name.
        condition: String,
        /// Value when true.
        then: Expr,
        /// Value when false.
        otherwise: Expr,
    },
    /// `{"Fn::Equals": [a, b]}`.
    Equals(Expr, Expr),
    /// `{"Fn::And": [conditions]}` (2 to 10).
    And(Vec<Expr>),
    /// `{"Fn::Or": [conditions]}` (2 to 10).
    Or(Vec<Expr>),
    /// `{"Fn::Not": [condition]}`.
    Not(Expr),
    /// `{"Condition": name}`, inside condition functions.
    Condition(String),
    /// `{"Fn::ImportValue": export name}`.
    ImportValue(Expr),
    /// `{"Fn::GetAZs": region}` (`""` means the stack's region).
    GetAzs(Expr),
    /// `{"Fn::Base64": value}`.
    Base64(Expr),
    /// `{"Fn::Cidr": [ip block, count, cidr bits]}`.
    Cidr {
        /// The CIDR block to divide.
        ip_block: Expr,
        /// How many CIDRs to generate (1 to 256).
        count: Expr,
        /// Host bits per CIDR (the inverse of the mask length).
        cidr_bits: Expr,
    },
    /// `{"Fn::FindInMap": [map, top-level key, second-level key]}`.
    FindInMap {
        /// Mapping name.
        map: String,
        /// Top-level key.
        top_level_key: Expr,
        /// Second-level key.
        second_level_key: Expr,
    },
    /// `{"Fn::GetStackOutput": {...}}`: an output of another stack, possibly in another region,
    /// resolved by CloudFormation without an export (no "deadly embrace" across regions).
    GetStackOutput {
        /// Name or id of the stack that has the output.
        stack_name: Expr,
        /// Name of the output.
        output_name: Expr,
        /// Region of that stack; the current one when absent.
        region: Option<Expr>,
        /// Role to read it with, for another account.
        role_arn: Option<Expr>,
    },
}

fn pair<S: Serializer, A: Serialize, B: Serialize>(
    s: S,
    name: &str,
    a: &A,
    b: &B,
) -> Result<S::Ok, S::Error> {
    struct Pair<'a, A, B>(&'a A, &'a B);
    impl<A: Serialize, B: Serialize> Serialize for Pair<'_, A, B> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut seq = s.serialize_seq(Some(2))?;
            seq.serialize_element(self.0)?;
            seq.serialize_element(self.1)?;
            seq.end()
        }
    }
    one(s, name, &Pair(a, b))
}

fn one<S: Serializer, A: Serialize + ?Sized>(s: S, name: &str, a: &A) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(1))?;
    map.serialize_entry(name, a)?;
    map.end()
}

impl Serialize for Intrinsic {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Intrinsic::Ref(name) => one(s, "Ref", name),
            Intrinsic::GetAtt {
                logical_id,
                attribute,
            } => pair(s, "Fn::GetAtt", logical_id, attribute),
            Intrinsic::Sub {
                template,
                variables,
            } if variables.is_empty() => one(s, "Fn::Sub", template),
            Intrinsic::Sub {
                template,
                variables,
            } => pair(s, "Fn::Sub", template, variables),
            Intrinsic::Join { delimiter, values } => pair(s, "Fn::Join", delimiter, values),
            Intrinsic::Select { index, list } => pair(s, "Fn::Select", index, list),
            Intrinsic::Split { delimiter, source } => pair(s, "Fn::Split", delimiter, source),
            Intrinsic::If {
                condition,
                then,
                otherwise,
            } => one(s, "Fn::If", &(condition, then, otherwise)),
            Intrinsic::Equals(a, b) => pair(s, "Fn::Equals", a, b),
            Intrinsic::And(items) => one(s, "Fn::And", items),
            Intrinsic::Or(items) => one(s, "Fn::Or", items),
            Intrinsic::Not(c) => one(s, "Fn::Not", &[c]),
            Intrinsic::Condition(name) => one(s, "Condition", name),
            Intrinsic::ImportValue(name) => one(s, "Fn::ImportValue", name),
            Intrinsic::GetAzs(region) => one(s, "Fn::GetAZs", region),
            Intrinsic::Base64(v) => one(s, "Fn::Base64", v),
            Intrinsic::Cidr {
                ip_block,
                count,
                cidr_bits,
            } => one(s, "Fn::Cidr", &(ip_block, count, cidr_bits)),
            Intrinsic::FindInMap {
                map,
                top_level_key,
                second_level_key,
            } => one(s, "Fn::FindInMap", &(map, top_level_key, second_level_key)),
            Intrinsic::GetStackOutput {
                stack_name,
                output_name,
                region,
                role_arn,
            } => {
                let mut args = IndexMap::new();
                args.insert("StackName", stack_name);
                args.insert("OutputName", output_name);
                if let Some(r) = region {
                    args.insert("Region", r);
                }
                if let Some(r) = role_arn {
                    args.insert("RoleArn", r);
                }
                one(s, "Fn::GetStackOutput", &args)
            }
        }
    }
}

/// Constructors, named after the functions.
impl Intrinsic {
    /// `Ref` of a logical id or parameter name.
    pub fn reference(name: impl Into<String>) -> Self {
        Intrinsic::Ref(name.into())
    }

    /// `Fn::GetAtt` by name. Prefer the generated `attr_*` accessors on a resource handle,
    /// which the compiler checks; this form is checked at synth against the schema.
    pub fn get_att(logical_id: impl Into<String>, attribute: impl Into<String>) -> Self {
        Intrinsic::GetAtt {
            logical_id: logical_id.into(),
            attribute: attribute.into(),
        }
    }

    /// `Fn::Sub` with only template-wide names (`${AWS::Region}`, `${Resource.Arn}`).
    pub fn sub(template: impl Into<String>) -> Self {
        Intrinsic::Sub {
            template: template.into(),
            variables: IndexMap::new(),
        }
    }

    /// `Fn::Sub` with local variables.
    pub fn sub_with<K: Into<String>, V: Into<Expr>>(
        template: impl Into<String>,
        variables: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Intrinsic::Sub {
            template: template.into(),
            variables: variables
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// `Fn::Join`.
    pub fn join(delimiter: impl Into<String>, values: impl Into<Expr>) -> Self {
        Intrinsic::Join {
            delimiter: delimiter.into(),
            values: values.into(),
        }
    }

    /// `Fn::Select`.
    pub fn select(index: impl Into<Expr>, list: impl Into<Expr>) -> Self {
        Intrinsic::Select {
            index: index.into(),
            list: list.into(),
        }
    }

    /// `Fn::Split`.
    pub fn split(delimiter: impl Into<String>, source: impl Into<Expr>) -> Self {
        Intrinsic::Split {
            delimiter: delimiter.into(),
            source: source.into(),
        }
    }

    /// `Fn::If`.
    pub fn if_(
        condition: impl Into<String>,
        then: impl Into<Expr>,
        otherwise: impl Into<Expr>,
    ) -> Self {
        Intrinsic::If {
            condition: condition.into(),
            then: then.into(),
            otherwise: otherwise.into(),
        }
    }

    /// `Fn::Equals`.
    pub fn equals(a: impl Into<Expr>, b: impl Into<Expr>) -> Self {
        Intrinsic::Equals(a.into(), b.into())
    }

    /// `Fn::And`.
    pub fn and(conditions: impl IntoIterator<Item = Intrinsic>) -> Self {
        Intrinsic::And(conditions.into_iter().map(Expr::from).collect())
    }

    /// `Fn::Or`.
    pub fn or(conditions: impl IntoIterator<Item = Intrinsic>) -> Self {
        Intrinsic::Or(conditions.into_iter().map(Expr::from).collect())
    }

    /// `Fn::Not`.
    #[allow(clippy::should_implement_trait)] // named after the function, like `and`/`or`
    pub fn not(condition: Intrinsic) -> Self {
        Intrinsic::Not(condition.into())
    }

    /// `{"Condition": name}`.
    pub fn condition(name: impl Into<String>) -> Self {
        Intrinsic::Condition(name.into())
    }

    /// `Fn::ImportValue`.
    pub fn import_value(export_name: impl Into<Expr>) -> Self {
        Intrinsic::ImportValue(export_name.into())
    }

    /// `Fn::GetAZs` of the stack's own region.
    pub fn get_azs() -> Self {
        Intrinsic::GetAzs(Expr::Str(String::new()))
    }

    /// `Fn::Base64`.
    pub fn base64(value: impl Into<Expr>) -> Self {
        Intrinsic::Base64(value.into())
    }

    /// `Fn::Cidr`.
    pub fn cidr(ip_block: impl Into<Expr>, count: u32, cidr_bits: u32) -> Self {
        Intrinsic::Cidr {
            ip_block: ip_block.into(),
            count: count.into(),
            cidr_bits: cidr_bits.into(),
        }
    }

    /// `Fn::FindInMap`.
    pub fn find_in_map(
        map: impl Into<String>,
        top_level_key: impl Into<Expr>,
        second_level_key: impl Into<Expr>,
    ) -> Self {
        Intrinsic::FindInMap {
            map: map.into(),
            top_level_key: top_level_key.into(),
            second_level_key: second_level_key.into(),
        }
    }

    /// `Fn::GetStackOutput` of a stack in the same account, optionally in another region.
    pub fn get_stack_output(
        stack_name: impl Into<Expr>,
        output_name: impl Into<Expr>,
        region: Option<Expr>,
    ) -> Self {
        Intrinsic::GetStackOutput {
            stack_name: stack_name.into(),
            output_name: output_name.into(),
            region,
            role_arn: None,
        }
    }
}

/// Pseudo parameters, resolved by CloudFormation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Pseudo {
    /// `AWS::AccountId`
    AccountId,
    /// `AWS::NotificationARNs`
    NotificationArns,
    /// `AWS::NoValue`: removes the property (inside `Fn::If`).
    NoValue,
    /// `AWS::Partition`
    Partition,
    /// `AWS::Region`
    Region,
    /// `AWS::StackId`
    StackId,
    /// `AWS::StackName`
    StackName,
    /// `AWS::URLSuffix`
    UrlSuffix,
}

impl Pseudo {
    /// Every pseudo parameter.
    pub const ALL: [Pseudo; 8] = [
        Pseudo::AccountId,
        Pseudo::NotificationArns,
        Pseudo::NoValue,
        Pseudo::Partition,
        Pseudo::Region,
        Pseudo::StackId,
        Pseudo::StackName,
        Pseudo::UrlSuffix,
    ];

    /// The name `Ref` takes.
    pub fn name(self) -> &'static str {
        match self {
            Pseudo::AccountId => "AWS::AccountId",
            Pseudo::NotificationArns => "AWS::NotificationARNs",
            Pseudo::NoValue => "AWS::NoValue",
            Pseudo::Partition => "AWS::Partition",
            Pseudo::Region => "AWS::Region",
            Pseudo::StackId => "AWS::StackId",
            Pseudo::StackName => "AWS::StackName",
            Pseudo::UrlSuffix => "AWS::URLSuffix",
        }
    }

    /// The pseudo parameter of that name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }
}

impl From<Pseudo> for Intrinsic {
    fn from(p: Pseudo) -> Self {
        Intrinsic::Ref(p.name().to_owned())
    }
}

impl<T> From<Pseudo> for crate::value::Value<T> {
    fn from(p: Pseudo) -> Self {
        crate::value::Value::Expr(p.into())
    }
}

/// A dynamic reference: a value CloudFormation reads from SSM or Secrets Manager at deploy
/// time, so a secret never appears in the template.
#[derive(Debug, Clone, PartialEq)]
pub struct DynamicReference {
    service: &'static str,
    id: Expr,
    suffix: String,
}

impl DynamicReference {
    /// `{{resolve:secretsmanager:<id>:SecretString:<json_key>::}}`.
    pub fn secrets_manager(secret_id: impl Into<Expr>, json_key: Option<&str>) -> Self {
        let suffix = match json_key {
            Some(k) => format!(":SecretString:{k}::"),
            None => ":SecretString:::".to_owned(),
        };
        Self {
            service: "secretsmanager",
            id: secret_id.into(),
            suffix,
        }
    }

    /// `{{resolve:ssm:<name>}}`: the latest version of a String parameter.
    pub fn ssm(parameter_name: impl Into<Expr>) -> Self {
        Self {
            service: "ssm",
            id: parameter_name.into(),
            suffix: String::new(),
        }
    }

    /// `{{resolve:ssm-secure:<name>}}`: a SecureString parameter (only some properties accept it).
    pub fn ssm_secure(parameter_name: impl Into<Expr>) -> Self {
        Self {
            service: "ssm-secure",
            id: parameter_name.into(),
            suffix: String::new(),
        }
    }

    /// The reference as a property value: a literal when the id is one, `Fn::Join` otherwise.
    pub fn to_value(&self) -> crate::value::Value<String> {
        let head = format!("{{{{resolve:{}:", self.service);
        let tail = format!("{}}}}}", self.suffix);
        match &self.id {
            Expr::Str(id) => crate::value::Value::Literal(format!("{head}{id}{tail}")),
            id => crate::value::Value::Expr(Intrinsic::join(
                "",
                Expr::List(vec![Expr::Str(head), id.clone(), Expr::Str(tail)]),
            )),
        }
    }
}

impl From<DynamicReference> for crate::value::Value<String> {
    fn from(d: DynamicReference) -> Self {
        d.to_value()
    }
}
