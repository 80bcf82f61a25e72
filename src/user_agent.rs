//! Naming a device from its `User-Agent` header: "Firefox on Linux", "Safari on iPhone"
//! (lesson 06). The name is what the list of sessions and the security log show, so a user who
//! sees three sessions can tell which is which.
//!
//! The parsing is Project Woothee's (the `woothee` crate): a compiled table of browsers and
//! systems, a parse in microseconds, nothing to load at start. Only the browser's and the
//! system's names are kept, never versions: enough to recognise a device, and the same name
//! across its updates. A header woothee does not recognise is "unknown device", never the header
//! itself: a `User-Agent` is whatever the client sends, and shown raw in the list of sessions or
//! the security log it would let anyone write text into another user's page ("SECURITY NOTICE:
//! ..."), under the service's authority.

use axum::http::HeaderMap;
use axum::http::header::USER_AGENT;
use std::net::IpAddr;

use crate::store::{Device, UNKNOWN_DEVICE};

/// Woothee's word for a field it could not tell.
const UNKNOWN: &str = "UNKNOWN";

// ANCHOR: device_name
/// A short name for the device that sent `user_agent`: `"<browser> on <system>"` when woothee
/// knows both, one of them when it knows one, else [`UNKNOWN_DEVICE`]: only names from woothee's
/// table are ever shown, never text the client chose.
pub fn device_name(user_agent: &str) -> String {
    let parser = woothee::parser::Parser::new();
    let Some(found) = parser.parse(user_agent) else {
        return UNKNOWN_DEVICE.to_string();
    };
    let known = |name: &str| !name.is_empty() && name != UNKNOWN;
    match (known(found.name), known(found.os)) {
        (true, true) => format!("{} on {}", found.name, found.os),
        (true, false) => found.name.to_string(),
        (false, true) => found.os.to_string(),
        (false, false) => UNKNOWN_DEVICE.to_string(),
    }
}
// ANCHOR_END: device_name

/// The device a request comes from: its `User-Agent` named by [`device_name`] (a header that is
/// not text, or none, is "unknown device") and the client address `ip`.
pub fn request_device(headers: &HeaderMap, ip: IpAddr) -> Device {
    match headers.get(USER_AGENT).map(|value| value.to_str()) {
        Some(Ok(agent)) => Device::new(&device_name(agent), Some(ip)),
        _ => Device::unknown(Some(ip)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIREFOX_LINUX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
    const SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
    const CHROME_WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";

    #[test]
    fn common_browsers_get_short_names() {
        assert_eq!(device_name(FIREFOX_LINUX), "Firefox on Linux");
        assert_eq!(device_name(SAFARI_IPHONE), "Safari on iPhone");
        assert_eq!(device_name(CHROME_WINDOWS), "Chrome on Windows 10");
    }

    #[test]
    fn what_woothee_does_not_know_is_an_unknown_device() {
        for unknown in ["my-sync-tool/2.1", "SECURITY NOTICE: your account is locked, call +1 555 0100", ""] {
            assert_eq!(device_name(unknown), UNKNOWN_DEVICE, "{unknown}");
        }
    }

    #[test]
    fn the_request_device_is_bounded() {
        let ip: IpAddr = "198.51.100.4".parse().expect("ip");
        let mut headers = HeaderMap::new();
        assert_eq!(request_device(&headers, ip).name(), "unknown device");
        headers.insert(USER_AGENT, "x".repeat(5000).parse().expect("header"));
        let long = request_device(&headers, ip);
        assert!(long.name().chars().count() <= crate::store::MAX_DEVICE_CHARS, "{}", long.name().len());
        assert_eq!(long.ip(), Some(ip));
        headers.insert(USER_AGENT, axum::http::HeaderValue::from_bytes(b"\xff\xfe").expect("bytes"));
        assert_eq!(request_device(&headers, ip).name(), "unknown device");
    }
}
