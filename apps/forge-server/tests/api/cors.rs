//! Browsers from another origin: a preflight is answered with what it asks for, an actual
//! response names the origin and exposes its headers; a request without `Origin` gets no CORS
//! headers at all.

use crate::harness::{Backend, TestServer, client};

#[actix_rt::test]
async fn preflight_actual_and_plain_requests() {
    let s = TestServer::start(Backend::Sqlite).await;
    let c = client();
    let origin = "https://panel.example.com";

    let resp = c
        .request(awc::http::Method::OPTIONS, s.url("/v1/chat/completions"))
        .insert_header(("origin", origin))
        .insert_header(("access-control-request-method", "POST"))
        .insert_header((
            "access-control-request-headers",
            "authorization, content-type",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let h = resp.headers();
    assert_eq!(h.get("access-control-allow-origin").unwrap(), origin);
    assert_eq!(h.get("access-control-allow-methods").unwrap(), "POST");
    assert_eq!(
        h.get("access-control-allow-headers").unwrap(),
        "authorization, content-type"
    );
    assert_eq!(h.get("access-control-allow-credentials").unwrap(), "true");
    assert_eq!(h.get("access-control-max-age").unwrap(), "3600");

    let resp = c
        .get(s.url("/v1/models"))
        .insert_header(("origin", origin))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let h = resp.headers();
    assert_eq!(h.get("access-control-allow-origin").unwrap(), origin);
    assert_eq!(h.get("access-control-allow-credentials").unwrap(), "true");
    let exposed = h
        .get("access-control-expose-headers")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(exposed.contains("content-type"), "{exposed}");
    assert!(
        h.get_all("vary")
            .any(|v| v.to_str().unwrap().contains("Origin")),
        "vary names Origin"
    );

    let resp = c.get(s.url("/v1/models")).send().await.unwrap();
    assert!(
        resp.headers()
            .keys()
            .all(|k| !k.as_str().starts_with("access-control-")),
        "no CORS headers without Origin"
    );
}
