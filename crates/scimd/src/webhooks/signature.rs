//! Standard Webhooks signatures: `webhook-signature: v1,<base64 HMAC-SHA256>` over
//! `"{webhook-id}.{webhook-timestamp}.{body}"`, keyed by the secret's bytes (the base64 after
//! `whsec_`).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::hmac;
use scimd_core::webhook::WebhookSecret;

/// The secret as it is shown once: `whsec_` and the base64 of its bytes.
pub(crate) fn secret_text(secret: &WebhookSecret) -> String {
    format!("{}{}", WebhookSecret::PREFIX, STANDARD.encode(secret.key()))
}

/// The `webhook-signature` header of one try, keyed by the secret's bytes.
pub(crate) fn signature(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let mut context = hmac::Context::with_key(&key);
    context.update(id.as_bytes());
    context.update(b".");
    context.update(timestamp.to_string().as_bytes());
    context.update(b".");
    context.update(body);
    format!("v1,{}", STANDARD.encode(context.sign().as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Standard Webhooks specification's example: secret
    /// `whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw`, id `msg_p5jXN8AQM9LWM0D4loKWxJek`, timestamp
    /// 1614265330, body `{"test": 2432232314}`.
    #[test]
    fn signs_the_specifications_example() {
        let key = STANDARD.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let signature = signature(
            &key,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        let secret = WebhookSecret::from_bytes([7; 32]);
        let shown = secret_text(&secret);
        let decoded = STANDARD
            .decode(shown.strip_prefix("whsec_").unwrap())
            .unwrap();
        assert_eq!(decoded, [7; 32]);
    }
}
