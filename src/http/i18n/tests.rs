use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use axum::http::{HeaderMap, HeaderValue, header};

use super::*;

fn headers(pairs: &[(header::HeaderName, &'static str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (name, value) in pairs {
        h.append(name, HeaderValue::from_static(value));
    }
    h
}

#[test]
fn accept_language_follows_q_values() {
    let cases = [
        ("en-GB,en;q=0.9", Some(Lang::En)),
        ("fr-FR,fr;q=0.9,en;q=0.8,vi;q=0.7", Some(Lang::En)),
        ("en;q=0.5, vi-VN;q=0.8", Some(Lang::Vi)),
        // Equal weights: the first listed.
        ("vi;q=0.5,en;q=0.5", Some(Lang::Vi)),
        // q=0 is a refusal, not a low preference.
        ("en;q=0, vi;q=0.1", Some(Lang::Vi)),
        ("en;q=0", None),
        ("EN-us", Some(Lang::En)),
        // A malformed or out-of-range weight drops that range only.
        ("en;q=abc, vi;q=0.2", Some(Lang::Vi)),
        ("en;q=2", None),
        ("fr, de;q=0.9", None),
        ("*", None),
        ("", None),
    ];
    for (value, expected) in cases {
        assert_eq!(from_accept_language(value), expected, "{value:?}");
    }
}

#[test]
fn negotiation_order_is_cookie_ui_locales_accept_language_default() {
    let ui = |tags: &[&str]| tags.iter().map(|t| t.to_string()).collect::<Vec<_>>();
    let browser_en = headers(&[(header::ACCEPT_LANGUAGE, "en-GB,en;q=0.9")]);
    assert_eq!(negotiate(&browser_en, &[], Lang::Vi), Lang::En);
    // ui_locales: the first supported tag wins over the browser.
    assert_eq!(
        negotiate(&browser_en, &ui(&["fr", "vi-VN"]), Lang::En),
        Lang::Vi
    );
    // The switcher's cookie wins over both.
    let chose_en = headers(&[
        (header::COOKIE, "a=1; __Host-portico_lang=en"),
        (header::ACCEPT_LANGUAGE, "vi"),
    ]);
    assert_eq!(negotiate(&chose_en, &ui(&["vi"]), Lang::Vi), Lang::En);
    // Nothing supported: the configured default.
    let french = headers(&[(header::ACCEPT_LANGUAGE, "fr")]);
    assert_eq!(negotiate(&french, &ui(&["de"]), Lang::Vi), Lang::Vi);
    assert_eq!(negotiate(&french, &[], Lang::En), Lang::En);
}

#[test]
fn plurals_come_from_the_catalogue() {
    let sessions = |lang, n: usize| t_args(lang, "account-sessions-count", &[("count", n.into())]);
    assert_eq!(sessions(Lang::En, 1), "You are signed in on one device.");
    assert_eq!(sessions(Lang::En, 3), "You are signed in on 3 devices.");
    // Vietnamese has one form (CLDR "other").
    assert_eq!(sessions(Lang::Vi, 1), "Bạn đang đăng nhập trên 1 thiết bị.");
    assert_eq!(sessions(Lang::Vi, 3), "Bạn đang đăng nhập trên 3 thiết bị.");
    // No isolation marks around arguments.
    assert!(!sessions(Lang::En, 3).contains('\u{2068}'));
}

#[test]
fn next_is_a_path_on_this_origin() {
    assert_eq!(safe_next(Some("/login?request=abc")), "/login?request=abc");
    for bad in [
        None,
        Some(""),
        Some("https://evil.example/"),
        Some("//evil.example/"),
        Some("/\\evil.example/"),
        Some("/\t/evil.example/"),
        Some("/ok\r\nSet-Cookie: x=1"),
        Some("javascript:alert(1)"),
    ] {
        assert_eq!(safe_next(bad), "/account", "{bad:?}");
    }
}

#[test]
fn switcher_links_to_the_other_language_and_back_here() {
    let links = switches(&Lang::Vi, &Some("/login?request=a b"));
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].lang, Lang::En);
    assert_eq!(links[0].name, "English");
    assert_eq!(
        links[0].href,
        "/language?set=en&next=%2Flogin%3Frequest%3Da+b"
    );
    assert_eq!(switches(&Lang::En, &None)[0].href, "/language?set=vi");
    assert_eq!(switches(&Lang::En, &None)[0].name, "Tiếng Việt");
}

// The catalogue check: every .ftl parses, both languages have the same ids, and every id
// that `src/` or `templates/` passes to `t(...)` or `t_args(...)` exists.

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, ext, out);
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
}

/// The message and term ids of one language, failing on any parse error.
fn catalogue(lang: Lang) -> BTreeSet<String> {
    let mut paths = Vec::new();
    files(
        &root().join("locales").join(lang.as_str()),
        "ftl",
        &mut paths,
    );
    assert!(!paths.is_empty(), "no catalogue for {lang}");
    let mut ids = BTreeSet::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap();
        let resource = fluent_syntax::parser::parse(text.as_str())
            .unwrap_or_else(|(_, errors)| panic!("{}: {errors:?}", path.display()));
        for entry in resource.body {
            let id = match entry {
                fluent_syntax::ast::Entry::Message(m) => m.id.name.to_owned(),
                fluent_syntax::ast::Entry::Term(t) => format!("-{}", t.id.name),
                fluent_syntax::ast::Entry::Junk { content } => {
                    panic!("{}: unparsed text {content:?}", path.display())
                }
                _ => continue,
            };
            assert!(ids.insert(id.clone()), "{}: `{id}` twice", path.display());
        }
    }
    ids
}

/// The ids in `t(lang, "id")` and `t_args(lang, "id", ..)` calls: the first argument is
/// the language, the second a literal id. Any other shape of call fails, so no id hides
/// from this check.
fn used_ids(text: &str, origin: &Path) -> Vec<String> {
    let mut ids = Vec::new();
    for name in ["t(", "t_args(", "message_id("] {
        for (at, _) in text.match_indices(name) {
            let before = text[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                || text[..at].ends_with("fn ")
            {
                continue;
            }
            let rest = &text[at + name.len()..];
            // `message_id("id")` has no language argument.
            let after_lang = if name == "message_id(" {
                Some(rest.trim_start())
            } else {
                rest.split_once(',').map(|(_, r)| r.trim_start())
            };
            let id = after_lang
                .and_then(|r| r.strip_prefix('"'))
                .and_then(|r| r.split_once('"'))
                .map(|(id, _)| id);
            match id {
                Some(id) => ids.push(id.to_owned()),
                None => panic!(
                    "{}: a `{name}` call without a literal id: {:?}",
                    origin.display(),
                    &rest[..rest.len().min(60)]
                ),
            }
        }
    }
    ids
}

#[test]
fn catalogues_parse_match_and_hold_every_id_used() {
    let vi = catalogue(Lang::Vi);
    let en = catalogue(Lang::En);
    assert_eq!(
        vi.symmetric_difference(&en).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "ids in one catalogue only"
    );
    let mut sources = Vec::new();
    files(&root().join("src"), "rs", &mut sources);
    files(&root().join("templates"), "html", &mut sources);
    let mut used = 0;
    for path in sources {
        // This file names the pattern itself.
        if path.ends_with("http/i18n/tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for id in used_ids(&text, &path) {
            assert!(
                vi.contains(&id),
                "{}: `{id}` is not in the catalogues",
                path.display()
            );
            used += 1;
        }
    }
    assert!(
        used > 50,
        "the pattern found only {used} ids: is it still the one in use?"
    );
}

#[test]
fn the_pattern_finds_ids_and_refuses_computed_ones() {
    let found = used_ids(
        r#"{{ i18n::t(lang, "login-title") }} t_args(self.lang, "account-portals", &[])"#,
        Path::new("x"),
    );
    assert_eq!(found, ["login-title", "account-portals"]);
    let computed = std::panic::catch_unwind(|| used_ids("t(lang, id)", Path::new("x")));
    assert!(computed.is_err());
}
