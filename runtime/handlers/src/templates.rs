//! The handlebars templates of `templates/`, embedded at build time and rendered in strict mode
//! (a variable the message forgot is an error, never an empty hole in a customer's e-mail).
//!
//! Layout: `email/<template>/<locale>.{subject,html,txt}`, `sms/<template>.<locale>`,
//! `report/movements.<locale>.{html,csv}`. HTML is rendered with HTML escaping; subjects, text,
//! SMS and CSV without it (CSV fields go through the `csv` helper, which quotes and defuses
//! spreadsheet formulas).

use banca_contracts::fields::Locale;
use banca_contracts::notification::TemplateName;
use handlebars::{
    Context, Handlebars, Helper, HelperResult, Output, RenderContext, RenderErrorReason,
};
use serde::Serialize;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/templates.rs"));
}

/// Why a template did not render.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// No such template (a build without `templates/`, or a name typo).
    #[error("template {0:?}: not found\nhint: templates/ must contain it when the crate is built")]
    Missing(String),
    /// The data lacked a variable, or a helper failed.
    #[error("template {name:?}: {message}")]
    Render {
        /// The template.
        name: String,
        /// What handlebars said (names the missing variable).
        message: String,
    },
}

/// A rendered e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedEmail {
    /// One line, trimmed.
    pub subject: String,
    /// The HTML part.
    pub html: String,
    /// The plain-text part.
    pub text: String,
}

/// A rendered report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedReport {
    /// The HTML body.
    pub html: String,
    /// The CSV attachment.
    pub csv: String,
}

/// Both registries, built once per process (cold start) and reused by every invocation.
pub struct Templates {
    html: Handlebars<'static>,
    text: Handlebars<'static>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates")
            .field("count", &embedded::EMBEDDED.len())
            .finish()
    }
}

/// Quotes a CSV field (RFC 4180) and prefixes `'` to values a spreadsheet would run as a
/// formula (`=`, `+`, `-`, `@`, tab, CR), because reports are opened in Excel.
pub fn csv_field(value: &str) -> String {
    let defused = match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{value}"),
        _ => value.to_owned(),
    };
    format!("\"{}\"", defused.replace('"', "\"\""))
}

fn csv_helper(
    h: &Helper<'_>,
    _: &Handlebars<'_>,
    _: &Context,
    _: &mut RenderContext<'_, '_>,
    out: &mut dyn Output,
) -> HelperResult {
    let param = h
        .param(0)
        .ok_or(RenderErrorReason::ParamNotFoundForIndex("csv", 0))?;
    let value = match param.value() {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    };
    out.write(&csv_field(&value))?;
    Ok(())
}

impl Templates {
    /// Compiles every embedded template. Fails on a template with a syntax error.
    pub fn load() -> Result<Self, TemplateError> {
        let mut html = Handlebars::new();
        html.set_strict_mode(true);
        let mut text = Handlebars::new();
        text.set_strict_mode(true);
        text.register_escape_fn(handlebars::no_escape);
        text.register_helper("csv", Box::new(csv_helper));
        for (name, source) in embedded::EMBEDDED {
            let reg = if name.ends_with(".html") {
                &mut html
            } else {
                &mut text
            };
            reg.register_template_string(name, *source)
                .map_err(|e| TemplateError::Render {
                    name: (*name).to_owned(),
                    message: e.to_string(),
                })?;
        }
        Ok(Self { html, text })
    }

    /// Names of every embedded template.
    pub fn names() -> impl Iterator<Item = &'static str> {
        embedded::EMBEDDED.iter().map(|(n, _)| *n)
    }

    fn render<T: Serialize>(&self, name: &str, data: &T) -> Result<String, TemplateError> {
        let reg = if name.ends_with(".html") {
            &self.html
        } else {
            &self.text
        };
        if !reg.has_template(name) {
            return Err(TemplateError::Missing(name.to_owned()));
        }
        reg.render(name, data).map_err(|e| TemplateError::Render {
            name: name.to_owned(),
            message: e.reason().to_string(),
        })
    }

    /// Renders the e-mail of `template` in `locale`.
    pub fn email<T: Serialize>(
        &self,
        template: TemplateName,
        locale: Locale,
        data: &T,
    ) -> Result<RenderedEmail, TemplateError> {
        let base = format!("email/{}/{}", template.as_str(), locale.tag());
        let subject = self.render(&format!("{base}.subject"), data)?;
        Ok(RenderedEmail {
            // A header must be one line: a newline in data would otherwise inject headers.
            subject: subject.split_whitespace().collect::<Vec<_>>().join(" "),
            html: self.render(&format!("{base}.html"), data)?,
            text: self.render(&format!("{base}.txt"), data)?,
        })
    }

    /// Renders the SMS body of `template` in `locale` (trimmed; length limits are the SMS
    /// sender's business, see [`crate::notify::sms::fit_sms`]).
    pub fn sms<T: Serialize>(
        &self,
        template: TemplateName,
        locale: Locale,
        data: &T,
    ) -> Result<String, TemplateError> {
        let body = self.render(&format!("sms/{}.{}", template.as_str(), locale.tag()), data)?;
        Ok(body.trim().to_owned())
    }

    /// Renders the movements report (HTML body and CSV attachment) in `locale`.
    pub fn report<T: Serialize>(
        &self,
        locale: Locale,
        data: &T,
    ) -> Result<RenderedReport, TemplateError> {
        Ok(RenderedReport {
            html: self.render(&format!("report/movements.{}.html", locale.tag()), data)?,
            csv: self.render(&format!("report/movements.{}.csv", locale.tag()), data)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample(t: TemplateName) -> serde_json::Value {
        match t {
            TemplateName::TransferSucceeded => {
                json!({"amount":"125.50","currency":"USD","destinationName":"Maria <b>Lopez</b>"})
            }
            TemplateName::TransferFailed => json!({"amount":"125.50","currency":"USD",
                "destinationName":"Maria Lopez","reason":"INSUFFICIENT_FUNDS"}),
            TemplateName::OtpCode => json!({"code":"123456","ttlMinutes":3}),
            TemplateName::OnboardingPhotoRejected => json!({"reason":"no face"}),
            TemplateName::OnboardingCompleted => json!({}),
            TemplateName::MovementsReport => json!({"from":"2026-10-01","to":"2026-10-31",
                "count":3,"accountMasked":"******8877"}),
        }
    }

    #[test]
    fn every_template_renders_in_every_locale_and_channel() {
        let t = Templates::load().unwrap();
        for name in TemplateName::ALL {
            for locale in [Locale::EsEc, Locale::En] {
                let data = sample(name);
                let e = t.email(name, locale, &data).unwrap();
                assert!(!e.subject.is_empty() && !e.subject.contains('\n'));
                assert!(e.html.starts_with("<!DOCTYPE html>"));
                assert!(
                    !e.text.contains("<p>") && !e.text.contains("<html"),
                    "{}",
                    e.text
                );
                let sms = t.sms(name, locale, &data).unwrap();
                assert!(!sms.is_empty() && sms.len() < 160, "{sms}");
            }
        }
    }

    #[test]
    fn html_is_escaped_and_text_is_not() {
        let t = Templates::load().unwrap();
        let data = sample(TemplateName::TransferSucceeded);
        let e = t
            .email(TemplateName::TransferSucceeded, Locale::EsEc, &data)
            .unwrap();
        assert!(e.html.contains("Maria &lt;b&gt;Lopez&lt;/b&gt;"));
        assert!(e.text.contains("Maria <b>Lopez</b>"));
        assert!(e.text.contains("se realizó con éxito"));
        let e = t
            .email(TemplateName::TransferSucceeded, Locale::En, &data)
            .unwrap();
        assert_eq!(e.subject, "Transfer completed: 125.50 USD");
    }

    #[test]
    fn a_missing_variable_is_an_error_not_a_hole() {
        let t = Templates::load().unwrap();
        let err = t
            .email(
                TemplateName::OtpCode,
                Locale::EsEc,
                &json!({"ttlMinutes": 3}),
            )
            .unwrap_err();
        assert!(err.to_string().contains("code"), "{err}");
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        assert_eq!(csv_field("a\"b"), "\"a\"\"b\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("-12.00"), "\"'-12.00\"");
        let t = Templates::load().unwrap();
        let r = t
            .report(Locale::En, &json!({"accountMasked":"******8877","customerName":"Maria",
                "from":"2026-10-01","to":"2026-10-31","currency":"USD","totalDebits":"1.00","totalCredits":"0.00",
                "movements":[{"postedAt":"2026-10-02T10:00:00Z","counterpartyAccount":"22","counterparty":"=cmd",
                "debit":"1.00","credit":"","reference":"r,1"}]}))
            .unwrap();
        let lines: Vec<&str> = r.csv.lines().collect();
        assert_eq!(lines.len(), 2, "{}", r.csv);
        assert_eq!(
            lines[1],
            "\"2026-10-02T10:00:00Z\",\"22\",\"'=cmd\",\"1.00\",\"\",\"r,1\""
        );
    }
}
