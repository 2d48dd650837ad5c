//! The pages' language: which one a request gets, the texts from the Fluent catalogues
//! (`locales/{vi,en}/*.ftl`), and the switcher that remembers a person's choice.
//!
//! Order: the switcher's cookie, then the portal's `ui_locales`, then `Accept-Language`,
//! then `default_language` from the configuration. Pages call [`t`] and [`t_args`] with a
//! literal id (the catalogue test finds the ids by that pattern) and askama escapes what
//! they answer, as it escapes any other value.

use std::borrow::{Borrow, Cow};
use std::collections::HashMap;

use axum::extract::RawQuery;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader, langid, static_loader};

use super::errors::see_other;
use super::{cookies, forms};
pub use crate::config::Lang;

static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "vi",
        // Fluent wraps each argument in Unicode isolation marks (U+2068, U+2069) by
        // default; in HTML they are invisible noise in copied text and break text
        // matching, and `dir` attributes would do their job if a right-to-left language
        // ever came.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// Remembers the switcher's choice, for a year.
pub const COOKIE: &str = "__Host-portico_lang";
const COOKIE_MAX_AGE: u32 = 365 * 24 * 3600;

static VI: LanguageIdentifier = langid!("vi");
static EN: LanguageIdentifier = langid!("en");

fn identifier(lang: Lang) -> &'static LanguageIdentifier {
    match lang {
        Lang::Vi => &VI,
        Lang::En => &EN,
    }
}

/// The language of a page. `ui_locales` is the portal's (space-separated BCP 47 tags,
/// already split), from the pending authorization or the logout request.
pub fn negotiate(headers: &HeaderMap, ui_locales: &[String], default: Lang) -> Lang {
    cookies::get(headers, COOKIE)
        .and_then(Lang::from_tag)
        .or_else(|| ui_locales.iter().find_map(|tag| Lang::from_tag(tag)))
        .or_else(|| {
            let values: Vec<&str> = headers
                .get_all(header::ACCEPT_LANGUAGE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            from_accept_language(&values.join(","))
        })
        .unwrap_or(default)
}

/// A raw `ui_locales` parameter (before the request is validated), as tags.
pub fn split_ui_locales(value: Option<&str>) -> Vec<String> {
    value
        .unwrap_or_default()
        .split(' ')
        .filter(|tag| !tag.is_empty())
        .take(10)
        .map(str::to_owned)
        .collect()
}

/// RFC 9110 section 12.5.4: the supported language of the highest `q` (the first of
/// equal ones); `q=0` means "not this one", and a range with a malformed `q` is ignored.
pub fn from_accept_language(value: &str) -> Option<Lang> {
    let mut best: Option<(f32, Lang)> = None;
    for range in value.split(',') {
        let mut parts = range.split(';');
        let tag = parts.next().unwrap_or_default();
        let q = match parts.find_map(|p| {
            let p = p.trim();
            p.strip_prefix("q=").or_else(|| p.strip_prefix("Q="))
        }) {
            None => 1.0,
            Some(q) => match q.trim().parse::<f32>() {
                Ok(q) if (0.0..=1.0).contains(&q) => q,
                _ => continue,
            },
        };
        let Some(lang) = Lang::from_tag(tag) else {
            continue;
        };
        if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
            best = Some((q, lang));
        }
    }
    best.map(|(_, lang)| lang)
}

/// The text `id` in `lang`. A missing id (which the catalogue test prevents) shows as
/// the id itself, logged, rather than failing the page. (`Borrow`: templates pass
/// their arguments by reference.)
pub fn t(lang: impl Borrow<Lang>, id: &str) -> String {
    lookup(*lang.borrow(), id, None)
}

/// The text of an id that came as data (`model::message_id`, where the catalogue test
/// checks it), in `lang`.
pub fn t_message(lang: Lang, id: &str) -> String {
    lookup(lang, id, None)
}

/// The text `id` in `lang` with arguments: names as the catalogue writes them (`count`
/// for `$count`), values as text or numbers (numbers choose the plural form).
pub fn t_args(
    lang: impl Borrow<Lang>,
    id: &str,
    args: &[(&'static str, FluentValue<'_>)],
) -> String {
    let args: HashMap<Cow<'static, str>, FluentValue<'_>> = args
        .iter()
        .map(|(k, v)| (Cow::Borrowed(*k), v.clone()))
        .collect();
    lookup(*lang.borrow(), id, Some(&args))
}

fn lookup(lang: Lang, id: &str, args: Option<&HashMap<Cow<'static, str>, FluentValue>>) -> String {
    LOCALES
        .try_lookup_complete(identifier(lang), id, args)
        .unwrap_or_else(|| {
            tracing::error!(
                id,
                lang = lang.as_str(),
                "message missing from the catalogues"
            );
            id.to_owned()
        })
}

/// A link of the switcher: to `lang`, named in that language.
pub struct Switch {
    pub lang: Lang,
    pub name: String,
    pub href: String,
}

/// The switcher's links on a page in `lang` whose own GET address is `here` (the page
/// shown again after the switch; without one, the account page). By reference, as
/// base.html passes them.
pub fn switches(lang: &Lang, here: &Option<&str>) -> Vec<Switch> {
    let (lang, here) = (*lang, *here);
    Lang::ALL
        .into_iter()
        .filter(|other| *other != lang)
        .map(|other| {
            let mut query = form_urlencoded::Serializer::new(String::new());
            query.append_pair("set", other.as_str());
            if let Some(here) = here {
                query.append_pair("next", here);
            }
            Switch {
                lang: other,
                name: t(other, "language-name"),
                href: format!("/language?{}", query.finish()),
            }
        })
        .collect()
}

/// `GET /language?set=en&next=/login?request=...`: remembers the choice and goes back to
/// the page. An unknown `set` changes nothing, so a stale link still lands.
pub async fn switch(RawQuery(query): RawQuery) -> Response {
    let query = forms::pairs(query.unwrap_or_default().as_bytes());
    let mut response = see_other(safe_next(forms::field(&query, "next")));
    if let Some(lang) = forms::field(&query, "set").and_then(Lang::from_tag) {
        response
            .headers_mut()
            .append(header::SET_COOKIE, set_cookie(lang));
    }
    response
}

fn set_cookie(lang: Lang) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{COOKIE}={lang}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={COOKIE_MAX_AGE}"
    ))
    .expect("static cookie text")
}

/// Only a path on this origin: `//host` and `/\host` are other origins to a browser,
/// and a control character or space could be stripped into one (or break the header).
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && n.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            n
        }
        _ => "/account",
    }
}

#[cfg(test)]
mod tests;

/// The text messages' wording (`sources::sms_otp`), from the same catalogues as the
/// pages.
pub struct SmsCatalogue;

impl crate::sources::SmsTexts for SmsCatalogue {
    fn code_message(&self, lang: Lang, code: &str, minutes: i64) -> String {
        t_args(
            lang,
            "sms-code-message",
            &[
                ("code", code.to_owned().into()),
                ("minutes", minutes.into()),
            ],
        )
    }
}
