//! Admission: a request is held against every limit and budget that applies before any
//! upstream is tried; a refusal is answered in the client's dialect with `x-ratelimit-*`.

use std::rc::Rc;

use actix_web::HttpResponse;
use actix_web::http::header::{HeaderName, HeaderValue};
use forge_limits::Reservation;
use forge_limits::headers::rejection_headers;

use crate::limits::charge::Charge;
use crate::limits::{Refused, refusal_error, scopes};
use crate::proxy::handle::Proxy;
use crate::routing::Snapshot;

use super::{Call, new_id};

/// Admits the request under every limit that applies; `Err` is the refusal to send.
pub(super) async fn admit(
    proxy: &Proxy,
    call: &Call<'_>,
    snapshot: &Snapshot,
    route: Option<&str>,
    priced_as: (&str, &str),
) -> Result<Option<Rc<Charge>>, HttpResponse> {
    let applicable = scopes::for_request(snapshot, call.ctx, route);
    if applicable.is_empty() {
        return Ok(None);
    }
    let config = &snapshot.config.limits;
    let output = if config.reserve_max_tokens {
        call.max_tokens.unwrap_or(0)
    } else {
        0
    };
    let estimate = forge_core::canonical::Usage {
        input_tokens: call.reserve_tokens,
        output_tokens: output,
        ..Default::default()
    };
    let cost = proxy
        .pricing
        .estimate(priced_as.0, priced_as.1, &estimate)
        .unwrap_or(0);
    let reservation = Reservation {
        tokens: call.reserve_tokens,
        budget_tokens: i64::try_from(call.reserve_tokens.saturating_add(output))
            .unwrap_or(i64::MAX),
        cost_nanos: cost,
        lease_ms: forge_limits::DEFAULT_LEASE_MS,
    };
    let lease = new_id();
    match proxy
        .limits
        .admit(
            config,
            &applicable.limits,
            &applicable.budgets,
            reservation,
            &lease,
        )
        .await
    {
        Ok(admitted) => Ok(Some(Rc::new(Charge::new(
            proxy.limits.clone(),
            admitted.issuer,
            admitted.ticket,
        )))),
        Err(refused) => {
            call.obs.refused(&refused);
            let error = refusal_error(&refused);
            let mut resp = call.dialect.error_response(&error);
            if let Refused::Over(rejection) = &refused {
                put_headers(&mut resp, &rejection_headers(rejection));
            }
            Err(resp)
        }
    }
}

pub(super) fn put_headers(resp: &mut HttpResponse, headers: &[(&'static str, String)]) {
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(value) {
            resp.headers_mut()
                .insert(HeaderName::from_static(name), value);
        }
    }
}
