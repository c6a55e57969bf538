//! What every generated resource type provides: its schema metadata and typed handles.

use std::fmt;
use std::marker::PhantomData;

use serde::Serialize;

use crate::intrinsic::Intrinsic;
use crate::validate::Check;

/// What the registry schema says about a resource type, beyond its properties.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct ResourceInfo {
    /// `AWS::Service::Resource`.
    pub type_name: &'static str,
    /// Attributes `Fn::GetAtt` may take: readOnlyProperties plus the legacy ones cfn-lint allows.
    pub attributes: &'static [&'static str],
    /// JSON pointers of properties whose change replaces the resource.
    pub create_only: &'static [&'static str],
    /// JSON pointers of properties whose change may replace the resource, depending on values.
    pub conditional_create_only: &'static [&'static str],
    /// JSON pointers of properties CloudFormation never returns (drift cannot compare them).
    pub write_only: &'static [&'static str],
    /// JSON pointers of properties CloudFormation sets.
    pub read_only: &'static [&'static str],
    /// JSON pointers that identify a resource of this type.
    pub primary_identifier: &'static [&'static str],
    /// JSON pointers (`*` for array items) of arrays whose order does not matter.
    pub unordered_arrays: &'static [&'static str],
    /// Whether the type takes tags.
    pub taggable: bool,
    /// The property that holds the tags, when taggable.
    pub tag_property: Option<&'static str>,
}

impl ResourceInfo {
    /// Whether changing `property` (a top-level property name) replaces the resource.
    pub fn replaces_on_change(&self, property: &str) -> bool {
        let pointer = format!("/properties/{property}");
        self.create_only
            .iter()
            .any(|p| *p == pointer || p.starts_with(&format!("{pointer}/")))
    }

    /// Whether changing `property` may replace the resource, depending on the values
    /// (`conditionalCreateOnlyProperties`), e.g. a DynamoDB table's key schema.
    pub fn may_replace_on_change(&self, property: &str) -> bool {
        let pointer = format!("/properties/{property}");
        self.conditional_create_only
            .iter()
            .any(|p| *p == pointer || p.starts_with(&format!("{pointer}/")))
    }

    /// Whether `attribute` is one `Fn::GetAtt` accepts.
    pub fn has_attribute(&self, attribute: &str) -> bool {
        self.attributes.contains(&attribute)
    }
}

/// A resource type generated from a registry schema.
pub trait Resource: Serialize + Check {
    /// `AWS::Service::Resource`.
    const TYPE_NAME: &'static str;
    /// The schema's metadata.
    fn info() -> &'static ResourceInfo;
}

/// A required property was not set on a builder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{type_name}: missing required property {property}\nhint: call .{setter}(..) on the builder"
)]
pub struct BuildError {
    /// The type (resource or property type) being built.
    pub type_name: &'static str,
    /// The schema's property name.
    pub property: &'static str,
    /// The builder method that sets it.
    pub setter: &'static str,
}

/// A resource added to a template: its logical id, and typed `Ref`/`Fn::GetAtt` for its type.
pub struct Handle<T> {
    logical_id: String,
    _type: PhantomData<fn() -> T>,
}

impl<T> Handle<T> {
    /// A handle to a resource with that logical id (the template checks it exists at synth).
    pub fn new(logical_id: impl Into<String>) -> Self {
        Self {
            logical_id: logical_id.into(),
            _type: PhantomData,
        }
    }

    /// The logical id.
    pub fn logical_id(&self) -> &str {
        &self.logical_id
    }

    /// `{"Ref": logical id}`: the value the type's documentation says Ref returns.
    pub fn reference(&self) -> Intrinsic {
        Intrinsic::Ref(self.logical_id.clone())
    }

    /// `Fn::GetAtt` of an attribute by name; generated `attr_*` methods are the checked form.
    pub fn get_att(&self, attribute: &str) -> Intrinsic {
        Intrinsic::get_att(self.logical_id.clone(), attribute)
    }
}

impl<T> Clone for Handle<T> {
    fn clone(&self) -> Self {
        Self::new(self.logical_id.clone())
    }
}

impl<T> fmt::Debug for Handle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Handle({})", self.logical_id)
    }
}

impl<T> PartialEq for Handle<T> {
    fn eq(&self, other: &Self) -> bool {
        self.logical_id == other.logical_id
    }
}
