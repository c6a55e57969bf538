//! Aspects: visitors over the finished tree. Mutating aspects run first (by priority), then
//! read-only checks (by priority), so a check always judges the final resource.

use std::fmt;

use indexmap::IndexMap;

use crate::tree::{Environment, ResourceNode, StackId};

/// Priority of aspects that change resources (CDK's `AspectPriority.MUTATING`).
pub const PRIORITY_MUTATING: i32 = 200;
/// Default priority.
pub const PRIORITY_DEFAULT: i32 = 500;
/// Priority of read-only checks (CDK's `AspectPriority.READONLY`); compliance runs here.
pub const PRIORITY_READONLY: i32 = 1000;

/// A visitor that may change resources (add encryption, set a tag, raise a limit).
pub trait Aspect {
    /// Called once for every resource under the scope the aspect was added to.
    fn visit(&self, node: &mut ResourceNode);
}

/// A read-only visitor that reports findings.
pub trait Check {
    /// Findings about `node`; `stack` shows its sibling resources (a queue's policy, ...).
    fn check(&self, node: &ResourceNode, stack: &StackView<'_>) -> Vec<Finding>;
}

/// A stack's resources as an aspect sees them.
#[derive(Debug)]
pub struct StackView<'a> {
    /// The stack.
    pub stack: StackId,
    /// Its name.
    pub name: &'a str,
    /// Its environment.
    pub env: &'a Environment,
    /// Its resources by logical id.
    pub resources: &'a IndexMap<String, ResourceNode>,
    /// For each logical id, the resources of this stack whose properties reference it. Built
    /// once per stack, so rules asking "who references this queue?" stay linear in the stack's
    /// size instead of walking every resource per question.
    pub referrers: std::collections::HashMap<String, Vec<&'a ResourceNode>>,
}

impl<'a> StackView<'a> {
    /// The view of `resources`, with its reference index.
    pub fn new(
        stack: StackId,
        name: &'a str,
        env: &'a Environment,
        resources: &'a IndexMap<String, ResourceNode>,
    ) -> Self {
        let mut referrers: std::collections::HashMap<String, Vec<&'a ResourceNode>> =
            std::collections::HashMap::new();
        let mut ids = std::collections::BTreeSet::new();
        for node in resources.values() {
            ids.clear();
            crate::tree::collect_references(&node.entry.properties, stack, &mut ids);
            for id in &ids {
                referrers.entry(id.clone()).or_default().push(node);
            }
        }
        Self {
            stack,
            name,
            env,
            resources,
            referrers,
        }
    }

    /// Resources of `type_name` whose properties reference `logical_id`.
    pub fn referencing<'b>(
        &'b self,
        type_name: &'b str,
        logical_id: &'b str,
    ) -> impl Iterator<Item = &'b ResourceNode> + 'b {
        self.referrers
            .get(logical_id)
            .into_iter()
            .flatten()
            .copied()
            .filter(move |r| r.entry.type_name == type_name)
    }
}

/// A rule a resource breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The rule id, e.g. `AwsSolutions-SQS3`.
    pub rule: String,
    /// The resource's construct path.
    pub path: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.path, self.rule, self.message)
    }
}

pub(crate) enum AspectKind {
    Mutating(Box<dyn Aspect>),
    ReadOnly(Box<dyn Check>),
}

pub(crate) struct AspectEntry {
    pub(crate) scope: String,
    pub(crate) priority: i32,
    pub(crate) kind: AspectKind,
}

impl AspectEntry {
    pub(crate) fn mutating(scope: String, priority: i32, a: impl Aspect + 'static) -> Self {
        Self {
            scope,
            priority,
            kind: AspectKind::Mutating(Box::new(a)),
        }
    }

    pub(crate) fn read_only(scope: String, priority: i32, c: impl Check + 'static) -> Self {
        Self {
            scope,
            priority,
            kind: AspectKind::ReadOnly(Box::new(c)),
        }
    }

    pub(crate) fn applies_to(&self, path: &str) -> bool {
        path == self.scope || path.starts_with(&format!("{}/", self.scope))
    }
}
