//! End-to-end tests: the real server on `127.0.0.1:0` with a fresh database, driven over
//! HTTP by reqwest and by the `openidconnect` crate as the relying party.

mod common;

mod account;
mod account_attributes;
mod account_linking;
mod audit_chain;
mod authorize_errors;
mod backchannel;
mod brute_force;
mod cert_login;
mod claims_parameter;
mod cli;
mod client_jwt;
mod client_secret_rotation;
mod code_binding;
mod code_flow;
mod consent;
mod consent_withdrawal;
mod cross_site_post;
#[cfg(unix)]
mod data_at_rest;
mod introspection;
mod languages;
mod login_sources;
mod logout;
mod logout_atomicity;
mod logs;
mod master_key_rotation;
mod negative;
mod operations;
mod outbound_addresses;
mod passkeys;
mod password_queue;
mod resource_limits;
mod security_headers;
mod sms_otp;
mod stored_requests;
mod subjects_and_keys;
mod token_errors;
mod token_lifecycle;
mod token_races;
mod upstream_oidc;
mod userinfo;
