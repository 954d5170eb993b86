//! The HTTP server: actix's HTTP/1 service on a TCP listener, behind the request-head [`crate::screen`].
//!
//! This is what `HttpServer` does for a plain TCP listener, with one step more: each accepted stream is wrapped
//! in [`Screened`] before actix's parser reads it.

use std::net::SocketAddr;
use std::time::Duration;

use actix_http::HttpService;
use actix_service::{fn_service, map_config, ServiceFactoryExt};
use actix_web::dev::AppConfig;
use actix_web::rt::net::TcpStream;
use actix_web::web;
use anyhow::Context;

use crate::screen::Screened;
use crate::state::AppState;

/// The server's worker threads: one per processor, as actix's default.
pub fn workers() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
}

/// Serves the application on `bind` until the process is told to stop (SIGINT, SIGTERM).
pub async fn run(bind: SocketAddr, state: web::Data<AppState>) -> anyhow::Result<()> {
    let listener = std::net::TcpListener::bind(bind).with_context(|| format!("cannot listen on {bind}"))?;
    let local = listener.local_addr()?;
    actix_server::Server::build()
        .workers(workers())
        .listen("partybase", listener, move || {
            let app = crate::app(state.clone());
            // A head must arrive within 5 s (408 otherwise), an idle kept-alive connection closes after 5 s, and a
            // connection being closed gets 2 s to take its last answer. Bodies have their own limit (see extract).
            let http = HttpService::<Screened<TcpStream>, _, _>::build()
                .keep_alive(Duration::from_secs(5))
                .client_request_timeout(Duration::from_secs(5))
                .client_disconnect_timeout(Duration::from_secs(2))
                .local_addr(local)
                .h1(map_config(app, |_| AppConfig::default()));
            fn_service(|stream: TcpStream| async move {
                let peer = stream.peer_addr().ok();
                // As actix does for its own TCP streams: small answers go out at once.
                let _ = stream.set_nodelay(true);
                Ok((Screened::new(stream), peer))
            })
            .and_then(http)
        })?
        .run()
        .await
        .context("the server stopped with an error")
}
