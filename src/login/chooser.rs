//! The login page: the sources that can meet a request, with the inline forms of those
//! that keep no state.

use super::{LoginError, LoginServices, ReturnTo, callback_url, context, eligible};
use crate::oidc::flow::LoginRequirements;
use crate::sources::{BeginContext, Form, Source, Step};

use super::{Chooser, Offer};

/// The login page for a request.
pub async fn chooser(
    services: &LoginServices<'_>,
    return_to: &ReturnTo,
    browser_binding: &str,
    now: i64,
) -> Result<Chooser, LoginError> {
    let (client_name, req) = context(services, return_to, browser_binding, now).await?;
    chooser_for(services, return_to, client_name, &req, &[]).await
}

/// The login page; `typed` refills the inline forms' text fields (never a password).
pub(super) async fn chooser_for(
    services: &LoginServices<'_>,
    return_to: &ReturnTo,
    client_name: Option<String>,
    req: &LoginRequirements,
    typed: &[(String, String)],
) -> Result<Chooser, LoginError> {
    let mut offers = Vec::new();
    for source in eligible(services, return_to, req) {
        let form = if source.is_inline() {
            inline_form(services, source, req).await.map(|mut form| {
                refill(&mut form, typed);
                form
            })
        } else {
            None
        };
        offers.push(Offer {
            source_id: source.id().to_owned(),
            display_name: source.display_name().clone(),
            form,
        });
    }
    Ok(Chooser {
        return_to: return_to.clone(),
        client_name,
        ui_locales: req.ui_locales.clone(),
        redirect_origin: req.redirect_origin.clone(),
        offers,
    })
}

async fn inline_form(
    services: &LoginServices<'_>,
    source: &Source,
    req: &LoginRequirements,
) -> Option<Form> {
    let callback = callback_url(services, source.id());
    let begun = source
        .begin(&BeginContext {
            handle: "",
            callback_url: &callback,
            login_hint: req.login_hint.as_deref(),
            conditional: false,
        })
        .await
        .ok()?;
    match begun.step {
        Step::Form(form) if begun.state.is_stateless() => Some(form),
        _ => None,
    }
}

fn refill(form: &mut Form, typed: &[(String, String)]) {
    for field in &mut form.fields {
        if field.kind == crate::sources::FieldKind::Text {
            if let Some((_, v)) = typed.iter().find(|(k, _)| *k == field.name) {
                field.value = v.clone();
            }
        }
    }
}
