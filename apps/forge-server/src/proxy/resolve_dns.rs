//! Name resolution for upstream connections. A provider `base_url` is checked by name when it
//! is stored, but a public-looking name can still resolve to a private or metadata address (or
//! be re-pointed there later). Unless private upstreams are allowed, such addresses are dropped
//! at connect time, so a stored key can never be aimed at the gateway's own network.

use std::error::Error as StdError;
use std::net::SocketAddr;

use actix_tls::connect::Resolve;
use futures_util::future::LocalBoxFuture;

use crate::validate::ip_is_private;

pub struct PublicOnly {
    pub allow_private: bool,
}

impl Resolve for PublicOnly {
    fn lookup<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> LocalBoxFuture<'a, Result<Vec<SocketAddr>, Box<dyn StdError>>> {
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port)).await?.collect();
            filter(addrs, self.allow_private).map_err(|e| e.into())
        })
    }
}

fn filter(addrs: Vec<SocketAddr>, allow_private: bool) -> Result<Vec<SocketAddr>, String> {
    if allow_private {
        return Ok(addrs);
    }
    let public: Vec<SocketAddr> = addrs
        .into_iter()
        .filter(|a| !ip_is_private(a.ip()))
        .collect();
    if public.is_empty() {
        return Err(
            "the upstream host resolves only to loopback, private or link-local addresses".into(),
        );
    }
    Ok(public)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn addrs(list: &[&str]) -> Vec<SocketAddr> {
        list.iter().map(|a| a.parse().unwrap()).collect()
    }

    #[test]
    fn private_addresses_are_dropped_unless_allowed() {
        let mixed = addrs(&[
            "127.0.0.1:80",
            "10.0.0.1:80",
            "169.254.169.254:80",
            "8.8.8.8:80",
        ]);
        assert_eq!(
            filter(mixed.clone(), false).unwrap(),
            addrs(&["8.8.8.8:80"])
        );
        assert_eq!(filter(mixed.clone(), true).unwrap(), mixed);
        assert!(filter(addrs(&["127.0.0.1:80", "[::1]:80"]), false).is_err());
    }

    #[actix_rt::test]
    async fn localhost_is_refused_at_connect_time() {
        let refused = PublicOnly {
            allow_private: false,
        };
        assert!(refused.lookup("localhost", 80).await.is_err());
        let allowed = PublicOnly {
            allow_private: true,
        };
        assert!(!allowed.lookup("localhost", 80).await.unwrap().is_empty());
    }
}
