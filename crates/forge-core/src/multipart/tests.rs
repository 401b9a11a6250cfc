#![allow(clippy::unwrap_used, clippy::panic)]

use proptest::prelude::*;

use super::*;

const CT: &str = "multipart/form-data; boundary=----forge0123";

/// A form as Python's `requests`/`httpx` write it.
fn form(fields: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, filename, value) in fields {
        body.extend_from_slice(b"------forge0123\r\n");
        match filename {
            Some(f) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
            ),
            None => body.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes()),
        }
        body.extend_from_slice(value);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"------forge0123--\r\n");
    body
}

#[test]
fn reads_text_fields_and_files() {
    let audio: &[u8] = b"RIFF\r\n--\r\n------forge012 binary \x00\xff";
    let body = form(&[
        ("model", None, b"openai/whisper-1"),
        ("file", Some("a.wav"), audio),
        ("stream", None, b"true"),
    ]);
    let f = Form::parse(&body, CT).unwrap();
    assert_eq!(f.text("model"), Some("openai/whisper-1"));
    assert_eq!(f.text("stream"), Some("true"));
    assert_eq!(f.text("file"), None, "a file is not a text field");
    assert!(f.has_file("file") && !f.has_file("model"));
    assert_eq!(&body[f.parts()[1].value.clone()], audio);
}

#[test]
fn replaces_one_value_and_keeps_every_other_byte() {
    let body = form(&[
        ("model", None, b"openai/whisper-1"),
        ("file", Some("a.wav"), b"\x00\x01"),
    ]);
    let f = Form::parse(&body, CT).unwrap();
    let out = f.with_text("model", "whisper-1").unwrap();
    let expected = form(&[
        ("model", None, b"whisper-1"),
        ("file", Some("a.wav"), b"\x00\x01"),
    ]);
    assert_eq!(out, expected);
    assert_eq!(
        Form::parse(&out, CT).unwrap().text("model"),
        Some("whisper-1")
    );
    assert_eq!(f.with_text("missing", "x"), None);
}

#[test]
fn quoted_names_and_duplicates_read_as_upstreams_read_them() {
    let mut body =
        b"------forge0123\r\nContent-Disposition: form-data; name=\"x;name=model\"\r\n\r\nfake\r\n"
            .to_vec();
    body.extend(form(&[("model", None, b"real")]));
    let f = Form::parse(&body, CT).unwrap();
    assert_eq!(f.parts()[0].name, "x;name=model");
    assert_eq!(f.single_text("model").unwrap(), Some("real"));
    let twice = form(&[("model", None, b"a"), ("model", None, b"b")]);
    assert_eq!(
        Form::parse(&twice, CT)
            .unwrap()
            .single_text("model")
            .unwrap_err()
            .status(),
        400
    );
    let as_file = form(&[("model", Some("m.txt"), b"a")]);
    assert!(
        Form::parse(&as_file, CT)
            .unwrap()
            .single_text("model")
            .is_err()
    );
    assert_eq!(unquote(r#""a\"b""#), "a\"b");
}

#[test]
fn boundaries_from_content_types() {
    assert_eq!(boundary("multipart/form-data; boundary=abc"), Some("abc"));
    assert_eq!(
        boundary("Multipart/Form-Data;charset=utf-8; Boundary=\"a b\""),
        Some("a b")
    );
    assert_eq!(boundary("application/json"), None);
    assert_eq!(boundary("multipart/form-data"), None);
    assert_eq!(boundary("multipart/form-data; boundary="), None);
}

#[test]
fn malformed_forms_are_client_errors() {
    for body in [
        &b""[..],
        b"------forge0123\r\nno headers end",
        b"junk",
        b"------forge0123\r\nContent-Disposition: attachment\r\n\r\nx\r\n------forge0123--",
    ] {
        let err = Form::parse(body, CT).unwrap_err();
        assert_eq!(err.status(), 400, "{err}");
    }
    assert_eq!(
        Form::parse(b"x", "application/json").unwrap_err().status(),
        400
    );
    // A preamble before the first boundary is allowed.
    let mut body = b"preamble\r\n".to_vec();
    body.extend(form(&[("model", None, b"m")]));
    assert_eq!(Form::parse(&body, CT).unwrap().text("model"), Some("m"));
}

proptest! {
    #[test]
    fn never_panics(body in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = Form::parse(&body, CT);
    }

    #[test]
    fn any_file_content_survives(file in proptest::collection::vec(any::<u8>(), 0..300), model in "[a-z0-9/-]{1,30}") {
        let body = form(&[("model", None, model.as_bytes()), ("file", Some("f"), &file)]);
        // Only content that contains the delimiter itself could end a part early.
        prop_assume!(!file.windows(17).any(|w| w == b"\r\n------forge0123"));
        let f = Form::parse(&body, CT).unwrap();
        prop_assert_eq!(f.text("model"), Some(model.as_str()));
        prop_assert_eq!(&body[f.parts()[1].value.clone()], &file[..]);
    }
}
