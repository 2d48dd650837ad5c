//! The steps a source asks of the browser, and what comes back.

use serde::{Deserialize, Serialize};

/// What the browser does next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Step {
    /// Render this form; it posts back to `/login/{source_id}`.
    Form(Form),
    /// Go to another origin (an upstream provider, the certificate listener); it comes
    /// back to `/login/{source_id}/callback`.
    Redirect { url: String },
    /// Run a WebAuthn ceremony with these options (`PublicKeyCredentialRequestOptions`
    /// or `...CreationOptions` as JSON); the page posts the credential back.
    WebAuthn { options: serde_json::Value },
}

/// A form described as data, so every source's form is rendered by one template, in
/// the person's language (labels are catalogue message ids).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Form {
    pub fields: Vec<Field>,
    /// Catalogue id of the submit button's text.
    pub submit: String,
    /// Catalogue id of a second button ("Send a new code"), posting the same form with
    /// `action=secondary` and without checking its fields.
    #[serde(default)]
    pub secondary: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    pub name: String,
    /// Catalogue id of the label.
    pub label: String,
    pub kind: FieldKind,
    /// The HTML `autocomplete` token.
    pub autocomplete: String,
    /// Pre-filled value (a `login_hint`); never a secret.
    pub value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    Text,
    Password,
    OneTimeCode,
    /// A telephone number.
    Tel,
}

impl FieldKind {
    /// The HTML input type.
    pub fn input_type(self) -> &'static str {
        match self {
            FieldKind::Text | FieldKind::OneTimeCode => "text",
            FieldKind::Password => "password",
            FieldKind::Tel => "tel",
        }
    }

    /// The HTML `inputmode`, when the kind has one.
    pub fn input_mode(self) -> Option<&'static str> {
        match self {
            FieldKind::OneTimeCode => Some("numeric"),
            FieldKind::Tel => Some("tel"),
            FieldKind::Text | FieldKind::Password => None,
        }
    }
}

/// What came back for a step.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    /// The fields of a submitted form.
    Form(&'a [(String, String)]),
    /// The query (or form-post) parameters another origin sent back to the callback.
    Returned(&'a [(String, String)]),
    /// A WebAuthn credential as JSON.
    WebAuthn(&'a serde_json::Value),
    /// What a certificate listener saw on the connection (`sources::x509`).
    Certificate(&'a super::PresentedCertificate),
}

impl Input<'_> {
    /// A parameter's first value, form or query alike.
    pub fn get(&self, name: &str) -> Option<&str> {
        match self {
            Input::Form(pairs) | Input::Returned(pairs) => pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str()),
            Input::WebAuthn(_) | Input::Certificate(_) => None,
        }
    }
}
