//! API Gateway REST APIs built from routes and JSON Schemas.

/// The OpenAPI operation keys that are HTTP methods.
pub const HTTP_METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch"];
