#![allow(clippy::unwrap_used, clippy::expect_used)]

use forge_storage::apikey::{digest_forge_key, digests_match, generate_forge_key};
use forge_storage::crypto::{SecretBox, provider_key_aad};
use forge_storage::password::{hash_password, verify_password};

fn sealer() -> SecretBox {
    SecretBox::new(SecretBox::generate_key().unwrap())
}

#[test]
fn round_trip() {
    let sb = sealer();
    let aad = provider_key_aad(1, "openai");
    let blob = sb.encrypt(b"sk-secret", &aad).unwrap();
    assert_eq!(blob[0], 1);
    assert_eq!(blob.len(), 1 + 24 + b"sk-secret".len() + 16);
    assert_eq!(sb.decrypt(&blob, &aad).unwrap().as_slice(), b"sk-secret");
    let empty = sb.encrypt(b"", &aad).unwrap();
    assert!(sb.decrypt(&empty, &aad).unwrap().is_empty());
}

#[test]
fn any_flipped_byte_fails() {
    let sb = sealer();
    let aad = provider_key_aad(1, "openai");
    let blob = sb.encrypt(b"sk-secret", &aad).unwrap();
    for i in 0..blob.len() {
        let mut bad = blob.clone();
        bad[i] ^= 0x01;
        assert!(
            sb.decrypt(&bad, &aad).is_err(),
            "byte {i} flipped but decrypted"
        );
    }
    assert!(sb.decrypt(&blob[..blob.len() - 1], &aad).is_err());
}

#[test]
fn aad_binds_user_and_provider() {
    let sb = sealer();
    let blob = sb
        .encrypt(b"sk-secret", &provider_key_aad(1, "OpenAI"))
        .unwrap();
    // the provider name is lowercased, so case does not matter
    assert!(sb.decrypt(&blob, &provider_key_aad(1, "openai")).is_ok());
    assert!(sb.decrypt(&blob, &provider_key_aad(2, "openai")).is_err());
    assert!(
        sb.decrypt(&blob, &provider_key_aad(1, "anthropic"))
            .is_err()
    );
    assert!(sb.decrypt(&blob, b"").is_err());
    assert_ne!(provider_key_aad(1, "1:x"), provider_key_aad(11, "x"));
}

#[test]
fn wrong_key_fails() {
    let aad = provider_key_aad(1, "openai");
    let blob = sealer().encrypt(b"sk-secret", &aad).unwrap();
    assert!(sealer().decrypt(&blob, &aad).is_err());
}

#[test]
fn fresh_nonce_per_encryption() {
    let sb = sealer();
    let a = sb.encrypt(b"same", b"aad").unwrap();
    let b = sb.encrypt(b"same", b"aad").unwrap();
    assert_ne!(a[1..25], b[1..25]);
    assert_ne!(a, b);
}

#[test]
fn generated_keys_differ() {
    assert_ne!(
        SecretBox::generate_key().unwrap(),
        SecretBox::generate_key().unwrap()
    );
}

#[test]
fn forge_key_format() {
    let k = generate_forge_key().unwrap();
    let hex = k.full.strip_prefix("forge-").expect("prefix");
    assert_eq!(hex.len(), 64);
    assert!(
        hex.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    );
    assert_eq!(k.digest, digest_forge_key(&k.full));
    assert_eq!(k.digest.len(), 64);
    assert_eq!(k.suffix, &k.full[k.full.len() - 4..]);
    assert!(!format!("{k:?}").contains(hex));
    assert_ne!(generate_forge_key().unwrap().full, k.full);
}

#[test]
fn digest_is_sha256_hex() {
    assert_eq!(
        digest_forge_key("abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert!(digests_match(
        &digest_forge_key("abc"),
        &digest_forge_key("abc")
    ));
    assert!(!digests_match(
        &digest_forge_key("abc"),
        &digest_forge_key("abd")
    ));
}

#[test]
fn password_verify() {
    let phc = hash_password("correct horse").unwrap();
    assert!(phc.starts_with("$argon2id$"));
    assert!(verify_password("correct horse", &phc));
    assert!(!verify_password("wrong horse", &phc));
    assert!(!verify_password("correct horse", "not a phc string"));
    assert_ne!(
        hash_password("correct horse").unwrap(),
        phc,
        "salt must be random"
    );
}
