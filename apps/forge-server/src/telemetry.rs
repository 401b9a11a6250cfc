//! Log output. Secrets never reach a log line: request bodies and headers are not logged, and
//! every type that holds a secret has a redacting `Debug`.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,actix_server=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    install_panic_hook();
}

/// Panics are logged as one ERROR event through the log format in use (one JSON line with
/// `--log-format json`), never as plain text on stderr. The payload is logged without the
/// backtrace: a panic message may quote data, and data may hold secrets.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic with a non-text payload".to_owned());
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        tracing::error!(
            panic = %crate::logs::redact::mask_secrets(&message, &[]),
            location,
            "a worker panicked"
        );
    }));
}
