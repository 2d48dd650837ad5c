//! A WebAuthn step as the browser sees it: a page whose script runs the ceremony and
//! posts the credential (JSON) as the `credential` field with the attempt's handle. A
//! refused credential ends the attempt (no second try: its challenge is good once).

use super::StepView;
use crate::model::message_id;
use crate::sources::{Form, Input, Step};

/// The step's form: no field a person fills, one button (the script's).
pub fn form() -> Form {
    Form {
        fields: Vec::new(),
        submit: message_id("passkey-sign-in").into(),
        secondary: None,
    }
}

/// The credential posted for a WebAuthn step (`None` for any other step). What is not
/// JSON is answered as JSON `null`, which the source refuses as no credential.
pub fn credential(step: &Step, fields: &[(String, String)]) -> Option<serde_json::Value> {
    if !matches!(step, Step::WebAuthn { .. }) {
        return None;
    }
    let posted = fields
        .iter()
        .find(|(k, _)| k == "credential")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    Some(serde_json::from_str(posted).unwrap_or(serde_json::Value::Null))
}

/// What the source is given: the credential for a WebAuthn step, else the form.
pub fn input<'a>(
    credential: Option<&'a serde_json::Value>,
    fields: &'a [(String, String)],
) -> Input<'a> {
    credential.map_or(Input::Form(fields), Input::WebAuthn)
}

/// The step's page: the view with the ceremony's options.
pub fn view(view: StepView, options: serde_json::Value) -> StepView {
    StepView {
        webauthn: Some(options),
        ..view
    }
}
