//! POST /signin (the seed's sign-up form): validate and normalise the form, register the user
//! in the UAA, leave the onboarding record (photo required) and emit an audit event.

use std::sync::Arc;

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use banca_contracts::api::{SignupForm, SignupResponse};
use banca_contracts::audit::{Actor, AuditEvent, Outcome};
use banca_contracts::fields::{CustomerId, E164Phone, Email, UserId};
use banca_runtime::lambda::{Clock, Sensitive};
use chrono::SecondsFormat;

use crate::apigw::{Problem, json_body, json_response};
use crate::audit::{AuditEmitter, new_event_id};
use crate::clients::{ClientError, NewUaaUser, UaaCredentials, uaa_register};
use crate::face::FaceStore;

/// Shortest password.
pub const PASSWORD_MIN: usize = 12;
/// Longest password (bounded so hashing cost stays bounded at the UAA).
pub const PASSWORD_MAX: usize = 128;

/// A form that passed every rule, normalised.
#[derive(Clone, PartialEq, Eq)]
pub struct ValidSignup {
    /// Name, whitespace collapsed.
    pub full_name: String,
    /// Cédula (checked).
    pub national_id: String,
    /// Customer id.
    pub customer_id: CustomerId,
    /// E-mail, lowercased.
    pub email: Email,
    /// Phone in E.164.
    pub phone: E164Phone,
    /// Login, lowercased.
    pub username: String,
    /// Password.
    pub password: Sensitive<String>,
}

impl std::fmt::Debug for ValidSignup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidSignup")
            .field("username", &self.username)
            .field("customer_id", &self.customer_id)
            .finish_non_exhaustive()
    }
}

/// One field's problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    /// The form field (camelCase).
    pub field: &'static str,
    /// What is wrong and what is allowed.
    pub message: String,
}

fn problem(field: &'static str, message: impl Into<String>) -> FieldProblem {
    FieldProblem {
        field,
        message: message.into(),
    }
}

/// Checks an Ecuadorian cédula: 10 digits, province 01-24 or 30, third digit below 6 (natural
/// person), and the modulo-10 check digit (coefficients 2,1,2,1,2,1,2,1,2; products above 9
/// minus 9).
pub fn valid_cedula(s: &str) -> bool {
    let d: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    if d.len() != 10 || s.len() != 10 {
        return false;
    }
    let province = d[0] * 10 + d[1];
    if !((1..=24).contains(&province) || province == 30) || d[2] >= 6 {
        return false;
    }
    let sum: u32 = d[..9]
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let p = if i % 2 == 0 { x * 2 } else { x };
            if p > 9 { p - 9 } else { p }
        })
        .sum();
    (10 - sum % 10) % 10 == d[9]
}

/// Normalises a phone to E.164: `099 123 4567`, `0991234567`, `593991234567` and
/// `+593 99 123 4567` all become `+593991234567`. Ecuadorian numbers must be mobiles (9 then 8
/// digits), since the OTP goes by SMS.
pub fn normalize_phone(raw: &str) -> Result<E164Phone, String> {
    let compact: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.'))
        .collect();
    let e164 = if let Some(rest) = compact.strip_prefix('+') {
        format!("+{rest}")
    } else if compact.len() == 10 && compact.starts_with("09") {
        format!("+593{}", &compact[1..])
    } else if compact.len() == 12 && compact.starts_with("5939") {
        format!("+{compact}")
    } else {
        return Err(format!(
            "must be a mobile number like 0991234567 or +593991234567, got {raw:?}"
        ));
    };
    if let Some(national) = e164.strip_prefix("+593")
        && (national.len() != 9 || !national.starts_with('9'))
    {
        return Err(format!(
            "must be an Ecuadorian mobile (+593 9XXXXXXXX), got {raw:?}"
        ));
    }
    e164.parse::<E164Phone>()
        .map_err(|_| format!("must be an E.164 number like +593991234567, got {raw:?}"))
}

fn check_password(pw: &str, username: &str, cedula: &str) -> Result<(), String> {
    let n = pw.chars().count();
    if !(PASSWORD_MIN..=PASSWORD_MAX).contains(&n) {
        return Err(format!(
            "must be {PASSWORD_MIN} to {PASSWORD_MAX} characters, got {n}"
        ));
    }
    let upper = pw.chars().any(char::is_uppercase);
    let lower = pw.chars().any(char::is_lowercase);
    let digit = pw.chars().any(|c| c.is_ascii_digit());
    let symbol = pw
        .chars()
        .any(|c| !c.is_alphanumeric() && !c.is_whitespace());
    if !(upper && lower && digit && symbol) {
        return Err("must mix upper and lower case letters, a digit and a symbol".into());
    }
    if pw.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    let lowered = pw.to_lowercase();
    if (!username.is_empty() && lowered.contains(username))
        || (!cedula.is_empty() && pw.contains(cedula))
    {
        return Err("must not contain your username or cédula".into());
    }
    Ok(())
}

/// Validates and normalises the form, reporting every problem at once.
pub fn validate(form: &SignupForm) -> Result<ValidSignup, Vec<FieldProblem>> {
    let mut problems = Vec::new();
    let full_name = form
        .full_name
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let name_chars = full_name.chars().count();
    if !(3..=100).contains(&name_chars)
        || !full_name
            .chars()
            .all(|c| c.is_alphabetic() || matches!(c, ' ' | '\'' | '-' | '.'))
        || !full_name.chars().any(char::is_alphabetic)
    {
        problems.push(problem(
            "fullName",
            format!("must be 3 to 100 letters, spaces, apostrophes or hyphens, got {name_chars} characters"),
        ));
    }
    let national_id = form.national_id.trim().to_owned();
    if !valid_cedula(&national_id) {
        problems.push(problem(
            "nationalId",
            "must be a valid Ecuadorian cédula (10 digits with a correct check digit)",
        ));
    }
    let email = form.email.trim().to_lowercase().parse::<Email>();
    if let Err(e) = &email {
        problems.push(problem("email", e.to_string()));
    }
    let phone = normalize_phone(&form.phone);
    if let Err(e) = &phone {
        problems.push(problem("phone", e.clone()));
    }
    let username = form.username.trim().to_lowercase();
    let username_ok = (4..=32).contains(&username.len())
        && username
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && username
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if !username_ok {
        problems.push(problem(
            "username",
            format!("must be 4 to 32 letters, digits, '.', '_' or '-', starting with a letter or digit, got {username:?}"),
        ));
    }
    if let Err(e) = check_password(&form.password, &username, &national_id) {
        problems.push(problem("password", e));
    }
    match (email, phone, problems.is_empty()) {
        (Ok(email), Ok(phone), true) => Ok(ValidSignup {
            full_name,
            national_id,
            customer_id: form.customer_id.clone(),
            email,
            phone,
            username,
            password: Sensitive::new(form.password.clone()),
        }),
        _ => Err(problems),
    }
}

/// Everything signup needs.
#[derive(Clone)]
#[allow(missing_debug_implementations)]
pub struct SignupDeps {
    /// HTTP client.
    pub http: reqwest::Client,
    /// UAA base URL.
    pub uaa_base_url: String,
    /// UAA client credentials.
    pub uaa_credentials: Sensitive<UaaCredentials>,
    /// Face records (onboarding state).
    pub faces: FaceStore,
    /// Audit.
    pub audit: AuditEmitter,
    /// Photo upload prefix.
    pub upload_prefix: String,
    /// Time.
    pub clock: Arc<dyn Clock>,
}

async fn audit(
    deps: &SignupDeps,
    req: &ApiGatewayProxyRequest,
    user: Option<&UserId>,
    username: &str,
    outcome: Outcome,
    reason: Option<&str>,
) {
    let mut details = serde_json::Map::new();
    details.insert("username".into(), username.into());
    if let Some(r) = reason {
        details.insert("reason".into(), r.into());
    }
    let actor_id = user.cloned().or_else(|| "anonymous".parse().ok());
    let Some(actor_id) = actor_id else { return };
    let event = AuditEvent::new(
        new_event_id(),
        crate::time::utc(deps.clock.now_ms()),
        Actor {
            user_id: actor_id,
            ip: req.request_context.identity.source_ip.clone(),
            user_agent: req
                .headers
                .get("user-agent")
                .and_then(|v| v.to_str().ok())
                .map(|s| s.chars().take(512).collect()),
        },
        "user.signup",
        format!(
            "user/{}",
            user.map(|u| u.to_string())
                .unwrap_or_else(|| username.to_owned())
        ),
        outcome,
        details,
    );
    deps.audit.emit(&event).await;
}

/// The signup handler.
pub async fn handle(deps: &SignupDeps, req: ApiGatewayProxyRequest) -> ApiGatewayProxyResponse {
    let form: SignupForm = match json_body(&req) {
        Ok(f) => f,
        Err(p) => return p.into_response(),
    };
    let valid = match validate(&form) {
        Ok(v) => v,
        Err(problems) => {
            let message = problems
                .iter()
                .map(|p| format!("{}: {}", p.field, p.message))
                .collect::<Vec<_>>()
                .join("; ");
            audit(
                deps,
                &req,
                None,
                form.username.trim(),
                Outcome::Failure,
                Some("invalid form"),
            )
            .await;
            return Problem::invalid(message).into_response();
        }
    };
    let registered = uaa_register(
        &deps.http,
        &deps.uaa_base_url,
        &deps.uaa_credentials,
        &NewUaaUser {
            username: &valid.username,
            password: valid.password.expose(),
            customer_id: valid.customer_id.as_str(),
            email: valid.email.as_str(),
            phone: valid.phone.as_str(),
        },
    )
    .await;
    let user_id: UserId = match registered.map(|id| id.parse::<UserId>()) {
        Ok(Ok(id)) => id,
        Ok(Err(_)) => {
            tracing::error!("uaa returned a malformed user id");
            return Problem::internal(502).into_response();
        }
        Err(ClientError::Conflict(_)) => {
            audit(
                deps,
                &req,
                None,
                &valid.username,
                Outcome::Failure,
                Some("username taken"),
            )
            .await;
            return Problem::new(
                409,
                "username_taken",
                format!("username {:?} is already registered", valid.username),
            )
            .hint("choose another username, or sign in if this account is yours")
            .into_response();
        }
        Err(e) => {
            tracing::error!(error = %e, "uaa registration failed");
            audit(
                deps,
                &req,
                None,
                &valid.username,
                Outcome::Failure,
                Some("uaa unavailable"),
            )
            .await;
            return Problem::internal(503).into_response();
        }
    };
    let now = crate::time::utc(deps.clock.now_ms()).to_rfc3339_opts(SecondsFormat::Secs, true);
    if let Err(e) = deps
        .faces
        .put_pending(&user_id, &valid.customer_id, &now)
        .await
    {
        // The UAA user exists; the authorizer will answer "photo required" without a record
        // anyway, so the customer can go on. Logged for operators.
        tracing::error!(error = %e, "onboarding record not written");
    }
    audit(
        deps,
        &req,
        Some(&user_id),
        &valid.username,
        Outcome::Success,
        None,
    )
    .await;
    json_response(
        201,
        &SignupResponse {
            upload_prefix: format!("{}{}/", deps.upload_prefix, user_id),
            user_id,
            username: valid.username,
            next_step: "upload_photo".into(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cedula_check_digit() {
        // Valid examples computed by the published algorithm.
        for ok in ["1710034065", "0926687856", "1713175071"] {
            assert!(valid_cedula(ok), "{ok}");
        }
        for bad in [
            "1710034064",
            "2510034065",
            "1770034065",
            "171003406",
            "17100340650",
            "17100340a5",
            "0010034065",
        ] {
            assert!(!valid_cedula(bad), "{bad}");
        }
    }

    #[test]
    fn phones_normalise_to_e164() {
        for raw in [
            "099 123 4567",
            "0991234567",
            "593991234567",
            "+593 99 123 4567",
            "(099) 123-4567",
        ] {
            assert_eq!(
                normalize_phone(raw).unwrap().as_str(),
                "+593991234567",
                "{raw}"
            );
        }
        assert_eq!(
            normalize_phone("+1 415 555 0100").unwrap().as_str(),
            "+14155550100"
        );
        for bad in ["022345678", "+593 2 234 5678", "12345", "phone"] {
            assert!(normalize_phone(bad).is_err(), "{bad}");
        }
    }

    fn form() -> SignupForm {
        SignupForm {
            full_name: "  María   José López ".into(),
            national_id: "1710034065".into(),
            customer_id: "C-100999".parse().unwrap(),
            email: " Maria.Lopez@Example.COM ".into(),
            phone: "099 123 4567".into(),
            username: "MariaJ".into(),
            password: "Quito#2026-seguro".into(),
        }
    }

    #[test]
    fn a_good_form_is_normalised() {
        let v = validate(&form()).unwrap();
        assert_eq!(v.full_name, "María José López");
        assert_eq!(v.email.as_str(), "maria.lopez@example.com");
        assert_eq!(v.phone.as_str(), "+593991234567");
        assert_eq!(v.username, "mariaj");
        assert!(!format!("{v:?}").contains("Quito"));
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let mut f = form();
        f.national_id = "1710034064".into();
        f.email = "maria@".into();
        f.phone = "022345678".into();
        f.username = "m!".into();
        f.password = "short".into();
        f.full_name = "X1".into();
        let fields: Vec<_> = validate(&f)
            .unwrap_err()
            .into_iter()
            .map(|p| p.field)
            .collect();
        assert_eq!(
            fields,
            [
                "fullName",
                "nationalId",
                "email",
                "phone",
                "username",
                "password"
            ]
        );
    }

    #[test]
    fn password_policy() {
        for (pw, why) in [
            ("alllowercase#2026", "upper"),
            ("ALLUPPERCASE#2026", "lower"),
            ("NoDigitsHere#abc", "digit"),
            ("NoSymbols2026abc", "symbol"),
            ("Mariaj#2026-long", "username"),
            ("Ab#1710034065xyz", "cedula"),
        ] {
            let mut f = form();
            f.password = pw.into();
            let errs = validate(&f).unwrap_err();
            assert_eq!(errs.len(), 1, "{why}: {errs:?}");
            assert_eq!(errs[0].field, "password", "{why}");
        }
    }
}
