//! API Gateway REST APIs built from routes and JSON Schemas: an OpenAPI body with Lambda proxy
//! integrations, request validators, a Lambda authorizer, API keys and usage plans, access
//! logs, tracing and a WAF association.

use serde_json::{Map, Value as Json, json};
use sha2::{Digest, Sha256};

use crate::error::SynthError;
use crate::kms::Key;
use crate::lambda::Function;
use crate::logs::{LogGroup, LogGroupProps};
use crate::tree::{ResourceRef, Scope, Token};
use crate::waf::WebAcl;

/// The OpenAPI operation keys that are HTTP methods.
pub const HTTP_METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch"];

/// How a route is authorized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// The Lambda authorizer (a JWT) and an API key.
    AuthorizerAndApiKey,
    /// Only an API key (login/signin: the caller has no token yet).
    ApiKey,
}

/// One route.
#[derive(Debug, Clone)]
pub struct Route {
    /// The path, e.g. `/transfers`.
    pub path: String,
    /// The HTTP method, lowercase.
    pub method: String,
    /// The handler.
    pub function: Function,
    /// The JSON Schema of the request body (from the handler's own contracts); validated by
    /// API Gateway before the function runs. `None` for bodiless requests.
    pub request_schema: Option<Json>,
    /// Authorization.
    pub auth: Auth,
}

/// Props of [`RestApi`].
#[derive(Debug, Clone)]
pub struct RestApiProps {
    /// Routes. Required, at least one.
    pub routes: Vec<Route>,
    /// The Lambda authorizer (TOKEN type, `Authorization` header). Required when any route uses it.
    pub authorizer: Option<Function>,
    /// Key of the access-log group. Required.
    pub log_key: Key,
    /// The stage name. Default: `v1`.
    pub stage_name: String,
    /// Steady-state requests per second per usage plan. Default: 100.
    pub throttle_rate_limit: u32,
    /// Burst. Default: 200.
    pub throttle_burst_limit: u32,
    /// Requests per day per API key. Default: 100000.
    pub quota_per_day: u32,
    /// The regional WAF web ACL. Unset: none (rule APIG3 fires).
    pub web_acl: Option<WebAcl>,
}

impl RestApiProps {
    /// Props with the defaults.
    pub fn new(routes: Vec<Route>, log_key: Key) -> Self {
        Self {
            routes,
            authorizer: None,
            log_key,
            stage_name: "v1".to_owned(),
            throttle_rate_limit: 100,
            throttle_burst_limit: 200,
            quota_per_day: 100_000,
            web_acl: None,
        }
    }
}

/// A regional REST API.
#[derive(Debug, Clone)]
pub struct RestApi {
    resource: ResourceRef,
    stage: ResourceRef,
    api_key: ResourceRef,
}

fn invoke_uri(f: &Function) -> Json {
    json!({"Fn::Sub": ["arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Arn}/invocations", {"Arn": f.arn()}]})
}

fn schema_name(path: &str, method: &str) -> String {
    let mut out = String::new();
    for part in path.split(['/', '{', '}', '-', '_']).chain([method]) {
        let mut c = part.chars();
        if let Some(f) = c.next() {
            out.push(f.to_ascii_uppercase());
            out.extend(c);
        }
    }
    out.push_str("Request");
    out
}

/// Checks an OpenAPI 3 body as API Gateway imports it: version, paths, methods, an
/// integration on every operation, security schemes and `$ref`s that exist, validators named.
pub fn validate_openapi(body: &Json) -> Vec<String> {
    let mut errs = Vec::new();
    if !body
        .get("openapi")
        .and_then(Json::as_str)
        .is_some_and(|v| v.starts_with("3.0"))
    {
        errs.push(format!(
            "openapi must be \"3.0.x\", got {}",
            body.get("openapi").unwrap_or(&Json::Null)
        ));
    }
    let schemes: Vec<String> = body
        .pointer("/components/securitySchemes")
        .and_then(Json::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let validators: Vec<String> = body
        .get("x-amazon-apigateway-request-validators")
        .and_then(Json::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let Some(paths) = body
        .get("paths")
        .and_then(Json::as_object)
        .filter(|p| !p.is_empty())
    else {
        errs.push("paths must be a non-empty object".to_owned());
        return errs;
    };
    for (path, item) in paths {
        if !path.starts_with('/') {
            errs.push(format!("path {path:?} must start with /"));
        }
        let Some(ops) = item.as_object() else {
            errs.push(format!("{path}: must be an object of operations"));
            continue;
        };
        for (method, op) in ops {
            if !HTTP_METHODS.contains(&method.as_str())
                && method != "x-amazon-apigateway-any-method"
                && method != "parameters"
            {
                errs.push(format!(
                    "{path}: {method:?} is not an HTTP method; use one of {HTTP_METHODS:?}"
                ));
                continue;
            }
            if op.get("x-amazon-apigateway-integration").is_none() {
                errs.push(format!(
                    "{method} {path}: has no x-amazon-apigateway-integration"
                ));
            }
            if let Some(Json::Array(sec)) = op.get("security") {
                for s in sec {
                    for k in s
                        .as_object()
                        .map(|m| m.keys().cloned().collect::<Vec<_>>())
                        .unwrap_or_default()
                    {
                        if !schemes.contains(&k) {
                            errs.push(format!("{method} {path}: security scheme {k:?} is not in components.securitySchemes"));
                        }
                    }
                }
            }
            if let Some(v) = op
                .get("x-amazon-apigateway-request-validator")
                .and_then(Json::as_str)
                && !validators.iter().any(|x| x == v)
            {
                errs.push(format!(
                    "{method} {path}: request validator {v:?} is not defined"
                ));
            }
        }
    }
    let mut refs = Vec::new();
    collect_refs(body, &mut refs);
    for r in refs {
        let ok = r
            .strip_prefix('#')
            .is_some_and(|ptr| body.pointer(ptr).is_some());
        if !ok {
            errs.push(format!("$ref {r:?} does not resolve inside the document"));
        }
    }
    errs
}

fn collect_refs(v: &Json, out: &mut Vec<String>) {
    match v {
        Json::Object(m) => {
            for (k, x) in m {
                if k == "$ref" {
                    if let Some(s) = x.as_str() {
                        out.push(s.to_owned());
                    }
                } else {
                    collect_refs(x, out);
                }
            }
        }
        Json::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

impl RestApi {
    /// An API `id` under `scope` from routes.
    pub fn new(scope: &Scope, id: &str, props: RestApiProps) -> Result<Self, SynthError> {
        let me = scope.child(id)?;
        if props.routes.is_empty() {
            return Err(SynthError::OpenApi {
                path: me.path().to_owned(),
                message: "needs at least one route".to_owned(),
            });
        }
        let mut paths = Map::new();
        let mut schemas = Map::new();
        for r in &props.routes {
            let method = r.method.to_ascii_lowercase();
            let mut op = json!({
                "x-amazon-apigateway-integration": {"type": "aws_proxy", "httpMethod": "POST", "uri": invoke_uri(&r.function), "passthroughBehavior": "when_no_match"},
                "x-amazon-apigateway-request-validator": "all",
                "responses": {"200": {"description": "OK"}},
                "security": match r.auth {
                    Auth::AuthorizerAndApiKey => json!([{"jwt": [], "api_key": []}]),
                    Auth::ApiKey => json!([{"api_key": []}]),
                },
            });
            if let Some(s) = &r.request_schema {
                let name = schema_name(&r.path, &method);
                schemas.insert(name.clone(), s.clone());
                op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{name}")}}}});
            }
            let item = paths.entry(r.path.clone()).or_insert_with(|| json!({}));
            if item.get(&method).is_some() {
                return Err(SynthError::OpenApi {
                    path: me.path().to_owned(),
                    message: format!("{method} {} is defined twice", r.path),
                });
            }
            item[&method] = op;
        }
        let mut security_schemes =
            json!({"api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"}});
        let needs_authorizer = props
            .routes
            .iter()
            .any(|r| r.auth == Auth::AuthorizerAndApiKey);
        match (&props.authorizer, needs_authorizer) {
            (Some(a), _) => {
                security_schemes["jwt"] = json!({
                    "type": "apiKey", "name": "Authorization", "in": "header",
                    "x-amazon-apigateway-authtype": "custom",
                    "x-amazon-apigateway-authorizer": {"type": "token", "authorizerUri": invoke_uri(a), "authorizerResultTtlInSeconds": 300, "identityValidationExpression": "^Bearer [-0-9A-Za-z._~+/]+=*$"},
                });
            }
            (None, true) => {
                return Err(SynthError::InvalidProps {
                    path: me.path().to_owned(),
                    field: "authorizer",
                    message: "routes use the authorizer but none is set".to_owned(),
                });
            }
            (None, false) => {}
        }
        let body = json!({
            "openapi": "3.0.1",
            "info": {"title": me.path(), "version": "1"},
            "x-amazon-apigateway-api-key-source": "HEADER",
            "x-amazon-apigateway-request-validators": {"all": {"validateRequestBody": true, "validateRequestParameters": true}},
            "paths": paths,
            "components": {"schemas": schemas, "securitySchemes": security_schemes},
        });
        let mut functions: Vec<&Function> = props.routes.iter().map(|r| &r.function).collect();
        functions.extend(props.authorizer.iter());
        Self::with_body(&me, body, &functions, &props)
    }

    /// An API from a hand-written OpenAPI body (validated like a generated one); `functions`
    /// are the integrations to permit.
    pub fn from_openapi(
        scope: &Scope,
        id: &str,
        body: Json,
        functions: &[&Function],
        props: &RestApiProps,
    ) -> Result<Self, SynthError> {
        Self::with_body(&scope.child(id)?, body, functions, props)
    }

    fn with_body(
        me: &Scope,
        body: Json,
        functions: &[&Function],
        props: &RestApiProps,
    ) -> Result<Self, SynthError> {
        let errs = validate_openapi(&body);
        if !errs.is_empty() {
            return Err(SynthError::OpenApi {
                path: me.path().to_owned(),
                message: errs.join("; "),
            });
        }
        let digest = Sha256::digest(body.to_string().as_bytes());
        let hash: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
        let api = me.add_resource(
            "Resource",
            "AWS::ApiGateway::RestApi",
            json!({
                "Name": me.path().replace('/', "-"),
                "Body": body,
                "EndpointConfiguration": {"Types": ["REGIONAL"]},
                "DisableExecuteApiEndpoint": false,
            }),
        )?;
        // A new deployment id whenever the body changes: CloudFormation only deploys on create.
        let deployment = me.add_resource(
            &format!("Deployment{hash}"),
            "AWS::ApiGateway::Deployment",
            json!({
                "RestApiId": api.reference(), "Description": format!("body {hash}"),
            }),
        )?;
        let logs = LogGroup::new(me, "AccessLogs", LogGroupProps::new(props.log_key.clone()))?;
        let stage = me.add_resource("Stage", "AWS::ApiGateway::Stage", json!({
            "RestApiId": api.reference(),
            "DeploymentId": deployment.reference(),
            "StageName": props.stage_name,
            "TracingEnabled": true,
            "AccessLogSetting": {
                "DestinationArn": logs.arn(),
                "Format": "{\"requestId\":\"$context.requestId\",\"ip\":\"$context.identity.sourceIp\",\"requestTime\":\"$context.requestTime\",\"httpMethod\":\"$context.httpMethod\",\"resourcePath\":\"$context.resourcePath\",\"status\":\"$context.status\",\"responseLength\":\"$context.responseLength\",\"integrationLatency\":\"$context.integrationLatency\"}",
            },
            "MethodSettings": [{
                "ResourcePath": "/*", "HttpMethod": "*", "LoggingLevel": "ERROR", "DataTraceEnabled": false,
                "MetricsEnabled": true, "ThrottlingRateLimit": props.throttle_rate_limit, "ThrottlingBurstLimit": props.throttle_burst_limit,
            }],
        }))?;
        for (i, f) in functions.iter().enumerate() {
            // Fine-grained enough: this API, any stage/method (API Gateway's own scoping).
            f.add_permission(&format!("{}ApiPermission{i}", me.path().rsplit('/').next().unwrap_or("Api")), "apigateway.amazonaws.com",
                json!({"Fn::Sub": ["arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/*", {"Api": api.reference()}]}))?;
        }
        let api_key = me.add_resource(
            "ApiKey",
            "AWS::ApiGateway::ApiKey",
            json!({"Enabled": true, "Description": format!("clients of {}", me.path())}),
        )?;
        let plan = me.add_resource("UsagePlan", "AWS::ApiGateway::UsagePlan", json!({
            "ApiStages": [{"ApiId": api.reference(), "Stage": stage.reference()}],
            "Throttle": {"RateLimit": props.throttle_rate_limit, "BurstLimit": props.throttle_burst_limit},
            "Quota": {"Limit": props.quota_per_day, "Period": "DAY"},
        }))?;
        me.add_resource(
            "UsagePlanKey",
            "AWS::ApiGateway::UsagePlanKey",
            json!({
                "KeyId": api_key.reference(), "KeyType": "API_KEY", "UsagePlanId": plan.reference(),
            }),
        )?;
        let this = Self {
            resource: api,
            stage,
            api_key,
        };
        if let Some(acl) = &props.web_acl {
            this.associate_web_acl(me, acl)?;
        }
        Ok(this)
    }

    /// Associates a regional web ACL with the stage.
    pub fn associate_web_acl(&self, me: &Scope, acl: &WebAcl) -> Result<ResourceRef, SynthError> {
        let assoc = me.add_resource("WebAclAssociation", "AWS::WAFv2::WebACLAssociation", json!({
            "ResourceArn": {"Fn::Sub": ["arn:${AWS::Partition}:apigateway:${AWS::Region}::/restapis/${Api}/stages/${Stage}", {"Api": self.resource.reference(), "Stage": self.stage.reference()}]},
            "WebACLArn": acl.arn(),
        }))?;
        Ok(assoc)
    }

    /// The API's resource.
    pub fn resource(&self) -> &ResourceRef {
        &self.resource
    }

    /// The stage's resource.
    pub fn stage(&self) -> &ResourceRef {
        &self.stage
    }

    /// The API key's resource.
    pub fn api_key(&self) -> &ResourceRef {
        &self.api_key
    }

    /// The API id.
    pub fn id(&self) -> Token {
        self.resource.reference()
    }

    /// The regional domain name of the stage (`<id>.execute-api.<region>.amazonaws.com`).
    pub fn domain_name(&self) -> Json {
        json!({"Fn::Sub": ["${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}", {"Api": self.resource.reference()}]})
    }
}

/// The account-level setting that lets API Gateway write execution logs (needed once per
/// account and region before any stage sets a `LoggingLevel`, which rule APIG6 requires).
#[derive(Debug, Clone)]
pub struct ApiGatewayAccount {
    resource: ResourceRef,
}

impl ApiGatewayAccount {
    /// The setting `id` under `scope`, with a role limited to API Gateway's own log groups.
    pub fn new(scope: &Scope, id: &str) -> Result<Self, SynthError> {
        let me = scope.child(id)?;
        let role = crate::iam::Role::new(
            &me,
            "CloudWatchRole",
            crate::iam::RoleProps {
                assumed_by: "apigateway.amazonaws.com".to_owned(),
                description: Some("API Gateway writes execution logs".to_owned()),
            },
        )?;
        role.add_statement(crate::iam::statement(
            &[
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:DescribeLogGroups",
                "logs:DescribeLogStreams",
                "logs:PutLogEvents",
                "logs:GetLogEvents",
                "logs:FilterLogEvents",
            ],
            vec![json!({"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:API-Gateway-Execution-Logs_*"})],
        ));
        let resource = me.add_resource(
            "Resource",
            "AWS::ApiGateway::Account",
            json!({"CloudWatchRoleArn": role.arn()}),
        )?;
        // The setting outlives the stack: other APIs of the account rely on it.
        resource.apply_removal_policy(banca_model::template::DeletionPolicy::Retain);
        Ok(Self { resource })
    }

    /// The setting's resource.
    pub fn resource(&self) -> &ResourceRef {
        &self.resource
    }
}
