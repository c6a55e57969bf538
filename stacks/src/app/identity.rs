//! `identity`: the REST API, its authorizer and WAF, and the existing UAA OAuth2 server.
//!
//! Routes (every one needs an API key; all but /login, /signin and /health also the JWT
//! authorizer; request bodies are validated by API Gateway with the schemars schemas of the
//! handlers' own contract types):
//!
//! | route | integration | body |
//! |---|---|---|
//! | POST /login | HTTP proxy to the UAA's `/oauth/token` through a VPC link | form (OAuth2 password grant) |
//! | POST /signin | `signup` | `SignupForm` |
//! | POST /otpGenerate | `otp-generate` | `OtpGenerateRequest` |
//! | POST /otpValidate | `otp-validate` | `OtpValidateRequest` |
//! | POST /transfers | `otp-validate` | `OtpValidateRequest` |
//! | GET /me/summary | `user-summary` | - |
//! | POST /reports | SQS `SendMessage` to `report-requests` | `ReportRequest` |
//! | GET /health | mock 200 | - |
//!
//! Route decisions:
//! - **/login** needs the UAA, which no handler wraps: the password grant is a form post the
//!   UAA already implements, and a Lambda in between would only copy credentials through one
//!   more process. API Gateway proxies it to the UAA's internal load balancer through a VPC
//!   link (REST API VPC links need a Network Load Balancer, so an internal NLB forwards TCP
//!   443 to the ALB, and TLS is verified end to end against the UAA's certificate).
//! - **/transfers** is the customer's "confirm this transfer" call: a transfer is only ever
//!   queued after its OTP is checked, so it is served by `otp-validate` (the same handler and
//!   schema as /otpValidate, the seed's name for it).
//! - **/reports** only enqueues: API Gateway sends a `ReportRequested` (customer from the
//!   authorizer's context, request id from API Gateway) straight to `report-requests`, and
//!   `movements-report` answers by e-mail. No function sits in the synchronous path.
//! - **/health** answers 200 without authentication for Route 53's health checkers, which
//!   cannot send API keys (compliance rule APIG4 is suppressed for that reason only).
//!
//! The API is built from an OpenAPI body here rather than `RestApi::new`: that constructor adds
//! each function's invoke permission in the function's own stack, which would make the
//! handler stacks and this one reference each other. The body has the same shape, and the
//! permissions live in this stack.

use banca_constructs::SynthError;
use banca_constructs::apigateway::{RestApi, RestApiProps};
use banca_constructs::compute::{
    AutoScalingGroup, AutoScalingGroupProps, LoadBalancer, LoadBalancerProps,
};
use banca_constructs::ec2::SubnetType;
use banca_constructs::edge::{Certificate, CertificateProps};
use banca_constructs::iam::{Role, RoleProps};
use banca_constructs::lambda::Function;
use banca_constructs::waf::{WafScope, WebAcl, WebAclProps};
use banca_contracts::api::{OtpGenerateRequest, OtpValidateRequest, ReportRequest, SignupForm};
use serde_json::{Map, Value as Json, json};

use super::backend::{Backend, Spec, function};
use super::onboarding::{Onboarding, UPLOAD_PREFIX, grant_table};
use super::otp::Otp;
use super::schemas::request_schema;
use super::{Handler, Region, Shared};

/// The API stage.
pub const STAGE: &str = "v1";
/// The API's base path under `api.<domain>`: CloudFront forwards `/api/*` unchanged.
pub const API_BASE_PATH: &str = "api";
/// The UAA's token endpoint, behind /login.
pub const UAA_TOKEN_PATH: &str = "/oauth/token";

/// The API of one region.
pub(crate) struct Identity {
    pub functions: Vec<Handler>,
    /// `<id>.execute-api.<region>.amazonaws.com` (health checks use it: it needs no custom
    /// domain routing).
    pub execute_domain: Json,
    /// The regional target of `api.<domain>` (the custom domain's regional name).
    pub regional_domain: Json,
    /// The API's name (the `ApiName` dimension of its metrics).
    pub api_name: String,
}

/// The host of an https URL.
fn host(url: &str) -> &str {
    let rest = url.strip_prefix("https://").unwrap_or(url);
    rest.split(['/', ':']).next().unwrap_or(rest)
}

/// A route's OpenAPI operation.
struct Op {
    path: &'static str,
    method: &'static str,
    integration: Json,
    schema: Option<(Json, Map<String, Json>)>,
    authorizer: bool,
    responses: Json,
}

fn lambda_integration(f: &Function) -> Json {
    json!({
        "type": "aws_proxy", "httpMethod": "POST", "passthroughBehavior": "when_no_match",
        "uri": {"Fn::Sub": ["arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Arn}/invocations", {"Arn": f.arn()}]},
    })
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

/// The `ReportRequested` message /reports sends, as an API Gateway mapping template.
pub const REPORT_TEMPLATE: &str = concat!(
    "#set($q = '\"')\n",
    "#set($locale = \"\")\n",
    "#if(\"$!input.path('$.locale')\" != \"\")#set($locale = \",${q}locale${q}:$input.json('$.locale')\")#end\n",
    "#set($msg = \"{${q}type${q}:${q}ReportRequested${q},${q}version${q}:1,${q}requestId${q}:${q}$context.requestId${q},",
    "${q}customerId${q}:${q}$util.escapeJavaScript($context.authorizer.customerId)${q},",
    "${q}accountId${q}:$input.json('$.accountId'),${q}from${q}:$input.json('$.from'),${q}to${q}:$input.json('$.to')$locale}\")\n",
    "Action=SendMessage&MessageBody=$util.urlEncode($msg)",
);

/// Builds the stack.
pub(crate) fn build(
    r: &Region<'_>,
    env: &Shared<'_>,
    back: &Backend,
    otp: &Otp,
    onb: &Onboarding,
) -> Result<Identity, SynthError> {
    let s = r.stack("identity", "REST API, authorizer, WAF and the UAA server")?;
    let c = r.config;
    let uaa_url = c.existing_systems.uaa.base_url.trim_end_matches('/');
    let uaa_host = host(uaa_url).to_owned();
    let zone = c.domain.hosted_zone_id.clone();
    let api_host = format!("api.{}", c.domain.name);

    // The UAA: internal ALB + Auto Scaling group (IMDSv2, CloudWatch agent, Session Manager).
    let uaa_cert = Certificate::new(
        &s,
        "UaaCertificate",
        CertificateProps {
            domain_name: uaa_host.clone(),
            alternative_names: Vec::new(),
            hosted_zone_id: zone.clone(),
        },
    )?;
    let asg = AutoScalingGroup::new(
        &s,
        "Uaa",
        AutoScalingGroupProps {
            min_capacity: r.capacity.uaa_min_instances,
            max_capacity: r.peak(|c| c.uaa_min_instances).max(4),
            ..AutoScalingGroupProps::new(&env.net.vpc, env.sec.data_key.clone())
        },
    )?;
    asg.resource().set_property(
        "MinSize",
        r.scaled(&s, |c| c.uaa_min_instances, |n| json!(n.to_string()))?,
    );
    let alb = LoadBalancer::new(
        &s,
        "UaaLoadBalancer",
        LoadBalancerProps {
            vpc: env.net.vpc.clone(),
            certificate_arn: uaa_cert.arn().to_json(),
            targets: asg,
            allowed_cidr: env.net.cidr.clone(),
            health_check_path: "/healthz".to_owned(),
        },
    )?;
    // REST API VPC links only target NLBs: an internal NLB passes TLS through to the ALB.
    let nlb = s.add_resource(
        "UaaLinkBalancer",
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        json!({
            "Type": "network", "Scheme": "internal",
            "Subnets": env.net.vpc.subnet_ids(SubnetType::Private)?,
            "LoadBalancerAttributes": [
                {"Key": "deletion_protection.enabled", "Value": "true"},
                {"Key": "load_balancing.cross_zone.enabled", "Value": "true"},
            ],
        }),
    )?;
    let nlb_targets = s.add_resource(
        "UaaLinkTargets",
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        json!({
            "TargetType": "alb", "Protocol": "TCP", "Port": 443, "VpcId": env.net.vpc.id(),
            "Targets": [{"Id": alb.resource().reference(), "Port": 443}],
            "HealthCheckProtocol": "HTTPS", "HealthCheckPath": "/healthz",
        }),
    )?;
    let listener = s.add_resource(
        "UaaLinkListener",
        "AWS::ElasticLoadBalancingV2::Listener",
        json!({
            "LoadBalancerArn": nlb.reference(), "Port": 443, "Protocol": "TCP",
            "DefaultActions": [{"Type": "forward", "TargetGroupArn": nlb_targets.reference()}],
        }),
    )?;
    let _ = listener;
    let link = s.add_resource(
        "UaaVpcLink",
        "AWS::ApiGateway::VpcLink",
        json!({
            "Name": r.name("uaa-link"), "TargetArns": [nlb.reference()],
            "Description": "API Gateway -> UAA (internal NLB -> ALB)",
        }),
    )?;

    // The authorizer: UAA JWTs plus the face record.
    let authorizer = function(
        r,
        &s,
        env,
        Spec {
            timeout_secs: 10,
            in_vpc: true,
            environment: vec![
                ("UAA_BASE_URL", json!(uaa_url)),
                ("UAA_ISSUER", json!(format!("{uaa_url}{UAA_TOKEN_PATH}"))),
                ("UAA_AUDIENCE", json!(c.project)),
                ("FACE_TABLE", json!(env.data.face_table)),
                ("UPLOAD_PREFIX", json!(UPLOAD_PREFIX)),
            ],
            ..Spec::new("Authorizer", "authorizer")
        },
    )?;
    grant_table(
        authorizer.role(),
        env,
        &env.data.face_table,
        &["dynamodb:GetItem"],
        &["kms:Decrypt"],
    );

    // /reports sends straight to the queue with this role.
    let sqs_role = Role::new(
        &s,
        "ReportsIntegrationRole",
        RoleProps {
            assumed_by: "apigateway.amazonaws.com".to_owned(),
            description: Some("POST /reports -> report-requests".to_owned()),
        },
    )?;
    env.msg.reports.grant_send(&sqs_role);

    let ok = json!({"200": {"description": "OK"}});
    let ops = vec![
        Op {
            path: "/login",
            method: "post",
            authorizer: false,
            schema: None,
            responses: ok.clone(),
            integration: json!({
                "type": "http_proxy", "httpMethod": "POST", "uri": format!("https://{uaa_host}{UAA_TOKEN_PATH}"),
                "connectionType": "VPC_LINK", "connectionId": link.reference(), "passthroughBehavior": "when_no_match",
                "tlsConfig": {"insecureSkipVerification": false},
            }),
        },
        Op {
            path: "/signin",
            method: "post",
            authorizer: false,
            schema: Some(request_schema::<SignupForm>()),
            responses: ok.clone(),
            integration: lambda_integration(&onb.signup),
        },
        Op {
            path: "/otpGenerate",
            method: "post",
            authorizer: true,
            schema: Some(request_schema::<OtpGenerateRequest>()),
            responses: ok.clone(),
            integration: lambda_integration(&otp.generate),
        },
        Op {
            path: "/otpValidate",
            method: "post",
            authorizer: true,
            schema: Some(request_schema::<OtpValidateRequest>()),
            responses: ok.clone(),
            integration: lambda_integration(&otp.validate),
        },
        Op {
            path: "/transfers",
            method: "post",
            authorizer: true,
            schema: Some(request_schema::<OtpValidateRequest>()),
            responses: ok.clone(),
            integration: lambda_integration(&otp.validate),
        },
        Op {
            path: "/me/summary",
            method: "get",
            authorizer: true,
            schema: None,
            responses: ok.clone(),
            integration: lambda_integration(&back.user_summary),
        },
        Op {
            path: "/reports",
            method: "post",
            authorizer: true,
            schema: Some(request_schema::<ReportRequest>()),
            responses: json!({"202": {"description": "queued"}}),
            integration: json!({
                "type": "aws", "httpMethod": "POST", "passthroughBehavior": "never",
                "uri": {"Fn::Sub": ["arn:${AWS::Partition}:apigateway:${AWS::Region}:sqs:path/${AWS::AccountId}/${Queue}", {"Queue": env.msg.reports.name()}]},
                "credentials": sqs_role.arn(),
                "requestParameters": {"integration.request.header.Content-Type": "'application/x-www-form-urlencoded'"},
                "requestTemplates": {"application/json": REPORT_TEMPLATE},
                "responses": {"default": {"statusCode": "202", "responseTemplates": {"application/json": "{\"status\":\"queued\",\"requestId\":\"$context.requestId\"}"}}},
            }),
        },
    ];
    let mut paths = Map::new();
    let mut schemas = Map::new();
    for op in ops {
        let mut o = json!({
            "x-amazon-apigateway-integration": op.integration,
            "x-amazon-apigateway-request-validator": "all",
            "responses": op.responses,
            "security": if op.authorizer { json!([{"jwt": [], "api_key": []}]) } else { json!([{"api_key": []}]) },
        });
        if let Some((root, defs)) = op.schema {
            let name = schema_name(op.path, op.method);
            for (k, v) in defs {
                if let Some(existing) = schemas.get(&k).filter(|e| **e != v) {
                    return Err(SynthError::OpenApi {
                        path: s.path().to_owned(),
                        message: format!(
                            "two contract types define the schema {k:?} differently: {existing} and {v}"
                        ),
                    });
                }
                schemas.insert(k, v);
            }
            schemas.insert(name.clone(), root);
            o["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{name}")}}}});
        }
        paths.entry(op.path.to_owned()).or_insert_with(|| json!({}))[op.method] = o;
    }
    paths.insert("/health".to_owned(), json!({"get": {
        "x-amazon-apigateway-integration": {"type": "mock", "requestTemplates": {"application/json": "{\"statusCode\": 200}"},
            "responses": {"default": {"statusCode": "200", "responseTemplates": {"application/json": "{\"status\":\"ok\"}"}}}},
        "responses": {"200": {"description": "OK"}},
    }}));
    let body = json!({
        "openapi": "3.0.1",
        "info": {"title": s.path(), "version": "1"},
        "x-amazon-apigateway-api-key-source": "HEADER",
        "x-amazon-apigateway-request-validators": {"all": {"validateRequestBody": true, "validateRequestParameters": true}},
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {
            "api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"},
            "jwt": {
                "type": "apiKey", "name": "Authorization", "in": "header",
                "x-amazon-apigateway-authtype": "custom",
                "x-amazon-apigateway-authorizer": {"type": "token", "authorizerUri": lambda_integration(&authorizer)["uri"].clone(), "authorizerResultTtlInSeconds": 300, "identityValidationExpression": "^Bearer [-0-9A-Za-z._~+/]+=*$"},
            },
        }},
    });

    let waf = WebAcl::new(
        &s,
        "Waf",
        WebAclProps {
            rate_limit: u32::try_from(c.waf.rate_limit_per_5_minutes).unwrap_or(u32::MAX),
            ..WebAclProps::new(WafScope::Regional, env.sec.logs_key.clone())
        },
    )?;
    let api = RestApi::from_openapi(
        &s,
        "Api",
        body,
        &[],
        &RestApiProps {
            stage_name: STAGE.to_owned(),
            web_acl: Some(waf),
            ..RestApiProps::new(Vec::new(), env.sec.logs_key.clone())
        },
    )?;
    api.resource().suppress("AwsSolutions-APIG4", "GET /health is a mock for Route 53 health checkers, which cannot send API keys; every other method needs an API key or the authorizer");
    let api_name = format!("{}-Api", s.path().replace('/', "-"));

    // Invoke permissions, here rather than in the handlers' stacks (no cycle).
    let source = json!({"Fn::Sub": ["arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/*", {"Api": api.id()}]});
    let targets: [(&str, &Function); 5] = [
        ("Signup", &onb.signup),
        ("OtpGenerate", &otp.generate),
        ("OtpValidate", &otp.validate),
        ("UserSummary", &back.user_summary),
        ("Authorizer", &authorizer),
    ];
    for (id, f) in targets {
        s.add_resource(&format!("Invoke{id}"), "AWS::Lambda::Permission", json!({
            "Action": "lambda:InvokeFunction", "FunctionName": f.arn(), "Principal": "apigateway.amazonaws.com",
            "SourceArn": source, "SourceAccount": {"Ref": "AWS::AccountId"},
        }))?;
    }

    // api.<domain> in this region; Route 53 (global stack) fails over between the regions.
    let api_cert = Certificate::new(
        &s,
        "ApiCertificate",
        CertificateProps {
            domain_name: api_host.clone(),
            alternative_names: Vec::new(),
            hosted_zone_id: zone,
        },
    )?;
    let domain = s.add_resource(
        "ApiDomain",
        "AWS::ApiGateway::DomainName",
        json!({
            "DomainName": api_host, "RegionalCertificateArn": api_cert.arn(),
            "EndpointConfiguration": {"Types": ["REGIONAL"]}, "SecurityPolicy": "TLS_1_2",
        }),
    )?;
    s.add_resource("ApiMapping", "AWS::ApiGateway::BasePathMapping", json!({
        "DomainName": domain.reference(), "RestApiId": api.id(), "Stage": api.stage().reference(), "BasePath": API_BASE_PATH,
    }))?;

    Ok(Identity {
        functions: vec![("authorizer".to_owned(), authorizer)],
        execute_domain: api.domain_name(),
        regional_domain: domain.get_att("RegionalDomainName").to_json(),
        api_name,
    })
}
