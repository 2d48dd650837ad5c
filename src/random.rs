//! The one source of randomness: the operating system's generator, through aws-lc.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::secret::Secret;

/// `N` random bytes from the OS generator.
pub fn bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    // The OS generator failing is not recoverable: nothing secure can be issued.
    aws_lc_rs::rand::fill(&mut buf).expect("the operating system's random generator failed");
    buf
}

/// A 256-bit random token, base64url without padding (43 characters): codes, refresh
/// tokens, session cookies, client secrets.
pub fn token() -> Secret {
    Secret::new(URL_SAFE_NO_PAD.encode(bytes::<32>()))
}
